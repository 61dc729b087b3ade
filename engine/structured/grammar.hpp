// grammar: the context-free grammar every structured-output source compiles to (EBNF text,
// regexes, JSON schemas, choices): rules of alternatives, each a sequence of byte sets and
// rule references. Builders (the compilers) add rules through the helpers here, which
// intern byte sets and expand repetition into auxiliary right-recursive rules. validate()
// refuses what the matcher cannot run: undefined rules, left recursion that grows the stack,
// and grammars over the size limits. Single-threaded while built; immutable afterwards.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "structured/byte_set.hpp"
#include "structured/utf8_ranges.hpp"

namespace actorlm::structured {

/// One symbol of an alternative: a byte set (one byte of input) or a rule reference.
struct grammar_element {
    enum class kind : uint8_t { bytes, rule };
    kind type = kind::bytes;
    int32_t index = 0;  ///< kind::bytes: into grammar::byte_sets(); kind::rule: a rule id
    friend bool operator==(const grammar_element&, const grammar_element&) = default;
};

using sequence = std::vector<grammar_element>;

struct grammar_rule {
    std::string name;
    std::vector<sequence> alternatives;  ///< an empty sequence is the empty string
    bool defined = false;
};

/// Limits that keep a hostile grammar (a{1000}{1000}) from exhausting memory or time.
inline constexpr int64_t k_max_grammar_elements = 1 << 18;
/// The most optional copies a bounded repetition {m,n} expands to (n - m); larger upper
/// bounds are lowered to m + this (a subset of the language, so output stays valid).
inline constexpr int64_t k_max_optional_repeats = 64;
/// The most mandatory copies ({m,...} with m above this is refused).
inline constexpr int64_t k_max_required_repeats = 512;

class grammar {
public:
    /// The rule named `name`, created (undefined) on first use.
    int32_t declare_rule(std::string_view name);
    /// A new rule with a fresh name derived from `hint` ("hint_3").
    int32_t new_rule(std::string_view hint);
    /// Sets a rule's alternatives (replacing any).
    void define(int32_t rule, std::vector<sequence> alternatives);
    /// The id of the rule named `name`, or -1.
    int32_t find_rule(std::string_view name) const;

    grammar_element bytes(const byte_set& set);
    static grammar_element ref(int32_t rule) { return {grammar_element::kind::rule, rule}; }
    /// An element matching one UTF-8 encoded member of `set` (empty set: never matches,
    /// which compilers refuse before calling).
    grammar_element code_points(const code_point_set& set, std::string_view hint);
    /// One byte-set element per byte of `text`.
    sequence literal(std::string_view text);
    /// An element matching any of `alternatives`: the element itself when there is one
    /// alternative of one element, otherwise a new rule.
    grammar_element group(std::vector<sequence> alternatives, std::string_view hint);
    /// `body` repeated min..max times (max < 0: unbounded), as elements to splice into a
    /// sequence. Fails when the bounds exceed the limits above.
    result<sequence> repeat(const sequence& body, int64_t min, int64_t max, std::string_view hint);

    void set_root(int32_t rule) { root_ = rule; }
    int32_t root() const { return root_; }
    const std::vector<grammar_rule>& rules() const { return rules_; }
    const std::vector<byte_set>& byte_sets() const { return sets_; }
    int64_t num_elements() const { return num_elements_; }

    /// Root set, every referenced rule defined, size within limits, and no left recursion
    /// that pushes a continuation (A ::= A "x"), which would grow the stack forever.
    status validate() const;

    /// GBNF-like text of the grammar, for debugging and error messages.
    std::string to_string() const;

    /// Which rules derive the empty string (fixpoint over the alternatives).
    std::vector<bool> nullable_rules() const;

private:
    std::vector<grammar_rule> rules_;
    std::vector<byte_set> sets_;
    int32_t root_ = -1;
    int64_t num_elements_ = 0;
    int32_t next_fresh_ = 0;
};

/// GBNF text of one byte set ("[a-z]", "\"x\"").
std::string byte_set_to_string(const byte_set& set);

}  // namespace actorlm::structured
