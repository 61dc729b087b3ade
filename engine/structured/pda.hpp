// pda: the pushdown automaton a grammar runs as. pda_program flattens the rules into one
// instruction array (each alternative's elements, then `end`); a stack is a chain of
// hash-consed nodes in a stack_pool (position + parent), so stacks that share a bottom
// share nodes, and a parse state is the sorted set of stack tops that wait for a byte
// (plus whether the whole grammar may end here). pda_stepper advances a state by one byte.
// A rule reference in tail position pushes nothing (its continuation is the caller's), so
// x* loops run in constant stack depth. Single-threaded: one pool and stepper per user.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "structured/grammar.hpp"

namespace actorlm::structured {

struct pda_instr {
    enum op_kind : uint8_t { bytes, rule, end };
    op_kind op = end;
    int32_t arg = 0;  ///< bytes: set index; rule: rule id
};

/// A grammar in flat form plus the per-rule facts the mask cache needs.
struct pda_program {
    std::vector<pda_instr> code;
    std::vector<std::vector<int32_t>> rule_starts;  ///< per rule: start of each alternative
    std::vector<int32_t> rule_of;                   ///< per position: the rule it lies in
    std::vector<byte_set> sets;
    /// Per rule: the bytes that may come right after it ends (FOLLOW); the root's is empty.
    std::vector<byte_set> follow;
    int32_t root = 0;

    static pda_program from_grammar(const grammar& g);
};

/// The stack bottom: a parent of -1 means "nothing below" (grammar end, or in the mask
/// cache's precomputation, the end of the rule being analysed).
inline constexpr int32_t k_stack_bottom = -1;

struct stack_node {
    int32_t pos = 0;     ///< an instruction position
    int32_t parent = 0;  ///< a node id or k_stack_bottom
    int32_t next = -1;   ///< hash chain
};

/// Hash-consed stack nodes: equal (pos, parent) pairs get one id. Nodes added after a
/// mark() can be dropped with truncate(mark), newest first, which keeps the pool from
/// growing with the throw-away stacks of mask computation and of rolled-back tokens.
class stack_pool {
public:
    stack_pool() { buckets_.assign(1024, -1); }
    int32_t intern(int32_t pos, int32_t parent);
    const stack_node& operator[](int32_t id) const { return nodes_[static_cast<size_t>(id)]; }
    size_t mark() const { return nodes_.size(); }
    void truncate(size_t mark);

private:
    static uint64_t hash(int32_t pos, int32_t parent) {
        return (uint64_t(uint32_t(pos)) * 0x9E3779B97F4A7C15ull) ^
               (uint64_t(uint32_t(parent)) * 0xC2B2AE3D27D4EB4Full);
    }
    size_t bucket(int32_t pos, int32_t parent) const {
        return static_cast<size_t>(hash(pos, parent) >> 20) & (buckets_.size() - 1);
    }
    void rehash();
    std::vector<stack_node> nodes_;
    std::vector<int32_t> buckets_;
};

/// A parse state: stack tops (node ids, sorted, each at a `bytes` instruction) and
/// whether the grammar (or the analysed rule) may end here.
struct pda_state {
    std::vector<int32_t> tops;
    bool complete = false;
    bool alive() const { return complete || !tops.empty(); }
    friend bool operator==(const pda_state&, const pda_state&) = default;
};

class pda_stepper {
public:
    pda_stepper(const pda_program& program, stack_pool& pool) : program_(program), pool_(pool) {}

    /// The state before any input: every way to start `rule` over the given parent.
    void start(int32_t rule, int32_t parent, pda_state& out);
    /// The state at instruction `pos` (a `bytes` instruction) over `parent`.
    void start_at(int32_t pos, int32_t parent, pda_state& out);
    /// `in` after one byte; false when no stack accepts it (out then is dead).
    bool advance(const pda_state& in, uint8_t byte, pda_state& out);
    /// True when some top of `in` accepts `byte` (no state is built).
    bool accepts(const pda_state& in, uint8_t byte) const;

private:
    void push(int32_t pos, int32_t parent) { work_.push_back({pos, parent}); }
    void run(pda_state& out);
    bool visit(int32_t pos, int32_t parent);
    bool visit_insert(uint64_t key);
    void new_step();

    const pda_program& program_;
    stack_pool& pool_;
    std::vector<std::pair<int32_t, int32_t>> work_;
    // Visited (pos, parent) pairs of one step, so that nullable loops end and shared
    // sub-expansions run once: open addressing, cleared by bumping the stamp.
    std::vector<uint64_t> seen_keys_;
    std::vector<uint32_t> seen_stamp_;
    uint32_t stamp_ = 0;
    size_t seen_count_ = 0;
};

}  // namespace actorlm::structured
