// The BPE model: turns one pre-token into token ids by repeatedly merging the adjacent pair
// with the best rank (a min-heap of candidate pairs over a linked list of symbols, so a piece
// of n symbols costs O(n log n)). Serves both families:
//  - byte-level BPE (GPT-2, Llama-3, Qwen): symbols start as the 256 byte tokens; vocabulary
//    keys are raw bytes (the byte-level spelling is undone at load);
//  - SentencePiece-style BPE (Llama-2, Mistral): symbols start as UTF-8 characters, unknown
//    characters fall back to <0xXX> byte tokens or <unk>; ranks come from merges (HF) or from
//    token scores (GGUF, where the best score merges first, as SentencePiece does).
// Immutable after build; encode() is thread-safe (the piece cache is sharded and locked).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/pair_table.hpp"
#include "tokenizer/token_model.hpp"

namespace actorlm::tok {

/// Options of the BPE model (HF `model` fields).
struct bpe_options {
    bool byte_level = false;     ///< symbols start as bytes (GPT-2 style)
    bool byte_fallback = false;  ///< unknown characters become <0xXX> tokens
    bool fuse_unk = false;       ///< consecutive unknown characters give one <unk>
    bool ignore_merges = false;  ///< a piece that is itself a token is emitted whole
    int32_t unk_id = -1;         ///< <unk>, or -1 (unknown characters are then dropped)
};

/// BPE merge engine with a piece -> ids cache.
class bpe_model final : public token_model {
public:
    /// `keys[id]` is the model-space spelling of each token (raw bytes when byte_level);
    /// an empty key marks an id the model never produces (e.g. an added token).
    bpe_model(std::vector<std::string> keys, bpe_options opts);

    /// Adds a merge rule: (left, right) -> merged at `rank`.
    void add_merge(int32_t left, int32_t right, int32_t merged, int32_t rank) {
        pairs_.insert(left, right, merge_rule{rank, merged});
    }
    void reserve_merges(size_t n) { pairs_.reserve(n); }

    /// Derives merge rules from SentencePiece scores: every split of a token into two tokens
    /// becomes a rule whose rank orders tokens by descending score (equal scores tie).
    void merges_from_scores(const std::vector<float>& scores);

    /// Id of a model-space key, or -1.
    int32_t find(std::string_view key) const {
        auto it = key_to_id_.find(key);
        return it == key_to_id_.end() ? -1 : it->second;
    }

    /// Encodes one pre-token and appends its ids to `out`.
    void encode(std::string_view piece, std::vector<int32_t>& out) const override;

    size_t num_merges() const { return pairs_.size(); }
    const bpe_options& options() const { return opts_; }

    /// True when pieces are cut before every "▁" that follows another character (see
    /// encode()); decided from the vocabulary at construction.
    bool splits_at_space_marker() const { return split_at_marker_; }

private:
    void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
    void encode_uncached(std::string_view piece, std::vector<int32_t>& out) const;
    void initial_symbols(std::string_view piece, std::vector<int32_t>& ids) const;

    std::vector<std::string> keys_;
    string_id_map key_to_id_;
    pair_table pairs_;
    bpe_options opts_;
    std::array<int32_t, 256> byte_ids_{};  ///< byte-level: byte -> token; else <0xXX> token
    // SentencePiece vocabularies have no token with "▁" after another character, so no merge
    // can join across such a point: cutting there gives the same ids and lets the cache work
    // on text that has no pre-tokenizer (Llama-2 encodes the whole input as one piece).
    bool split_at_marker_ = false;

    // Piece cache: most words repeat, so after warm-up nearly every piece is a lookup.
    static constexpr size_t k_cache_shards = 16;
    static constexpr size_t k_cache_max_piece_bytes = 64;
    static constexpr size_t k_cache_max_entries_per_shard = 1 << 16;
    struct cache_shard {
        std::mutex mu;
        std::unordered_map<std::string, std::vector<int32_t>, string_hash, std::equal_to<>> map;
    };
    std::unique_ptr<cache_shard[]> cache_;
};

}  // namespace actorlm::tok
