// token_model: the model stage of a tokenizer, which turns one pre-token into token ids.
// Two implementations: bpe_model (merge rules; byte-level and SentencePiece-style) and
// wordpiece_model (BERT's greedy longest match with "##" continuation pieces). Immutable after
// loading; encode() is const and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace actorlm::tok {

/// Hash for heterogeneous string lookups (find(string_view) without a copy).
struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const;
};
using string_id_map = std::unordered_map<std::string, int32_t, string_hash, std::equal_to<>>;

/// A tokenizer model: pre-token -> ids.
class token_model {
public:
    virtual ~token_model() = default;

    /// Encodes one pre-token and appends its ids to `out`. May be called from several
    /// threads at once.
    virtual void encode(std::string_view piece, std::vector<int32_t>& out) const = 0;
};

}  // namespace actorlm::tok
