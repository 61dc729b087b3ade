// sequence_grammar: the structured-output state of one sequence in the model runner. The
// runner knows a sequence only by its token ids (updated from scheduler deltas, cut back
// after a preemption, and, with speculative decoding, after rejected drafts), so instead
// of tracking those events this keeps the ids its matcher has accepted and, before each
// sample, rolls back to the common prefix with the current output and accepts the rest.
// Stop tokens (the vocabulary's, the request's EOS and stop_token_ids) are allowed only
// where the grammar may end. A reasoning model's output is free until its reasoning ends
// (structured_output_params::reasoning_end, found in the tokens' bytes, so a marker spelt
// over several tokens counts too); the grammar constrains what follows. Single-threaded
// (the runner's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "structured/grammar_matcher.hpp"

namespace actorlm::structured {

class sequence_grammar {
public:
    /// `grammar` null: the sequence could not be constrained (no vocabulary, or the
    /// compile failed); then only stop tokens are allowed, ending it at once rather than
    /// letting it run unconstrained.
    /// `reasoning_end` non-empty: output is free until that text, unless the prompt's
    /// last marker (of `reasoning_start` and `reasoning_end`) already is `reasoning_end`.
    sequence_grammar(std::shared_ptr<const compiled_grammar> grammar,
                     std::vector<int32_t> stop_ids, std::string reasoning_start = {},
                     std::string reasoning_end = {},
                     std::span<const int32_t> prompt_token_ids = {});

    /// The tokens allowed after `output_token_ids` (the sequence's whole output so far),
    /// as a bitmask valid until the next call.
    std::span<const uint32_t> next_token_mask(std::span<const int32_t> output_token_ids);

    /// Output tokens the matcher holds (for tests).
    size_t num_matched() const { return matched_.size(); }
    /// False once an output token was not in the grammar (a resumed request's tokens
    /// from elsewhere): from then on only stop tokens are allowed.
    bool consistent() const { return consistent_; }
    /// True while the output is still the model's reasoning (nothing constrained yet).
    bool reasoning() const { return in_reasoning_; }

private:
    bool is_stop(int32_t id) const;
    /// One past the last output index given to the matcher (it got [grammar_begin_, this)).
    size_t fed_end() const;
    void sync(std::span<const int32_t> output_token_ids);
    /// Output token `index` while reasoning: ends the reasoning when it completes the marker.
    void watch_reasoning(int32_t id, size_t index);

    std::unique_ptr<grammar_matcher> matcher_;
    std::vector<int32_t> stop_ids_;
    std::vector<int32_t> matched_;  // output tokens fed to the matcher, in order
    bool stopped_ = false;          // a stop token was matched where the grammar may end
    size_t stop_at_ = 0;            // its index in matched_
    bool consistent_ = true;
    size_t bad_at_ = 0;             // index of the first token the grammar refused
    std::vector<uint32_t> mask_;
    std::string reasoning_end_;  // empty: no reasoning phase
    bool in_reasoning_ = false;
    size_t grammar_begin_ = 0;    // the first output index the grammar constrains
    std::string reasoning_tail_;  // the last bytes read while reasoning (a marker's prefix)
};

}  // namespace actorlm::structured
