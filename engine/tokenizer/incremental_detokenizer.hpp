// incremental_detokenizer: turns a growing sequence of generated token ids into text deltas
// for streaming. Deltas never split a UTF-8 character (bytes that a later token may complete
// are held; bytes that no continuation can make valid become U+FFFD at once), and their
// concatenation equals the tokenizer's full decode of the sequence, SentencePiece's
// leading-space rule included. Each step decodes only a small window (vLLM's
// prefix_offset/read_offset scheme), so a token costs the same at any sequence length.
// One instance per request; not thread-safe (the tokenizer it reads is).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "tokenizer/tokenizer.hpp"

namespace actorlm {

/// Options of one detokenization stream (the sampling parameters of the same names).
struct detokenizer_options {
    bool skip_special_tokens = true;            ///< drop control tokens (EOS, <|im_end|>...)
    bool spaces_between_special_tokens = true;  ///< a space around control tokens (when shown)
};

/// Streaming detokenizer of one sequence.
class incremental_detokenizer {
public:
    /// `context`: ids that precede the output (e.g. the prompt's last few tokens); they are
    /// not emitted but make the first token keep its leading space, as in a continuation.
    /// Leave empty to get exactly decode() of the generated ids.
    incremental_detokenizer(const tokenizer& tok, detokenizer_options opts = {},
                            std::span<const int32_t> context = {});

    /// Appends tokens and returns the text they complete (may be empty).
    std::string push(std::span<const int32_t> ids);
    std::string push(int32_t id) { return push(std::span<const int32_t>(&id, 1)); }

    /// Ends the stream: bytes still waiting for completion become U+FFFD.
    std::string finish();

    /// Number of tokens pushed so far.
    size_t num_tokens() const { return num_tokens_; }
    /// Tokens the next step will decode again as context (bounded by the last step's size;
    /// exposed so tests can check the per-token cost does not grow with the sequence).
    size_t window_tokens() const { return window_.size(); }

private:
    const tokenizer& tok_;
    detokenizer_options opts_;
    std::vector<int32_t> window_;  ///< tokens of the previous and the current step
    size_t read_offset_ = 0;       ///< window_[0, read_offset_) was already emitted
    std::string pending_;          ///< decoded bytes held back (an incomplete character)
    size_t num_tokens_ = 0;
};

}  // namespace actorlm
