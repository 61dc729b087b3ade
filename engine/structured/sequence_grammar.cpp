// sequence_grammar: matcher sync by common prefix, then the mask plus stop tokens.
#include "structured/sequence_grammar.hpp"

#include <algorithm>

namespace actorlm::structured {

sequence_grammar::sequence_grammar(std::shared_ptr<const compiled_grammar> grammar,
                                   std::vector<int32_t> stop_ids)
    : stop_ids_(std::move(stop_ids)) {
    if (grammar) {
        for (int32_t id : grammar->vocabulary().stop_ids()) stop_ids_.push_back(id);
        mask_.assign(bitmask_words(grammar->vocabulary().mask_size()), 0);
        matcher_ = std::make_unique<grammar_matcher>(std::move(grammar));
    } else {
        consistent_ = false;
    }
    std::sort(stop_ids_.begin(), stop_ids_.end());
    stop_ids_.erase(std::unique(stop_ids_.begin(), stop_ids_.end()), stop_ids_.end());
    if (!stop_ids_.empty() && stop_ids_.back() >= 0 &&
        mask_.size() < bitmask_words(stop_ids_.back() + 1))
        mask_.resize(bitmask_words(stop_ids_.back() + 1), 0);
}

bool sequence_grammar::is_stop(int32_t id) const {
    return std::binary_search(stop_ids_.begin(), stop_ids_.end(), id);
}

size_t sequence_grammar::num_fed() const {
    // Tokens from the first stop token or the first token out of the grammar on were not
    // given to the matcher.
    return stopped_ ? stop_at_ : consistent_ ? matched_.size() : bad_at_;
}

void sequence_grammar::sync(std::span<const int32_t> out) {
    if (!matcher_) return;
    const size_t common = static_cast<size_t>(
        std::mismatch(matched_.begin(), matched_.end(), out.begin(), out.end()).first -
        matched_.begin());
    if (common < matched_.size()) {
        // Earlier output was taken back (preemption's recompute, a rejected draft).
        const size_t fed = num_fed();
        const size_t keep = std::min(common, fed);
        matcher_->rollback(static_cast<int32_t>(fed - keep));
        matched_.resize(common);
        if (stopped_ && common <= stop_at_) stopped_ = false;
        if (!consistent_ && common <= bad_at_) consistent_ = true;
    }
    for (size_t i = matched_.size(); i < out.size(); ++i) {
        const int32_t id = out[i];
        if (consistent_ && !stopped_) {
            if (is_stop(id) && matcher_->can_terminate()) {
                stopped_ = true;  // what follows a stop (ignore_eos) is not grammar text
                stop_at_ = i;
            } else if (!matcher_->accept_token(id)) {
                consistent_ = false;
                bad_at_ = i;
            }
        }
        matched_.push_back(id);
    }
}

std::span<const uint32_t> sequence_grammar::next_token_mask(std::span<const int32_t> out) {
    sync(out);
    if (!consistent_ || stopped_ || !matcher_) {
        // Not (or no longer) constrainable, or already stopped: only stop tokens.
        std::fill(mask_.begin(), mask_.end(), 0u);
    } else {
        const size_t words = bitmask_words(matcher_->grammar().vocabulary().mask_size());
        matcher_->fill_next_token_bitmask(std::span<uint32_t>(mask_).first(words));
        // Words past the vocabulary exist only for stop ids beyond it; clear them.
        std::fill(mask_.begin() + static_cast<std::ptrdiff_t>(words), mask_.end(), 0u);
        // The matcher set its vocabulary's stop tokens if the grammar may end here; the
        // request's own follow under the same condition.
        if (!matcher_->can_terminate()) return mask_;
    }
    for (int32_t id : stop_ids_)
        if (id >= 0 && static_cast<size_t>(id) < mask_.size() * 32)
            mask_[static_cast<size_t>(id) >> 5] |= 1u << (id & 31);
    return mask_;
}

}  // namespace actorlm::structured
