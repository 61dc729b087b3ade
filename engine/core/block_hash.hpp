// block_hash: content hashes of full KV blocks, the keys of the prefix cache
// (vLLM's kv_cache_utils.hash_block_tokens). A block's hash chains its parent's
// hash, its token ids and extra keys (cache_salt on the first block; LoRA and
// multimodal keys have room in block_hash_extra), so equal hashes mean equal prefixes.
// The chain starts at a root that covers the model's identity, so hashes are
// stable across processes and restarts (XXH3-128, seedless, little-endian input)
// and never collide between models. Pure functions and plain data; no threads.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/mm_feature.hpp"

namespace actorlm::core {

/// A 128-bit XXH3 digest; collisions are negligible (2^-64 at 2^32 blocks).
struct block_hash {
    uint64_t low = 0;
    uint64_t high = 0;
    friend bool operator==(const block_hash&, const block_hash&) = default;
};

/// Extra keys mixed into a block's hash besides its tokens.
struct block_hash_extra {
    std::string_view cache_salt;  ///< only for the first block of a request
    std::string_view lora_name;   ///< adapter name; blocks of different adapters never match
    std::span<const std::string> mm_hashes;  ///< multimodal inputs overlapping the block
    bool empty() const { return cache_salt.empty() && lora_name.empty() && mm_hashes.empty(); }
};

/// The parent hash of a request's first block (vLLM's NONE_HASH), fixed so hashes
/// are reproducible across runs and processes. Model-independent: engines that
/// share blocks outside one process use model_root_block_hash instead.
block_hash root_block_hash();

/// What makes KV bytes of equal tokens equal: two engines may share a block only
/// when every field matches.
struct model_identity {
    std::string weights_fingerprint;  ///< model_weights_fingerprint (or any stable digest)
    std::string architecture;         ///< model config fields that shape the KV
    std::string weights_dtype;        ///< optional: the fingerprint covers tensor dtypes
    std::string kv_dtype;             ///< the cache's element type (f32, f16, ...)
    int32_t block_size = 0;
    std::string tokenizer_fingerprint;
};

/// The chain root for `id`: H(root_block_hash(), every field of `id`, length-prefixed).
block_hash model_root_block_hash(const model_identity& id);

/// 32 lower-case hex digits (high then low 64 bits): file names, logs.
std::string to_hex(const block_hash& h);

/// Hash of one full block: H(parent, tokens, extra).
block_hash hash_block_tokens(const block_hash& parent, std::span<const int32_t> tokens,
                             const block_hash_extra& extra = {});

/// The prefix-cache key of a block's content in KV-cache group `group` (kv_cache_layout):
/// the hash itself for group 0, so a model with one group keys (and announces in KV
/// events) plain block hashes; H(hash, group) otherwise, since each group's block holds
/// other layers' K/V of the same tokens.
block_hash group_block_hash(const block_hash& hash, int32_t group);

/// Extends `hashes` with the hashes of every newly full block of `tokens`
/// (blocks [hashes.size(), tokens.size() / block_size)). Called as tokens arrive,
/// so each block is hashed once. `cache_salt` goes into the first block only,
/// whose parent is `root`; a block also covers the hashes of the multimodal inputs
/// whose placeholders overlap it (vLLM's extra keys), so equal placeholder tokens of
/// different images never share KV.
void extend_block_hashes(std::vector<block_hash>& hashes, std::span<const int32_t> tokens,
                         int32_t block_size, std::string_view cache_salt = {},
                         std::string_view lora_name = {},
                         const block_hash& root = root_block_hash(),
                         std::span<const mm_feature> mm_features = {});

struct block_hash_hasher {
    size_t operator()(const block_hash& h) const noexcept {
        return static_cast<size_t>(h.low ^ (h.high * 0x9E3779B97F4A7C15ull));
    }
};

}  // namespace actorlm::core
