// grammar_matcher: token acceptance over the persistent stack pool, rollback by history,
// and the bitmask from the per-position cache plus the uncertain tokens' real parse.
#include "structured/grammar_matcher.hpp"

#include <algorithm>
#include <cstring>

#include "base/check.hpp"

namespace actorlm::structured {

grammar_matcher::grammar_matcher(std::shared_ptr<const compiled_grammar> grammar)
    : grammar_(std::move(grammar)), step_(grammar_->program(), pool_) {
    scratch_.resize(grammar_->vocabulary().max_token_bytes() + 1);
    reset();
}

void grammar_matcher::reset() {
    history_.clear();
    pool_.truncate(0);
    step_entry first;
    step_.start(grammar_->program().root, k_stack_bottom, first.state);
    history_.push_back(std::move(first));
}

bool grammar_matcher::accept_token(int32_t id) {
    if (terminated()) return false;
    const token_vocabulary& vocab = grammar_->vocabulary();
    if (vocab.is_stop(id)) {
        if (!history_.back().state.complete) return false;
        step_entry e;
        e.pool_mark = pool_.mark();
        e.terminated = true;
        history_.push_back(std::move(e));
        return true;
    }
    if (id < 0 || id >= vocab.num_tokens() || vocab.bytes(id).empty()) return false;
    // Control tokens have no bytes in the vocabulary, so they never match (above).
    return accept_bytes(vocab.bytes(id));
}

bool grammar_matcher::accept_bytes(std::string_view bytes) {
    if (terminated()) return false;
    const size_t mark = pool_.mark();
    pda_state cur = history_.back().state, next;
    for (char c : bytes) {
        if (!step_.advance(cur, static_cast<uint8_t>(c), next)) {
            pool_.truncate(mark);
            return false;
        }
        std::swap(cur, next);
    }
    step_entry e;
    e.state = std::move(cur);
    e.pool_mark = mark;
    history_.push_back(std::move(e));
    return true;
}

void grammar_matcher::rollback(int32_t n) {
    ACTORLM_CHECK(n >= 0 && n <= num_steps(), "grammar_matcher::rollback(%d) with %d steps", n,
                  num_steps());
    for (int32_t i = 0; i < n; ++i) {
        pool_.truncate(history_.back().pool_mark);
        history_.pop_back();
    }
}

void grammar_matcher::check_uncertain(int32_t top, const position_masks& m,
                                      std::span<uint32_t> bitmask) {
    const token_vocabulary& vocab = grammar_->vocabulary();
    const std::span<const int32_t> sorted = vocab.sorted();
    scratch_[0].tops.assign(1, top);
    scratch_[0].complete = false;
    size_t valid = 0;
    for (size_t j = 0; j < m.uncertain.size();) {
        const int32_t id = sorted[static_cast<size_t>(m.uncertain[j])];
        const std::string& t = vocab.bytes(id);
        const size_t n = t.size();
        size_t d = std::min<size_t>(static_cast<size_t>(m.uncertain_lcp[j]), valid);
        bool dead = false;
        while (d < n) {
            if (scratch_[d].tops.empty()) {
                dead = true;
                break;
            }
            step_.advance(scratch_[d], static_cast<uint8_t>(t[d]), scratch_[d + 1]);
            ++d;
        }
        valid = d;
        if (!dead) {
            if (scratch_[n].alive()) bitmask[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
            ++j;
            continue;
        }
        // Dead after d bytes: so is every following uncertain token with that prefix.
        do {
            ++j;
        } while (j < m.uncertain.size() && static_cast<size_t>(m.uncertain_lcp[j]) >= d);
    }
}

const position_masks& grammar_matcher::masks_of(int32_t top) {
    mask_context c;
    c.pos = pool_[top].pos;
    int32_t node = pool_[top].parent;
    for (int i = 0; i < k_context_depth; ++i) {
        c.below[i] = node == k_stack_bottom ? -1 : pool_[node].pos;
        if (node != k_stack_bottom) node = pool_[node].parent;
    }
    auto it = seen_masks_.find(c);
    if (it != seen_masks_.end()) return *it->second;
    const position_masks& m = grammar_->masks_for(c);
    seen_masks_.emplace(c, &m);
    return m;
}

void grammar_matcher::fill_next_token_bitmask(std::span<uint32_t> bitmask) {
    const token_vocabulary& vocab = grammar_->vocabulary();
    ACTORLM_CHECK(bitmask.size() >= bitmask_words(vocab.mask_size()),
                  "bitmask of %zu words for %d tokens", bitmask.size(), vocab.mask_size());
    std::memset(bitmask.data(), 0, bitmask.size() * sizeof(uint32_t));
    if (terminated()) return;
    const pda_state& state = history_.back().state;
    const size_t mark = pool_.mark();
    for (int32_t top : state.tops) {
        const position_masks& m = masks_of(top);
        for (const position_masks* p = &m; p != nullptr; p = p->base) {
            if (!p->accepted_bits.empty()) {
                for (size_t w = 0; w < p->accepted_bits.size(); ++w) bitmask[w] |= p->accepted_bits[w];
            } else {
                for (int32_t id : p->accepted_ids)
                    bitmask[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
            }
        }
        if (!m.uncertain.empty()) check_uncertain(top, m, bitmask);
    }
    pool_.truncate(mark);
    if (state.complete)
        for (int32_t id : vocab.stop_ids())
            if (id >= 0 && id < vocab.mask_size())
                bitmask[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
}

}  // namespace actorlm::structured
