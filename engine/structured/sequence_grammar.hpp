// sequence_grammar: the structured-output state of one sequence in the model runner. The
// runner knows a sequence only by its token ids (updated from scheduler deltas, cut back
// after a preemption, and, with speculative decoding, after rejected drafts), so instead
// of tracking those events this keeps the ids its matcher has accepted and, before each
// sample, rolls back to the common prefix with the current output and accepts the rest.
// Stop tokens (the vocabulary's, the request's EOS and stop_token_ids) are allowed only
// where the grammar may end. Single-threaded (the runner's).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "structured/grammar_matcher.hpp"

namespace actorlm::structured {

class sequence_grammar {
public:
    /// `grammar` null: the sequence could not be constrained (no vocabulary, or the
    /// compile failed); then only stop tokens are allowed, ending it at once rather than
    /// letting it run unconstrained.
    sequence_grammar(std::shared_ptr<const compiled_grammar> grammar,
                     std::vector<int32_t> stop_ids);

    /// The tokens allowed after `output_token_ids` (the sequence's whole output so far),
    /// as a bitmask valid until the next call.
    std::span<const uint32_t> next_token_mask(std::span<const int32_t> output_token_ids);

    /// Output tokens the matcher holds (for tests).
    size_t num_matched() const { return matched_.size(); }
    /// False once an output token was not in the grammar (a resumed request's tokens
    /// from elsewhere): from then on only stop tokens are allowed.
    bool consistent() const { return consistent_; }

private:
    bool is_stop(int32_t id) const;
    size_t num_fed() const;
    void sync(std::span<const int32_t> output_token_ids);

    std::unique_ptr<grammar_matcher> matcher_;
    std::vector<int32_t> stop_ids_;
    std::vector<int32_t> matched_;  // output tokens fed to the matcher, in order
    bool stopped_ = false;          // a stop token was matched where the grammar may end
    size_t stop_at_ = 0;            // its index in matched_
    bool consistent_ = true;
    size_t bad_at_ = 0;             // index of the first token the grammar refused
    std::vector<uint32_t> mask_;
};

}  // namespace actorlm::structured
