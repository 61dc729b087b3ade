// sequence_grammar: matcher sync by common prefix, then the mask plus stop tokens.
#include "structured/sequence_grammar.hpp"

#include <algorithm>
#include <string_view>

namespace actorlm::structured {

namespace {

// Whether the last of the two markers in `text` is `end` (vLLM's is_reasoning_end over
// the prompt: a template that wrote a closed think block leaves nothing to reason).
bool ends_closed(std::string_view text, std::string_view start, std::string_view end) {
    const size_t last_end = text.rfind(end);
    if (last_end == std::string_view::npos) return false;
    if (start.empty()) return true;
    const size_t last_start = text.rfind(start);
    return last_start == std::string_view::npos || last_start < last_end;
}

}  // namespace

sequence_grammar::sequence_grammar(std::shared_ptr<const compiled_grammar> grammar,
                                   std::vector<int32_t> stop_ids, std::string reasoning_start,
                                   std::string reasoning_end,
                                   std::span<const int32_t> prompt_token_ids)
    : stop_ids_(std::move(stop_ids)), reasoning_end_(std::move(reasoning_end)) {
    if (grammar && !reasoning_end_.empty()) {
        const token_vocabulary& vocab = grammar->vocabulary();
        std::string prompt;
        for (int32_t id : prompt_token_ids)
            if (id >= 0 && id < vocab.num_tokens()) prompt += vocab.bytes(id);
        in_reasoning_ = !ends_closed(prompt, reasoning_start, reasoning_end_);
    }
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

size_t sequence_grammar::fed_end() const {
    // Reasoning tokens, and tokens from the first stop token or the first token out of
    // the grammar on, were not given to the matcher.
    if (in_reasoning_) return grammar_begin_;
    return stopped_ ? stop_at_ : consistent_ ? matched_.size() : bad_at_;
}

void sequence_grammar::watch_reasoning(int32_t id, size_t index) {
    const token_vocabulary& vocab = matcher_->grammar().vocabulary();
    if (id >= 0 && id < vocab.num_tokens()) reasoning_tail_ += vocab.bytes(id);
    if (reasoning_tail_.find(reasoning_end_) != std::string::npos) {
        // Bytes of this token after the marker (Qwen3's "</think>" is a token of its own;
        // a marker spelt in pieces may end mid-token) stay free, as vLLM's do.
        in_reasoning_ = false;
        grammar_begin_ = index + 1;
        reasoning_tail_.clear();
    } else if (reasoning_tail_.size() >= reasoning_end_.size()) {
        reasoning_tail_.erase(0, reasoning_tail_.size() - (reasoning_end_.size() - 1));
    }
}

void sequence_grammar::sync(std::span<const int32_t> out) {
    if (!matcher_) return;
    const size_t common = static_cast<size_t>(
        std::mismatch(matched_.begin(), matched_.end(), out.begin(), out.end()).first -
        matched_.begin());
    if (common < matched_.size()) {
        // Earlier output was taken back (preemption's recompute, a rejected draft).
        const size_t fed = fed_end();
        const size_t keep = std::clamp(common, grammar_begin_, fed);
        matcher_->rollback(static_cast<int32_t>(fed - keep));
        matched_.resize(common);
        if (stopped_ && common <= stop_at_) stopped_ = false;
        if (!consistent_ && common <= bad_at_) consistent_ = true;
        if (!reasoning_end_.empty() && (in_reasoning_ || common < grammar_begin_)) {
            // Still reasoning, or the marker's token went back: reasoning, its tail
            // read anew from the output that remains.
            in_reasoning_ = true;
            grammar_begin_ = 0;
            reasoning_tail_.clear();
            for (size_t i = 0; i < matched_.size(); ++i) watch_reasoning(matched_[i], i);
        }
    }
    for (size_t i = matched_.size(); i < out.size(); ++i) {
        const int32_t id = out[i];
        if (in_reasoning_) {
            watch_reasoning(id, i);
        } else if (consistent_ && !stopped_) {
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
    if (matcher_ && in_reasoning_) {
        // Reasoning is free text: every token of the vocabulary, stops included.
        const int32_t n = matcher_->grammar().vocabulary().num_tokens();
        std::fill(mask_.begin(), mask_.end(), 0u);
        std::fill(mask_.begin(), mask_.begin() + n / 32, ~0u);
        if (n % 32 != 0) mask_[static_cast<size_t>(n / 32)] = (1u << (n % 32)) - 1;
    } else if (!consistent_ || stopped_ || !matcher_) {
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
