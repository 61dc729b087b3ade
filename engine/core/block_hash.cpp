// block_hash implementation: XXH3-128 over (parent digest, token ids as
// little-endian int32, length-prefixed extra keys). Length prefixes keep
// ("ab","c") and ("a","bc") distinct.
#include "core/block_hash.hpp"

#include <xxhash.h>

#include <bit>
#include <cstdio>
#include <cstring>

namespace actorlm::core {
namespace {

// Token ids, lengths and parent digests are hashed as their in-memory bytes; the
// hashes are the same on every platform only because every platform we build for
// is little-endian. A big-endian port must byte-swap here first.
static_assert(std::endian::native == std::endian::little, "block hashes assume little-endian");

void update_with_string(XXH3_state_t* st, uint8_t tag, std::string_view s) {
    const uint64_t n = s.size();
    XXH3_128bits_update(st, &tag, 1);
    XXH3_128bits_update(st, &n, sizeof(n));
    XXH3_128bits_update(st, s.data(), s.size());
}

}  // namespace

block_hash root_block_hash() {
    // Any fixed value works; this is XXH3-128 of "actorlm" so it is not a round number.
    static const block_hash root = [] {
        XXH128_hash_t h = XXH3_128bits("actorlm", 7);
        return block_hash{h.low64, h.high64};
    }();
    return root;
}

block_hash model_root_block_hash(const model_identity& id) {
    XXH3_state_t* st = XXH3_createState();
    XXH3_128bits_reset(st);
    const block_hash base = root_block_hash();
    XXH3_128bits_update(st, &base, sizeof(base));
    update_with_string(st, 'w', id.weights_fingerprint);
    update_with_string(st, 'a', id.architecture);
    update_with_string(st, 'd', id.weights_dtype);
    update_with_string(st, 'k', id.kv_dtype);
    const int64_t bs = id.block_size;
    const uint8_t tag = 'b';
    XXH3_128bits_update(st, &tag, 1);
    XXH3_128bits_update(st, &bs, sizeof(bs));
    update_with_string(st, 't', id.tokenizer_fingerprint);
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    return block_hash{h.low64, h.high64};
}

std::string to_hex(const block_hash& h) {
    char buf[33];
    std::snprintf(buf, sizeof(buf), "%016llx%016llx", static_cast<unsigned long long>(h.high),
                  static_cast<unsigned long long>(h.low));
    return std::string(buf, 32);
}

block_hash group_block_hash(const block_hash& hash, int32_t group) {
    if (group == 0) return hash;
    uint8_t buf[sizeof(hash) + sizeof(group)];
    std::memcpy(buf, &hash, sizeof(hash));
    std::memcpy(buf + sizeof(hash), &group, sizeof(group));
    const XXH128_hash_t h = XXH3_128bits(buf, sizeof(buf));
    return block_hash{h.low64, h.high64};
}

block_hash hash_block_tokens(const block_hash& parent, std::span<const int32_t> tokens,
                             const block_hash_extra& extra) {
    if (extra.empty()) {
        // Fast path (almost every block): one contiguous buffer, one call.
        thread_local std::vector<uint8_t> buf;
        buf.resize(sizeof(parent) + tokens.size_bytes());
        std::memcpy(buf.data(), &parent, sizeof(parent));
        std::memcpy(buf.data() + sizeof(parent), tokens.data(), tokens.size_bytes());
        XXH128_hash_t h = XXH3_128bits(buf.data(), buf.size());
        return block_hash{h.low64, h.high64};
    }
    XXH3_state_t* st = XXH3_createState();
    XXH3_128bits_reset(st);
    XXH3_128bits_update(st, &parent, sizeof(parent));
    XXH3_128bits_update(st, tokens.data(), tokens.size_bytes());
    if (!extra.cache_salt.empty()) update_with_string(st, 's', extra.cache_salt);
    if (!extra.lora_name.empty()) update_with_string(st, 'l', extra.lora_name);
    for (const auto& mm : extra.mm_hashes) update_with_string(st, 'm', mm);
    XXH128_hash_t h = XXH3_128bits_digest(st);
    XXH3_freeState(st);
    return block_hash{h.low64, h.high64};
}

void extend_block_hashes(std::vector<block_hash>& hashes, std::span<const int32_t> tokens,
                         int32_t block_size, std::string_view cache_salt,
                         std::string_view lora_name, const block_hash& root,
                         std::span<const mm_feature> mm_features) {
    const size_t num_full = tokens.size() / static_cast<size_t>(block_size);
    while (hashes.size() < num_full) {
        const size_t i = hashes.size();
        block_hash_extra extra;
        if (i == 0) extra.cache_salt = cache_salt;
        extra.lora_name = lora_name;
        const auto begin = static_cast<int32_t>(i) * block_size;
        const std::vector<std::string> mm = mm_hashes_in(mm_features, begin, begin + block_size);
        extra.mm_hashes = mm;
        const block_hash& parent = i == 0 ? root : hashes[i - 1];
        hashes.push_back(hash_block_tokens(
            parent,
            tokens.subspan(i * static_cast<size_t>(block_size), static_cast<size_t>(block_size)),
            extra));
    }
}

}  // namespace actorlm::core
