// token_vocabulary: what a grammar matcher needs from a tokenizer: each token's decoded
// bytes, the tokens that may match grammar bytes (non-empty, not control tokens) in
// byte order with the common-prefix length of neighbours (so that mask computation
// reuses the parse of a shared prefix and skips whole ranges after a dead prefix), and
// the stop tokens allowed only where the grammar may end. Immutable; shared by every
// compiled grammar of one model, from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace actorlm {
class tokenizer;
}

namespace actorlm::structured {

/// Number of 32-bit words of a token bitmask over `num_tokens` tokens (bit i of word
/// i / 32 set = token i allowed, vLLM's and XGrammar's layout).
inline size_t bitmask_words(int64_t num_tokens) { return static_cast<size_t>((num_tokens + 31) / 32); }

class token_vocabulary {
public:
    /// `bytes[i]` is token i's text; `matchable[i]` false keeps token i out of grammar
    /// matching; `stop_ids` end generation; masks cover `mask_size` tokens (>= bytes.size(),
    /// the model's logits width, whose extra padding tokens are never allowed).
    token_vocabulary(std::vector<std::string> bytes, std::vector<bool> matchable,
                     std::vector<int32_t> stop_ids, int32_t mask_size);

    /// From a tokenizer: token_to_piece bytes, control tokens excluded, eos_ids as stops.
    static std::shared_ptr<const token_vocabulary> from_tokenizer(const tokenizer& t,
                                                                  int32_t mask_size = 0);

    int32_t mask_size() const { return mask_size_; }
    int32_t num_tokens() const { return static_cast<int32_t>(bytes_.size()); }
    const std::string& bytes(int32_t id) const { return bytes_[static_cast<size_t>(id)]; }
    /// Matchable token ids in byte order.
    std::span<const int32_t> sorted() const { return sorted_; }
    /// lcp()[k]: length of the common prefix of sorted()[k - 1] and sorted()[k] (0 for k = 0).
    std::span<const int32_t> lcp() const { return lcp_; }
    std::span<const int32_t> stop_ids() const { return stop_ids_; }
    bool is_stop(int32_t id) const;
    size_t max_token_bytes() const { return max_token_bytes_; }

private:
    std::vector<std::string> bytes_;
    std::vector<int32_t> sorted_;
    std::vector<int32_t> lcp_;
    std::vector<int32_t> stop_ids_;
    int32_t mask_size_ = 0;
    size_t max_token_bytes_ = 0;
};

}  // namespace actorlm::structured
