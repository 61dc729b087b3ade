// grammar: rule table, builder helpers (interning, repetition) and validation
// (definedness, size, growing left recursion via strongly connected components).
#include "structured/grammar.hpp"

#include <algorithm>
#include <cstdio>

namespace actorlm::structured {

int32_t grammar::declare_rule(std::string_view name) {
    const int32_t found = find_rule(name);
    if (found >= 0) return found;
    rules_.push_back(grammar_rule{std::string(name), {}, false});
    return static_cast<int32_t>(rules_.size() - 1);
}

int32_t grammar::new_rule(std::string_view hint) {
    for (;;) {
        std::string name(hint);
        name += '_';
        name += std::to_string(next_fresh_++);
        if (find_rule(name) < 0) return declare_rule(name);
    }
}

void grammar::define(int32_t rule, std::vector<sequence> alternatives) {
    grammar_rule& r = rules_.at(static_cast<size_t>(rule));
    for (const sequence& s : r.alternatives) num_elements_ -= static_cast<int64_t>(s.size()) + 1;
    for (const sequence& s : alternatives) num_elements_ += static_cast<int64_t>(s.size()) + 1;
    r.alternatives = std::move(alternatives);
    r.defined = true;
}

int32_t grammar::find_rule(std::string_view name) const {
    // Linear: grammars are built once per request shape and rule lookups by name happen
    // only in the EBNF parser, whose grammars are small.
    for (size_t i = 0; i < rules_.size(); ++i)
        if (rules_[i].name == name) return static_cast<int32_t>(i);
    return -1;
}

grammar_element grammar::bytes(const byte_set& set) {
    for (size_t i = 0; i < sets_.size(); ++i)
        if (sets_[i] == set) return {grammar_element::kind::bytes, static_cast<int32_t>(i)};
    sets_.push_back(set);
    return {grammar_element::kind::bytes, static_cast<int32_t>(sets_.size() - 1)};
}

sequence grammar::literal(std::string_view text) {
    sequence out;
    out.reserve(text.size());
    for (char c : text) out.push_back(bytes(byte_set::single(static_cast<uint8_t>(c))));
    return out;
}

grammar_element grammar::code_points(const code_point_set& set, std::string_view hint) {
    std::vector<sequence> alternatives;
    for (const std::vector<byte_set>& seq : utf8_sequences(set)) {
        sequence s;
        for (const byte_set& b : seq) s.push_back(bytes(b));
        alternatives.push_back(std::move(s));
    }
    return group(std::move(alternatives), hint);
}

grammar_element grammar::group(std::vector<sequence> alternatives, std::string_view hint) {
    if (alternatives.size() == 1 && alternatives[0].size() == 1) return alternatives[0][0];
    const int32_t rule = new_rule(hint);
    define(rule, std::move(alternatives));
    return ref(rule);
}

result<sequence> grammar::repeat(const sequence& body, int64_t min, int64_t max,
                                 std::string_view hint) {
    if (min < 0 || (max >= 0 && max < min))
        return make_error(error_kind::invalid_argument,
                          "repetition bounds {%lld,%lld} are not a valid range",
                          static_cast<long long>(min), static_cast<long long>(max));
    if (min > k_max_required_repeats)
        return make_error(error_kind::invalid_argument,
                          "repetition of at least %lld copies exceeds the limit of %lld",
                          static_cast<long long>(min),
                          static_cast<long long>(k_max_required_repeats));
    if (max >= 0 && max - min > k_max_optional_repeats) max = min + k_max_optional_repeats;
    if (num_elements_ + min + (max < 0 ? 2 : 3 * (max - min)) > k_max_grammar_elements)
        return make_error(error_kind::invalid_argument,
                          "the grammar exceeds %lld elements",
                          static_cast<long long>(k_max_grammar_elements));
    const grammar_element item = group({body}, hint);
    sequence out(static_cast<size_t>(min), item);
    if (max < 0) {
        // x* as S ::= x S | "": right recursion in tail position, which the matcher runs
        // without growing its stack (the continuation of S is S's caller).
        const int32_t star = new_rule(hint);
        define(star, {sequence{item, ref(star)}, sequence{}});
        out.push_back(ref(star));
    } else if (max > min) {
        // x{0,k} as O_k ::= x O_{k-1} | "": k nested optional copies.
        int32_t inner = -1;
        for (int64_t k = 1; k <= max - min; ++k) {
            const int32_t opt = new_rule(hint);
            sequence first{item};
            if (inner >= 0) first.push_back(ref(inner));
            define(opt, {std::move(first), sequence{}});
            inner = opt;
        }
        out.push_back(ref(inner));
    }
    return out;
}

std::vector<bool> grammar::nullable_rules() const {
    std::vector<bool> nullable(rules_.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < rules_.size(); ++r) {
            if (nullable[r]) continue;
            for (const sequence& alt : rules_[r].alternatives) {
                const bool all = std::all_of(alt.begin(), alt.end(), [&](const grammar_element& e) {
                    return e.type == grammar_element::kind::rule &&
                           nullable[static_cast<size_t>(e.index)];
                });
                if (all) {
                    nullable[r] = changed = true;
                    break;
                }
            }
        }
    }
    return nullable;
}

namespace {

struct left_corner_edge {
    int32_t to = 0;
    bool grows = false;  // something follows the reference, so a continuation is pushed
};

// Tarjan's strongly connected components, iterative (grammars of thousands of rules would
// overflow a recursive walk's stack). Returns the component id of each rule.
std::vector<int32_t> components(const std::vector<std::vector<left_corner_edge>>& edges) {
    const int32_t n = static_cast<int32_t>(edges.size());
    std::vector<int32_t> index(static_cast<size_t>(n), -1), low(static_cast<size_t>(n), 0),
        comp(static_cast<size_t>(n), -1);
    std::vector<int32_t> stack;
    std::vector<bool> on_stack(static_cast<size_t>(n), false);
    std::vector<std::pair<int32_t, size_t>> work;  // (rule, next edge)
    int32_t counter = 0, num_comp = 0;
    for (int32_t start = 0; start < n; ++start) {
        if (index[static_cast<size_t>(start)] >= 0) continue;
        work.push_back({start, 0});
        while (!work.empty()) {
            auto& [v, next] = work.back();
            const auto vs = static_cast<size_t>(v);
            if (next == 0 && index[vs] < 0) {
                index[vs] = low[vs] = counter++;
                stack.push_back(v);
                on_stack[vs] = true;
            }
            if (next < edges[vs].size()) {
                const int32_t w = edges[vs][next++].to;
                const auto ws = static_cast<size_t>(w);
                if (index[ws] < 0) {
                    work.push_back({w, 0});
                } else if (on_stack[ws]) {
                    low[vs] = std::min(low[vs], index[ws]);
                }
                continue;
            }
            if (low[vs] == index[vs]) {
                for (;;) {
                    const int32_t w = stack.back();
                    stack.pop_back();
                    on_stack[static_cast<size_t>(w)] = false;
                    comp[static_cast<size_t>(w)] = num_comp;
                    if (w == v) break;
                }
                ++num_comp;
            }
            const int32_t done = v;
            work.pop_back();
            if (!work.empty()) {
                const auto ps = static_cast<size_t>(work.back().first);
                low[ps] = std::min(low[ps], low[static_cast<size_t>(done)]);
            }
        }
    }
    return comp;
}

}  // namespace

status grammar::validate() const {
    if (root_ < 0 || static_cast<size_t>(root_) >= rules_.size())
        return make_error(error_kind::invalid_argument, "the grammar has no root rule");
    if (num_elements_ > k_max_grammar_elements)
        return make_error(error_kind::invalid_argument, "the grammar exceeds %lld elements",
                          static_cast<long long>(k_max_grammar_elements));
    for (const grammar_rule& r : rules_) {
        if (!r.defined)
            return make_error(error_kind::invalid_argument, "rule '%s' is used but not defined",
                              r.name.c_str());
    }
    // A rule is productive when some alternative derives a byte string; a root that is not
    // would leave the matcher with no allowed token at the first step.
    std::vector<bool> productive(rules_.size(), false);
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < rules_.size(); ++r) {
            if (productive[r]) continue;
            for (const sequence& alt : rules_[r].alternatives) {
                const bool all = std::all_of(alt.begin(), alt.end(), [&](const grammar_element& e) {
                    return e.type == grammar_element::kind::rule
                               ? bool(productive[static_cast<size_t>(e.index)])
                               : !sets_[static_cast<size_t>(e.index)].empty();
                });
                if (all) {
                    productive[r] = changed = true;
                    break;
                }
            }
        }
    }
    if (!productive[static_cast<size_t>(root_)])
        return make_error(error_kind::invalid_argument, "the grammar matches no string at all");
    const std::vector<bool> nullable = nullable_rules();
    std::vector<std::vector<left_corner_edge>> edges(rules_.size());
    for (size_t r = 0; r < rules_.size(); ++r) {
        for (const sequence& alt : rules_[r].alternatives) {
            for (size_t i = 0; i < alt.size(); ++i) {
                if (alt[i].type == grammar_element::kind::bytes) break;
                edges[r].push_back({alt[i].index, i + 1 < alt.size()});
                if (!nullable[static_cast<size_t>(alt[i].index)]) break;
            }
        }
    }
    const std::vector<int32_t> comp = components(edges);
    for (size_t r = 0; r < rules_.size(); ++r) {
        for (const left_corner_edge& e : edges[r]) {
            if (e.grows && comp[static_cast<size_t>(e.to)] == comp[r])
                return make_error(error_kind::invalid_argument,
                                  "rule '%s' is left-recursive (it can reach itself before "
                                  "reading any input); rewrite it with repetition",
                                  rules_[r].name.c_str());
        }
    }
    return status::success();
}

namespace {

void append_byte(std::string& out, unsigned b, bool in_class) {
    if (b == '\\' || b == '"' || (in_class && (b == ']' || b == '-' || b == '^'))) {
        out += '\\';
        out += static_cast<char>(b);
    } else if (b < 0x20 || b >= 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\x%02X", b);
        out += buf;
    } else {
        out += static_cast<char>(b);
    }
}

}  // namespace

std::string byte_set_to_string(const byte_set& set) {
    std::string out;
    if (set.count() == 1) {
        for (unsigned b = 0; b < 256; ++b)
            if (set.contains(static_cast<uint8_t>(b))) {
                out += '"';
                append_byte(out, b, false);
                out += '"';
            }
        return out;
    }
    out += '[';
    for (unsigned b = 0; b < 256;) {
        if (!set.contains(static_cast<uint8_t>(b))) {
            ++b;
            continue;
        }
        unsigned e = b;
        while (e + 1 < 256 && set.contains(static_cast<uint8_t>(e + 1))) ++e;
        append_byte(out, b, true);
        if (e > b) {
            out += '-';
            append_byte(out, e, true);
        }
        b = e + 1;
    }
    out += ']';
    return out;
}

std::string grammar::to_string() const {
    std::string out;
    for (size_t r = 0; r < rules_.size(); ++r) {
        out += rules_[r].name;
        out += " ::=";
        for (size_t a = 0; a < rules_[r].alternatives.size(); ++a) {
            if (a > 0) out += " |";
            const sequence& alt = rules_[r].alternatives[a];
            if (alt.empty()) out += " \"\"";
            for (const grammar_element& e : alt) {
                out += ' ';
                if (e.type == grammar_element::kind::rule)
                    out += rules_[static_cast<size_t>(e.index)].name;
                else
                    out += byte_set_to_string(sets_[static_cast<size_t>(e.index)]);
            }
        }
        out += '\n';
    }
    return out;
}

}  // namespace actorlm::structured
