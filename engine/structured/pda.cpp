// pda: flattening (with FIRST/FOLLOW byte sets), the hash-consed stack pool and the
// one-byte step: take the tops whose byte set holds the byte, move past it, and expand
// (pop finished alternatives, push rule alternatives) until every stack waits on bytes.
#include "structured/pda.hpp"

namespace actorlm::structured {

pda_program pda_program::from_grammar(const grammar& g) {
    pda_program p;
    p.sets = g.byte_sets();
    p.root = g.root();
    const auto& rules = g.rules();
    p.rule_starts.resize(rules.size());
    for (size_t r = 0; r < rules.size(); ++r) {
        for (const sequence& alt : rules[r].alternatives) {
            p.rule_starts[r].push_back(static_cast<int32_t>(p.code.size()));
            for (const grammar_element& e : alt) {
                p.code.push_back({e.type == grammar_element::kind::bytes ? pda_instr::bytes
                                                                         : pda_instr::rule,
                                  e.index});
                p.rule_of.push_back(static_cast<int32_t>(r));
            }
            p.code.push_back({pda_instr::end, 0});
            p.rule_of.push_back(static_cast<int32_t>(r));
        }
    }
    // FIRST and FOLLOW over bytes, by fixpoint.
    const std::vector<bool> nullable = g.nullable_rules();
    std::vector<byte_set> first(rules.size());
    auto first_of = [&](const sequence& alt, size_t from, bool& all_nullable) {
        byte_set out;
        all_nullable = true;
        for (size_t i = from; i < alt.size(); ++i) {
            const grammar_element& e = alt[i];
            if (e.type == grammar_element::kind::bytes) {
                out.add_all(p.sets[static_cast<size_t>(e.index)]);
                all_nullable = false;
                break;
            }
            out.add_all(first[static_cast<size_t>(e.index)]);
            if (!nullable[static_cast<size_t>(e.index)]) {
                all_nullable = false;
                break;
            }
        }
        return out;
    };
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t r = 0; r < rules.size(); ++r)
            for (const sequence& alt : rules[r].alternatives) {
                bool n = false;
                byte_set f = first[r];
                f.add_all(first_of(alt, 0, n));
                if (!(f == first[r])) {
                    first[r] = f;
                    changed = true;
                }
            }
    }
    p.follow.assign(rules.size(), byte_set{});
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t a = 0; a < rules.size(); ++a)
            for (const sequence& alt : rules[a].alternatives)
                for (size_t i = 0; i < alt.size(); ++i) {
                    if (alt[i].type != grammar_element::kind::rule) continue;
                    const auto b = static_cast<size_t>(alt[i].index);
                    bool rest_nullable = false;
                    byte_set f = p.follow[b];
                    f.add_all(first_of(alt, i + 1, rest_nullable));
                    if (rest_nullable) f.add_all(p.follow[a]);
                    if (!(f == p.follow[b])) {
                        p.follow[b] = f;
                        changed = true;
                    }
                }
    }
    return p;
}

int32_t stack_pool::intern(int32_t pos, int32_t parent) {
    const size_t b = bucket(pos, parent);
    for (int32_t id = buckets_[b]; id >= 0; id = nodes_[static_cast<size_t>(id)].next) {
        const stack_node& n = nodes_[static_cast<size_t>(id)];
        if (n.pos == pos && n.parent == parent) return id;
    }
    const auto id = static_cast<int32_t>(nodes_.size());
    nodes_.push_back({pos, parent, buckets_[b]});
    buckets_[b] = id;
    if (nodes_.size() > buckets_.size()) rehash();
    return id;
}

void stack_pool::rehash() {
    buckets_.assign(buckets_.size() * 2, -1);
    // Inserting in id order keeps the newest node first in every chain, which truncate()
    // relies on.
    for (size_t i = 0; i < nodes_.size(); ++i) {
        stack_node& n = nodes_[i];
        const size_t b = bucket(n.pos, n.parent);
        n.next = buckets_[b];
        buckets_[b] = static_cast<int32_t>(i);
    }
}

void stack_pool::truncate(size_t mark) {
    while (nodes_.size() > mark) {
        const stack_node& n = nodes_.back();
        buckets_[bucket(n.pos, n.parent)] = n.next;
        nodes_.pop_back();
    }
}

bool pda_stepper::visit(int32_t pos, int32_t parent) {
    const uint64_t key = (uint64_t(uint32_t(pos)) << 32) | uint32_t(parent);
    if (seen_count_ * 2 >= seen_keys_.size()) {
        // Grow and re-insert the keys of this step.
        std::vector<uint64_t> old_keys = std::move(seen_keys_);
        std::vector<uint32_t> old_stamp = std::move(seen_stamp_);
        const size_t size = old_keys.empty() ? 64 : old_keys.size() * 2;
        seen_keys_.assign(size, 0);
        seen_stamp_.assign(size, 0);
        const uint32_t current = stamp_;
        stamp_ = 1;
        seen_count_ = 0;
        for (size_t i = 0; i < old_keys.size(); ++i)
            if (old_stamp[i] == current && current != 0) visit_insert(old_keys[i]);
    }
    return visit_insert(key);
}

bool pda_stepper::visit_insert(uint64_t key) {
    const size_t mask = seen_keys_.size() - 1;
    for (size_t i = static_cast<size_t>((key * 0x9E3779B97F4A7C15ull) >> 40) & mask;;
         i = (i + 1) & mask) {
        if (seen_stamp_[i] != stamp_) {
            seen_stamp_[i] = stamp_;
            seen_keys_[i] = key;
            ++seen_count_;
            return true;
        }
        if (seen_keys_[i] == key) return false;
    }
}

void pda_stepper::new_step() {
    ++stamp_;
    if (stamp_ == 0) {
        std::fill(seen_stamp_.begin(), seen_stamp_.end(), 0);
        stamp_ = 1;
    }
    seen_count_ = 0;
}

void pda_stepper::run(pda_state& out) {
    while (!work_.empty()) {
        auto [pos, parent] = work_.back();
        work_.pop_back();
        if (!visit(pos, parent)) continue;
        const pda_instr in = program_.code[static_cast<size_t>(pos)];
        switch (in.op) {
            case pda_instr::bytes: out.tops.push_back(pool_.intern(pos, parent)); break;
            case pda_instr::end:
                if (parent == k_stack_bottom) {
                    out.complete = true;
                } else {
                    const stack_node& n = pool_[parent];
                    push(n.pos, n.parent);
                }
                break;
            case pda_instr::rule: {
                const int32_t ret =
                    program_.code[static_cast<size_t>(pos) + 1].op == pda_instr::end
                        ? parent
                        : pool_.intern(pos + 1, parent);
                for (int32_t s : program_.rule_starts[static_cast<size_t>(in.arg)]) push(s, ret);
                break;
            }
        }
    }
    if (out.tops.size() > 1) {
        std::sort(out.tops.begin(), out.tops.end());
        out.tops.erase(std::unique(out.tops.begin(), out.tops.end()), out.tops.end());
    }
}

void pda_stepper::start(int32_t rule, int32_t parent, pda_state& out) {
    out.tops.clear();
    out.complete = false;
    new_step();
    for (int32_t s : program_.rule_starts[static_cast<size_t>(rule)]) push(s, parent);
    run(out);
}

void pda_stepper::start_at(int32_t pos, int32_t parent, pda_state& out) {
    out.tops.clear();
    out.complete = false;
    new_step();
    push(pos, parent);
    run(out);
}

bool pda_stepper::accepts(const pda_state& in, uint8_t byte) const {
    for (int32_t top : in.tops) {
        const stack_node& n = pool_[top];
        const pda_instr& instr = program_.code[static_cast<size_t>(n.pos)];
        if (program_.sets[static_cast<size_t>(instr.arg)].contains(byte)) return true;
    }
    return false;
}

bool pda_stepper::advance(const pda_state& in, uint8_t byte, pda_state& out) {
    out.tops.clear();
    out.complete = false;
    new_step();
    for (int32_t top : in.tops) {
        const stack_node& n = pool_[top];
        const pda_instr& instr = program_.code[static_cast<size_t>(n.pos)];
        if (program_.sets[static_cast<size_t>(instr.arg)].contains(byte))
            push(n.pos + 1, n.parent);
    }
    if (work_.empty()) return false;
    run(out);
    return out.alive();
}

}  // namespace actorlm::structured
