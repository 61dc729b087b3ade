// kv_block_io: byte access to one KV block of one layer, what a worker-side KV
// connector needs to copy blocks out of and into a backend's paged cache. The
// bytes of (layer, block) are the block's K rows then its V rows, in the cache
// dtype, so a saved block reloads bit-identically into any cache of the same
// shape. Calls on distinct blocks may run concurrently with each other and with a
// forward pass that does not touch those blocks (the connector's I/O threads).
// A device-backed cache reports a failed copy through io_error(), never by aborting;
// a host cache may expose where a block-layer lives so a tier reads straight into it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"

namespace actorlm {

/// Where one block-layer lives in host memory: its block_layer_bytes() in kv_block_io
/// order are pieces[0], then pieces[1] when num_pieces is 2 (a cache that keeps K and V
/// apart). num_pieces 0: the cache exposes no host memory.
struct host_block_layer {
    std::array<std::span<uint8_t>, 2> pieces{};
    size_t num_pieces = 0;
};

class kv_block_io {
public:
    virtual ~kv_block_io() = default;

    /// Layers this cache holds (a pipeline stage's local layers).
    virtual int64_t num_kv_layers() const = 0;
    /// Blocks in the pool.
    virtual int32_t num_kv_blocks() const = 0;
    /// Bytes of one block in one layer, K and V together.
    virtual size_t block_layer_bytes() const = 0;
    /// Copies block `block` of local layer `layer` into `dst` (block_layer_bytes()).
    virtual void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const = 0;
    /// Overwrites block `block` of local layer `layer` from `src` (block_layer_bytes()).
    virtual void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) = 0;
    /// The error of a read or write that failed (a device copy); ok while none has.
    /// Sticky, as a CUDA context is after a failed copy: once it is set, a connector
    /// must not store bytes it read nor report blocks it wrote as loaded. Host caches
    /// cannot fail and keep this default.
    virtual status io_error() const { return {}; }
    /// The host memory of block `block` of local layer `layer`, writable, so that a tier
    /// can read a file straight into the cache (one copy instead of two); the same
    /// concurrency rules as write_block_layer. Empty (num_pieces 0) for a cache that is
    /// not in host memory (a device cache): callers then copy through write_block_layer.
    /// A caller that writes through the pieces must not report the block loaded unless
    /// it verified every byte it wrote (a failed block is recomputed, overwriting them).
    virtual host_block_layer host_memory(int64_t /*layer*/, int32_t /*block*/) { return {}; }
};

}  // namespace actorlm
