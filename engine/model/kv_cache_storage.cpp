// Allocation and row writes of the paged KV storage. One contiguous buffer keeps
// every layer's K then V; F16 rows are rounded to nearest-even as ggml does, q8_0
// rows are quantized in blocks of 32 as ggml's quantize_row_q8_0_ref does.
#include "model/kv_cache_storage.hpp"

#include <cstring>
#include <limits>
#include <new>

#include "cpu/half.hpp"
#include "cpu/quantize_q8_0.hpp"

namespace actorlm {

result<size_t> kv_row_bytes(dtype type, int64_t num_kv_heads, int64_t head_dim) {
    const int64_t row = num_kv_heads * head_dim;
    const int64_t block = dtype_block_elems(type);
    if (block <= 0 || row % block != 0)
        return make_error(
            "a %s KV cache stores each token's K and V rows in blocks of %lld values, but this "
            "model's rows (%lld KV heads x head_dim %lld = %lld values) are not whole blocks; "
            "use --kv-cache-dtype f16",
            dtype_name(type), static_cast<long long>(block), static_cast<long long>(num_kv_heads),
            static_cast<long long>(head_dim), static_cast<long long>(row));
    return dtype_row_bytes(type, row);
}

result<kv_cache_storage> kv_cache_storage::create(const kv_cache_spec& spec, int64_t num_layers,
                                                  int64_t num_kv_heads, int64_t head_dim) {
    if (spec.type != dtype::f32 && spec.type != dtype::f16 && spec.type != dtype::q8_0)
        return make_error("KV cache type %s is not supported on the CPU (use f32, f16 or q8_0)",
                          dtype_name(spec.type));
    if (spec.num_blocks <= 0 || spec.block_size <= 0)
        return make_error("KV cache needs positive num_blocks and block_size (got %d and %d)",
                          spec.num_blocks, spec.block_size);
    if (num_layers < 0 || num_kv_heads <= 0 || head_dim <= 0)
        return make_error("KV cache shape is invalid: %lld layers, %lld KV heads, head_dim %lld",
                          static_cast<long long>(num_layers), static_cast<long long>(num_kv_heads),
                          static_cast<long long>(head_dim));
    auto row_bytes = kv_row_bytes(spec.type, num_kv_heads, head_dim);
    if (!row_bytes.ok()) return row_bytes.err();
    kv_cache_storage s;
    s.spec_ = spec;
    s.num_layers_ = num_layers;
    s.num_kv_heads_ = num_kv_heads;
    s.head_dim_ = head_dim;
    s.row_elems_ = num_kv_heads * head_dim;
    s.num_slots_ = static_cast<int64_t>(spec.num_blocks) * spec.block_size;
    s.row_bytes_ = *row_bytes;
    const double total = 2.0 * static_cast<double>(num_layers) * static_cast<double>(s.num_slots_) *
                         static_cast<double>(s.row_bytes_);
    if (total > static_cast<double>(std::numeric_limits<size_t>::max() / 2))
        return make_error("KV cache of %.0f bytes is too large", total);
    s.layer_bytes_ = static_cast<size_t>(s.num_slots_) * s.row_bytes_;
    s.num_bytes_ = 2 * static_cast<size_t>(num_layers) * s.layer_bytes_;
    // Zeroed so that a stale read (a bug) yields finite numbers, never NaN garbage; by the
    // kernel, page by page as blocks are first written, so a large pool costs no start-up
    // time and no memory until it is used.
    auto pages = zeroed_pages::allocate(s.num_bytes_ > 0 ? s.num_bytes_ : 1);
    if (!pages)
        return make_error("cannot allocate a KV cache of %zu bytes (%d blocks of %d tokens): %s",
                          s.num_bytes_, spec.num_blocks, spec.block_size,
                          pages.message().c_str());
    s.data_ = std::move(pages).value();
    return s;
}

void kv_cache_storage::write(int64_t layer, int64_t slot, const float* k, const float* v) {
    ACTORLM_CHECK(layer >= 0 && layer < num_layers_ && slot >= 0 && slot < num_slots_,
                  "KV write out of range: layer %lld slot %lld", static_cast<long long>(layer),
                  static_cast<long long>(slot));
    uint8_t* k_layer = data_.data() + static_cast<size_t>(2 * layer) * layer_bytes_;
    uint8_t* v_layer = k_layer + layer_bytes_;
    const size_t off = static_cast<size_t>(slot) * row_bytes_;
    switch (spec_.type) {
        case dtype::f32:
            std::memcpy(k_layer + off, k, row_bytes_);
            std::memcpy(v_layer + off, v, row_bytes_);
            break;
        case dtype::q8_0:
            // The whole row at once: with head_dim a multiple of 32 its blocks are each
            // head's own (per-head scales), as the attention kernels read them.
            cpu::quantize_row_q8_0(k, reinterpret_cast<cpu::block_q8_0*>(k_layer + off),
                                   row_elems_);
            cpu::quantize_row_q8_0(v, reinterpret_cast<cpu::block_q8_0*>(v_layer + off),
                                   row_elems_);
            break;
        default:
            cpu::fp32_to_fp16_row(k, reinterpret_cast<uint16_t*>(k_layer + off), row_elems_);
            cpu::fp32_to_fp16_row(v, reinterpret_cast<uint16_t*>(v_layer + off), row_elems_);
            break;
    }
}

cpu::paged_kv_layer kv_cache_storage::layer_view(int64_t layer) const {
    ACTORLM_CHECK(layer >= 0 && layer < num_layers_, "KV layer %lld out of range",
                  static_cast<long long>(layer));
    const uint8_t* k_layer = data_.data() + static_cast<size_t>(2 * layer) * layer_bytes_;
    cpu::paged_kv_layer view;
    view.k = k_layer;
    view.v = k_layer + layer_bytes_;
    view.type = spec_.type;
    view.block_size = spec_.block_size;
    view.num_kv_heads = static_cast<int32_t>(num_kv_heads_);
    view.head_dim = static_cast<int32_t>(head_dim_);
    return view;
}

size_t kv_cache_storage::block_layer_bytes() const {
    return 2 * static_cast<size_t>(spec_.block_size) * row_bytes_;
}

void kv_cache_storage::read_block_layer(int64_t layer, int32_t block,
                                        std::span<uint8_t> dst) const {
    ACTORLM_CHECK(layer >= 0 && layer < num_layers_ && block >= 0 && block < spec_.num_blocks &&
                      dst.size() == block_layer_bytes(),
                  "KV block read out of range: layer %lld block %d (%zu bytes)",
                  static_cast<long long>(layer), block, dst.size());
    const size_t half = dst.size() / 2;  // K rows, then V rows
    const uint8_t* k_layer = data_.data() + static_cast<size_t>(2 * layer) * layer_bytes_;
    const size_t off = static_cast<size_t>(block) * half;
    std::memcpy(dst.data(), k_layer + off, half);
    std::memcpy(dst.data() + half, k_layer + layer_bytes_ + off, half);
}

void kv_cache_storage::write_block_layer(int64_t layer, int32_t block,
                                         std::span<const uint8_t> src) {
    ACTORLM_CHECK(layer >= 0 && layer < num_layers_ && block >= 0 && block < spec_.num_blocks &&
                      src.size() == block_layer_bytes(),
                  "KV block write out of range: layer %lld block %d (%zu bytes)",
                  static_cast<long long>(layer), block, src.size());
    const size_t half = src.size() / 2;
    uint8_t* k_layer = data_.data() + static_cast<size_t>(2 * layer) * layer_bytes_;
    const size_t off = static_cast<size_t>(block) * half;
    std::memcpy(k_layer + off, src.data(), half);
    std::memcpy(k_layer + layer_bytes_ + off, src.data() + half, half);
}

host_block_layer kv_cache_storage::host_memory(int64_t layer, int32_t block) {
    ACTORLM_CHECK(layer >= 0 && layer < num_layers_ && block >= 0 && block < spec_.num_blocks,
                  "KV block view out of range: layer %lld block %d", static_cast<long long>(layer),
                  block);
    const size_t half = block_layer_bytes() / 2;
    uint8_t* k_layer = data_.data() + static_cast<size_t>(2 * layer) * layer_bytes_;
    const size_t off = static_cast<size_t>(block) * half;
    host_block_layer h;
    h.pieces[0] = std::span<uint8_t>(k_layer + off, half);
    h.pieces[1] = std::span<uint8_t>(k_layer + layer_bytes_ + off, half);
    h.num_pieces = 2;
    return h;
}

}  // namespace actorlm
