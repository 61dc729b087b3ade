// kv_cache_storage: the CPU executor's paged K/V tensors for the layers it runs.
// Per layer, K and V are separate [num_blocks][block_size][num_kv_heads][head_dim]
// arrays of F32, F16 or q8_0 (each slot's row in ggml blocks of 32; see
// cpu::paged_kv_layer), in pages the kernel zero-fills on first write (zeroed_pages).
// Block accounting lives in the scheduler; this class only stores rows at the slots it is
// told. Writes to distinct slots may run in parallel.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "cpu/attention.hpp"
#include "kv/kv_block_io.hpp"
#include "model/model_executor.hpp"
#include "model/zeroed_pages.hpp"
#include "base/result.hpp"

namespace actorlm {

/// Bytes of one slot's K (or V) row, num_kv_heads x head_dim values stored as `type`
/// (f32, f16 or q8_0); an error naming the shape when q8_0 cannot store it: its rows must
/// be whole blocks of 32 values (any head_dim that is a multiple of 32, or smaller heads
/// whose row adds up to whole blocks, as in stories260K's 4 x 8).
result<size_t> kv_row_bytes(dtype type, int64_t num_kv_heads, int64_t head_dim);

class kv_cache_storage final : public kv_block_io {
public:
    /// Allocates (zeroed) storage for `num_layers` layers; fails on an unsupported
    /// dtype, a non-positive shape, a q8_0 row that is not whole blocks (kv_row_bytes),
    /// or a size that does not fit in memory.
    static result<kv_cache_storage> create(const kv_cache_spec& spec, int64_t num_layers,
                                           int64_t num_kv_heads, int64_t head_dim);

    /// Stores one token's K and V rows (each [num_kv_heads * head_dim] floats) at `slot`
    /// (block_id * block_size + offset) of local layer `layer`, converting to the cache type.
    void write(int64_t layer, int64_t slot, const float* k, const float* v);

    /// Read view of one local layer for the attention kernel.
    cpu::paged_kv_layer layer_view(int64_t layer) const;

    /// Number of slots (num_blocks * block_size).
    int64_t num_slots() const { return num_slots_; }
    /// Bytes held by all layers, K and V (reserved; resident_bytes() are in memory).
    size_t num_bytes() const { return num_bytes_; }
    size_t resident_bytes() const { return data_.resident_bytes(); }

    // kv_block_io (the KV connectors' block copies; see kv/kv_block_io.hpp).
    int64_t num_kv_layers() const override { return num_layers_; }
    int32_t num_kv_blocks() const override { return spec_.num_blocks; }
    size_t block_layer_bytes() const override;
    void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const override;
    void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) override;
    /// Two pieces: the block's K rows, then its V rows, of `layer`.
    host_block_layer host_memory(int64_t layer, int32_t block) override;

private:
    kv_cache_spec spec_;
    int64_t num_layers_ = 0;
    int64_t row_elems_ = 0;  // num_kv_heads * head_dim
    int64_t num_kv_heads_ = 0;
    int64_t head_dim_ = 0;
    int64_t num_slots_ = 0;
    size_t row_bytes_ = 0;    // bytes of one slot's K (or V) row in the cache type
    size_t layer_bytes_ = 0;  // bytes of one of K or V for one layer
    size_t num_bytes_ = 0;
    zeroed_pages data_;  // [layer][K|V][slot][row_elems]
};

}  // namespace actorlm
