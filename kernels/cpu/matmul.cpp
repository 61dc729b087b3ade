// matmul: argument checks, kernel selection by cpu level, activation
// quantization for the integer paths and the split of rows over the pool.
// Scratch buffers for quantized activations are per calling thread and grow
// only, so a decode step allocates nothing after the first call.
#include "cpu/matmul.hpp"

#include <cstdlib>
#include <memory>

#include "cpu/matmul_kernels.hpp"
#include "base/check.hpp"

namespace actorlm::cpu {
namespace {

using namespace detail;

bool is_quantized(dtype t) { return dtype_block_elems(t) > 1; }

rows_kernel select_kernel(dtype type) {
    rows_kernel k = nullptr;
    switch (active_cpu_level()) {
        case cpu_level::avx512:
            if ((k = avx512_kernel(type))) return k;
            [[fallthrough]];
        case cpu_level::avx2:
            if ((k = avx2_kernel(type))) return k;
            [[fallthrough]];
        case cpu_level::portable: break;
    }
    return portable_kernel(type);
}

quantize_kernel select_quantizer() {
    return active_cpu_level() == cpu_level::avx512 ? quantize_activations_avx512
                                                   : quantize_activations_portable;
}

// 64-byte aligned, grow-only buffer.
struct scratch_buffer {
    struct free_deleter {
        void operator()(void* p) const { std::free(p); }
    };
    std::unique_ptr<void, free_deleter> data;
    size_t bytes = 0;

    void* reserve(size_t need) {
        if (need > bytes) {
            const size_t rounded = (need + 63) / 64 * 64;
            data.reset(std::aligned_alloc(64, rounded));
            ACTORLM_CHECK(data != nullptr, "matmul: cannot allocate %zu scratch bytes", rounded);
            bytes = rounded;
        }
        return data.get();
    }
};

struct activation_scratch {
    scratch_buffer qs, d, sums, block_offsets, block_scaled_sums;
};

rows_kernel select_panel_kernel(dtype type) {
    return active_cpu_level() == cpu_level::avx512 ? avx512_panel_kernel(type)
                                                   : portable_panel_kernel(type);
}

// Per 32-block, from the 16-quant sums the quantizer made: -128 x the quant sum
// (Q8_0 panels) and d x the quant sum (Q4_K panels).
void compute_block_sums(const int16_t* sums, const float* d, int64_t nblocks, int32_t* offsets,
                        float* scaled) {
    for (int64_t b = 0; b < nblocks; ++b) {
        const int32_t s = static_cast<int32_t>(sums[2 * b]) + static_cast<int32_t>(sums[2 * b + 1]);
        offsets[b] = -128 * s;
        scaled[b] = d[b] * static_cast<float>(s);
    }
}

}  // namespace

void matmul(const tensor& w, const float* x, int64_t num_tokens, float* y, thread_pool& pool) {
    const int64_t rows = w.rows(), cols = w.cols();
    ACTORLM_CHECK(w.present(), "matmul: weight %s has no data", w.name.c_str());
    ACTORLM_CHECK(w.shape.size() == 2 && rows > 0 && cols > 0,
                  "matmul: weight %s is not a non-empty matrix", w.name.c_str());
    const int64_t block = dtype_block_elems(w.type);
    ACTORLM_CHECK(block > 0 && cols % block == 0,
                  "matmul: weight %s has %lld columns, not a multiple of the %s block (%lld)",
                  w.name.c_str(), static_cast<long long>(cols), dtype_name(w.type),
                  static_cast<long long>(block));
    ACTORLM_CHECK(w.layout == weight_layout::rows || w.type == dtype::q8_0 ||
                      w.type == dtype::q4_0 || w.type == dtype::q5_0 || w.type == dtype::q4_k ||
                      w.type == dtype::q6_k,
                  "matmul: weight %s has a layout its type does not support", w.name.c_str());
    const size_t row_bytes = dtype_row_bytes(w.type, cols);
    ACTORLM_CHECK(w.num_bytes == 0 || w.num_bytes >= row_bytes * static_cast<size_t>(rows),
                  "matmul: weight %s holds %zu bytes, needs %zu", w.name.c_str(), w.num_bytes,
                  row_bytes * static_cast<size_t>(rows));
    ACTORLM_CHECK(num_tokens >= 0 && (num_tokens == 0 || (x != nullptr && y != nullptr)),
                  "matmul: null activations or output");
    if (num_tokens == 0) return;

    matmul_args args;
    args.w = static_cast<const uint8_t*>(w.data);
    args.row_bytes = row_bytes;
    args.rows = rows;
    args.cols = cols;
    args.num_tokens = num_tokens;
    args.x = x;
    args.y = y;

    if (is_quantized(w.type)) {
        // Quantization is cheap next to the product; it is split by token.
        thread_local activation_scratch scratch;
        const auto n = static_cast<size_t>(num_tokens * cols);
        auto* qs = static_cast<int8_t*>(scratch.qs.reserve(n));
        auto* d = static_cast<float*>(scratch.d.reserve(n / 32 * sizeof(float)));
        auto* sums = static_cast<int16_t*>(scratch.sums.reserve(n / 16 * sizeof(int16_t)));
        const quantize_kernel quantize = select_quantizer();
        if (num_tokens == 1) {
            quantize(x, cols, 0, 1, qs, d, sums);
        } else {
            pool.parallel_for(num_tokens, [&](int64_t t0, int64_t t1) {
                quantize(x, cols, t0, t1, qs, d, sums);
            });
        }
        args.xq = q8_activations{qs, d, sums, nullptr, nullptr};
        if (w.layout == weight_layout::panels) {
            auto* offsets =
                static_cast<int32_t*>(scratch.block_offsets.reserve(n / 32 * sizeof(int32_t)));
            auto* scaled =
                static_cast<float*>(scratch.block_scaled_sums.reserve(n / 32 * sizeof(float)));
            compute_block_sums(sums, d, static_cast<int64_t>(n / 32), offsets, scaled);
            args.xq.block_offsets = offsets;
            args.xq.block_scaled_sums = scaled;
        }
    }

    const rows_kernel kernel =
        w.layout == weight_layout::panels ? select_panel_kernel(w.type) : select_kernel(w.type);
    const int64_t num_tiles = (rows + k_row_tile - 1) / k_row_tile;
    pool.parallel_for(num_tiles, [&](int64_t tile_begin, int64_t tile_end) {
        const int64_t r1 = tile_end * k_row_tile;
        kernel(args, tile_begin * k_row_tile, r1 < rows ? r1 : rows);
    });
}

}  // namespace actorlm::cpu
