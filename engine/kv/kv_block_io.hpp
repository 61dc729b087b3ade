// kv_block_io: byte access to one KV block of one layer, what a worker-side KV
// connector needs to copy blocks out of and into a backend's paged cache. The
// bytes of (layer, block) are the block's K rows then its V rows, in the cache
// dtype, so a saved block reloads bit-identically into any cache of the same
// shape. Calls on distinct blocks may run concurrently with each other and with a
// forward pass that does not touch those blocks (the connector's I/O threads).
// A device-backed cache reports a failed copy through io_error(), never by aborting.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "base/result.hpp"

namespace actorlm {

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
};

}  // namespace actorlm
