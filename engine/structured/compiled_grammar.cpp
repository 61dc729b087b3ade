// compiled_grammar: the per-position vocabulary split. The vocabulary is walked in byte
// order; the parse state after each prefix length is kept, so a token costs only the
// bytes it does not share with its predecessor, and once a prefix is dead every token
// starting with it is classified without being parsed.
#include "structured/compiled_grammar.hpp"

#include <algorithm>

namespace actorlm::structured {

compiled_grammar::compiled_grammar(pda_program program,
                                   std::shared_ptr<const token_vocabulary> vocab)
    : program_(std::move(program)), vocab_(std::move(vocab)),
      masks_(new std::atomic<position_masks*>[program_.code.size()]) {
    for (size_t i = 0; i < program_.code.size(); ++i) masks_[i].store(nullptr);
}

result<std::shared_ptr<const compiled_grammar>> compiled_grammar::compile(
    const grammar& g, std::shared_ptr<const token_vocabulary> vocab) {
    status checked = g.validate();
    if (!checked.ok()) return checked.err();
    return std::make_shared<const compiled_grammar>(pda_program::from_grammar(g),
                                                    std::move(vocab));
}

const position_masks& compiled_grammar::masks_at(int32_t pos) const {
    std::atomic<position_masks*>& slot = masks_[static_cast<size_t>(pos)];
    if (position_masks* m = slot.load(std::memory_order_acquire)) return *m;
    std::lock_guard<std::mutex> lock(compute_mutex_);
    if (position_masks* m = slot.load(std::memory_order_acquire)) return *m;
    std::unique_ptr<position_masks> computed = compute(pos);
    position_masks* raw = computed.get();
    owned_.push_back(std::move(computed));
    slot.store(raw, std::memory_order_release);
    return *raw;
}

void compiled_grammar::precompute_all() const {
    for (size_t pos = 0; pos < program_.code.size(); ++pos)
        if (program_.code[pos].op == pda_instr::bytes) masks_at(static_cast<int32_t>(pos));
}

size_t compiled_grammar::num_computed() const {
    std::lock_guard<std::mutex> lock(compute_mutex_);
    return owned_.size();
}

size_t compiled_grammar::cache_bytes() const {
    std::lock_guard<std::mutex> lock(compute_mutex_);
    size_t bytes = 0;
    for (const auto& m : owned_)
        bytes += sizeof(position_masks) + 4 * (m->accepted_ids.size() + m->accepted_bits.size() +
                                               m->uncertain.size() + m->uncertain_lcp.size());
    return bytes;
}

std::unique_ptr<position_masks> compiled_grammar::compute(int32_t pos) const {
    auto out = std::make_unique<position_masks>();
    if (program_.code[static_cast<size_t>(pos)].op != pda_instr::bytes) return out;
    const token_vocabulary& vocab = *vocab_;
    const std::span<const int32_t> sorted = vocab.sorted();
    const std::span<const int32_t> lcp = vocab.lcp();
    const byte_set& follow =
        program_.follow[static_cast<size_t>(program_.rule_of[static_cast<size_t>(pos)])];

    stack_pool pool;
    pda_stepper step(program_, pool);
    const size_t max_len = vocab.max_token_bytes();
    // states[d]: the parse after the current token's first d bytes, with the position's
    // rule as the whole stack (its end is the bottom: `complete` = the rule ended).
    std::vector<pda_state> states(max_len + 1);
    // hit[d]: the rule can end after d bytes; unc[d]: it ended earlier with a byte that
    // may follow it, so the token's fate depends on the real stack.
    std::vector<char> hit(max_len + 1, 0), unc(max_len + 1, 0);
    step.start_at(pos, k_stack_bottom, states[0]);
    hit[0] = states[0].complete;
    std::vector<int32_t> accepted;
    size_t valid = 0;
    for (size_t k = 0; k < sorted.size();) {
        const std::string& t = vocab.bytes(sorted[k]);
        const size_t n = t.size();
        size_t d = std::min<size_t>(static_cast<size_t>(lcp[k]), valid);
        bool dead = false;
        while (d < n) {
            if (states[d].tops.empty()) {
                dead = true;
                break;
            }
            const auto b = static_cast<uint8_t>(t[d]);
            step.advance(states[d], b, states[d + 1]);
            hit[d + 1] = states[d + 1].complete;
            unc[d + 1] = unc[d] || (hit[d] && follow.contains(b));
            ++d;
        }
        valid = d;
        if (!dead) {
            if (!states[n].tops.empty() || hit[n])
                accepted.push_back(sorted[k]);
            else if (unc[n])
                out->uncertain.push_back(static_cast<int32_t>(k));
            ++k;
            continue;
        }
        // No stack survives the first d bytes: every token sharing them has the same
        // fate (and the next byte too when the rule could end here).
        const bool uncertain = unc[d] || (hit[d] && follow.contains(static_cast<uint8_t>(t[d])));
        const size_t shared = hit[d] ? d + 1 : d;
        do {
            if (uncertain) out->uncertain.push_back(static_cast<int32_t>(k));
            ++k;
        } while (k < sorted.size() && static_cast<size_t>(lcp[k]) >= shared);
    }
    out->num_accepted = accepted.size();
    if (accepted.size() * 32 > static_cast<size_t>(vocab.mask_size())) {
        out->accepted_bits.assign(bitmask_words(vocab.mask_size()), 0);
        for (int32_t id : accepted)
            out->accepted_bits[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
    } else {
        out->accepted_ids = std::move(accepted);
    }
    out->uncertain_lcp.resize(out->uncertain.size(), 0);
    for (size_t j = 1; j < out->uncertain.size(); ++j) {
        const std::string& a = vocab.bytes(sorted[static_cast<size_t>(out->uncertain[j - 1])]);
        const std::string& b = vocab.bytes(sorted[static_cast<size_t>(out->uncertain[j])]);
        size_t m = 0;
        while (m < a.size() && m < b.size() && a[m] == b[m]) ++m;
        out->uncertain_lcp[j] = static_cast<int32_t>(m);
    }
    return out;
}

}  // namespace actorlm::structured
