// Weight upload and synthetic fill. Host slices are copied with cudaMemcpy2D
// (a column slice of a row-parallel matrix is a pitched 2-D copy) and converted
// on the device when the host type differs from the compute type. Upload is a
// one-time, synchronous step: the staging buffer is reused after each sync.
#include "backends/cuda/cuda_weights.hpp"

#include <cmath>
#include <string>

#include "cuda/convert.cuh"
#include "model/weight_binding.hpp"

namespace actorlm::cuda {

namespace {

bool is_float_type(dtype t) { return t == dtype::f32 || t == dtype::f16 || t == dtype::bf16; }

// Uploads rows [rows.begin, rows.end) x cols [cols.begin, cols.end) of host tensor
// `src` into `dst` (dense, converted to dst_type).
class uploader {
public:
    uploader(cudaStream_t stream) : stream_(stream) {}

    status copy(const tensor& src, index_range rows, index_range cols, void* dst, dtype dst_type) {
        const size_t src_es = dtype_block_bytes(src.type);
        const size_t width = static_cast<size_t>(cols.count) * src_es;
        const char* from = static_cast<const char*>(src.data) +
                           (static_cast<size_t>(rows.begin) * static_cast<size_t>(src.cols()) +
                            static_cast<size_t>(cols.begin)) *
                               src_es;
        const size_t pitch = static_cast<size_t>(src.cols()) * src_es;
        const size_t height = static_cast<size_t>(rows.count);
        if (src.type == dst_type) {
            ACTORLM_CUDA_CHECK(cudaMemcpy2DAsync(dst, width, from, pitch, width, height,
                                                 cudaMemcpyHostToDevice, stream_));
            return {};
        }
        const size_t bytes = width * height;
        if (staging_.bytes() < bytes) ACTORLM_TRY(staging_.allocate(bytes));
        // Same stream as the conversion: a pageable copy on the legacy stream may
        // still be in DMA when a non-blocking stream starts the kernel.
        ACTORLM_CUDA_CHECK(cudaMemcpy2DAsync(staging_.get(), width, from, pitch, width, height,
                                             cudaMemcpyHostToDevice, stream_));
        ACTORLM_TRY(convert_elements(staging_.get(), src.type, dst, dst_type,
                                     rows.count * cols.count, stream_));
        ACTORLM_CUDA_CHECK(cudaStreamSynchronize(stream_));  // staging is reused next
        return {};
    }

    status copy_all(const tensor& src, void* dst, dtype dst_type) {
        return copy(src, {0, src.rows()}, {0, src.cols()}, dst, dst_type);
    }

private:
    cudaStream_t stream_;
    device_buffer staging_;
};

status alloc(device_buffer& b, int64_t elements, dtype t, device_weights& w) {
    const size_t bytes = static_cast<size_t>(elements) * dtype_block_bytes(t);
    ACTORLM_TRY(b.allocate(bytes));
    w.total_bytes += static_cast<int64_t>(bytes);
    return {};
}

bool is_tied(const model_config& c, const model_weights& host) {
    return c.tie_word_embeddings || !host.lm_head.present() ||
           host.lm_head.data == host.token_embedding.data;
}

char* at_row(const device_buffer& b, int64_t row, int64_t cols, dtype t) {
    return b.as<char>() + static_cast<size_t>(row * cols) * dtype_block_bytes(t);
}

}  // namespace

status check_weights(const model_config& c, const model_weights& host) {
    ACTORLM_TRY(validate_weights(c, host));  // shapes, sizes: the one validator
    // What this backend adds: it uploads F32/F16/BF16 only (no quantized kernels yet).
    auto float_only = [](const tensor& t) -> status {
        if (t.present() && !is_float_type(t.type))
            return make_error(
                "weights: tensor %s is %s; the CUDA backend runs F32/F16/BF16 weights",
                t.name.c_str(), dtype_name(t.type));
        return {};
    };
    ACTORLM_TRY(float_only(host.token_embedding));
    ACTORLM_TRY(float_only(host.lm_head));
    for (const layer_weights& l : host.layers)
        for (weight_role role : all_weight_roles)
            if (role_used(c, role)) ACTORLM_TRY(float_only(layer_tensor(l, role)));
    return {};
}

result<device_weights> upload_weights(const model_config& c, const model_weights& host,
                                      const tp_shard& s, dtype type, cudaStream_t stream) {
    if (!is_float_type(type))
        return make_error("weights: compute type %s is not f32/f16/bf16", dtype_name(type));
    ACTORLM_TRY(check_weights(c, host));
    const int64_t h = c.hidden_size, hd = c.head_dim;
    const bool tied = is_tied(c, host);
    device_weights w;
    w.type = type;
    uploader up(stream);
    const index_range all_h{0, h};
    ACTORLM_TRY(alloc(w.token_embedding, c.vocab_size * h, type, w));
    ACTORLM_TRY(up.copy_all(host.token_embedding, w.token_embedding.get(), type));
    ACTORLM_TRY(alloc(w.output_norm, h, dtype::f32, w));
    ACTORLM_TRY(up.copy(host.output_norm, {0, 1}, all_h, w.output_norm.get(), dtype::f32));
    if (!tied) {
        ACTORLM_TRY(alloc(w.lm_head_own, c.vocab_size * h, type, w));
        ACTORLM_TRY(up.copy_all(host.lm_head, w.lm_head_own.get(), type));
    }

    const int64_t q_rows = s.wq_rows.count, kv_rows = s.wk_rows.count;
    const int64_t ffn = s.ffn_rows.count;
    w.layers.resize(host.layers.size());
    for (size_t i = 0; i < host.layers.size(); ++i) {
        const layer_weights& l = host.layers[i];
        device_layer_weights& d = w.layers[i];
        ACTORLM_TRY(alloc(d.attn_norm, h, dtype::f32, w));
        ACTORLM_TRY(up.copy(l.attn_norm, {0, 1}, all_h, d.attn_norm.get(), dtype::f32));
        ACTORLM_TRY(alloc(d.ffn_norm, h, dtype::f32, w));
        ACTORLM_TRY(up.copy(l.ffn_norm, {0, 1}, all_h, d.ffn_norm.get(), dtype::f32));

        ACTORLM_TRY(alloc(d.wqkv, (q_rows + 2 * kv_rows) * h, type, w));
        ACTORLM_TRY(up.copy(l.wq, s.wq_rows, all_h, at_row(d.wqkv, 0, h, type), type));
        ACTORLM_TRY(up.copy(l.wk, s.wk_rows, all_h, at_row(d.wqkv, q_rows, h, type), type));
        ACTORLM_TRY(
            up.copy(l.wv, s.wk_rows, all_h, at_row(d.wqkv, q_rows + kv_rows, h, type), type));
        if (c.recipe.qkv_bias) {
            ACTORLM_TRY(alloc(d.bqkv, q_rows + 2 * kv_rows, dtype::f32, w));
            ACTORLM_TRY(up.copy(l.bq, {0, 1}, s.wq_rows, d.bqkv.get(), dtype::f32));
            ACTORLM_TRY(up.copy(l.bk, {0, 1}, s.wk_rows, at_row(d.bqkv, q_rows, 1, dtype::f32),
                                dtype::f32));
            ACTORLM_TRY(up.copy(l.bv, {0, 1}, s.wk_rows,
                                at_row(d.bqkv, q_rows + kv_rows, 1, dtype::f32), dtype::f32));
        }
        if (c.recipe.qk_norm) {
            ACTORLM_TRY(alloc(d.q_norm, hd, dtype::f32, w));
            ACTORLM_TRY(up.copy(l.q_norm, {0, 1}, {0, hd}, d.q_norm.get(), dtype::f32));
            ACTORLM_TRY(alloc(d.k_norm, hd, dtype::f32, w));
            ACTORLM_TRY(up.copy(l.k_norm, {0, 1}, {0, hd}, d.k_norm.get(), dtype::f32));
        }
        ACTORLM_TRY(alloc(d.wo, h * q_rows, type, w));
        ACTORLM_TRY(up.copy(l.wo, all_h, s.wo_cols, d.wo.get(), type));
        ACTORLM_TRY(alloc(d.w_gate_up, 2 * ffn * h, type, w));
        ACTORLM_TRY(up.copy(l.w_gate, s.ffn_rows, all_h, d.w_gate_up.get(), type));
        ACTORLM_TRY(up.copy(l.w_up, s.ffn_rows, all_h, at_row(d.w_gate_up, ffn, h, type), type));
        ACTORLM_TRY(alloc(d.w_down, h * ffn, type, w));
        ACTORLM_TRY(up.copy(l.w_down, all_h, s.w_down_cols, d.w_down.get(), type));
    }
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(stream));
    w.decode_read_bytes = w.total_bytes - static_cast<int64_t>(w.token_embedding.bytes()) +
                          (tied ? static_cast<int64_t>(w.token_embedding.bytes()) : 0);
    return w;
}

result<device_weights> synthetic_weights(const model_config& c, const tp_shard& s, dtype type,
                                         uint64_t seed, cudaStream_t stream) {
    if (!is_float_type(type))
        return make_error("weights: compute type %s is not f32/f16/bf16", dtype_name(type));
    if (c.vocab_size <= 0 || c.hidden_size <= 0 || c.num_layers <= 0)
        return make_error("synthetic weights: vocab %lld, hidden %lld, layers %lld must be > 0",
                          static_cast<long long>(c.vocab_size),
                          static_cast<long long>(c.hidden_size),
                          static_cast<long long>(c.num_layers));
    device_weights w;
    w.type = type;
    const int64_t h = c.hidden_size, hd = c.head_dim;
    uint64_t tensor_id = seed * 1000003ull + static_cast<uint64_t>(s.rank) * 7919ull;
    auto matrix = [&](device_buffer& b, int64_t rows, int64_t cols) -> status {
        ACTORLM_TRY(alloc(b, rows * cols, type, w));
        const float scale = std::sqrt(3.0f / static_cast<float>(cols));  // variance 1/cols
        return fill_uniform(b.get(), type, rows * cols, ++tensor_id, scale, stream);
    };
    auto ones = [&](device_buffer& b, int64_t n) -> status {
        ACTORLM_TRY(alloc(b, n, dtype::f32, w));
        return fill_constant(b.get(), dtype::f32, n, 1.0f, stream);
    };
    ACTORLM_TRY(alloc(w.token_embedding, c.vocab_size * h, type, w));
    ACTORLM_TRY(
        fill_uniform(w.token_embedding.get(), type, c.vocab_size * h, ++tensor_id, 1.0f, stream));
    ACTORLM_TRY(ones(w.output_norm, h));
    if (!c.tie_word_embeddings) ACTORLM_TRY(matrix(w.lm_head_own, c.vocab_size, h));
    const int64_t q_rows = s.wq_rows.count, kv_rows = s.wk_rows.count, ffn = s.ffn_rows.count;
    w.layers.resize(static_cast<size_t>(c.num_layers));
    for (device_layer_weights& d : w.layers) {
        ACTORLM_TRY(ones(d.attn_norm, h));
        ACTORLM_TRY(ones(d.ffn_norm, h));
        ACTORLM_TRY(matrix(d.wqkv, q_rows + 2 * kv_rows, h));
        if (c.recipe.qkv_bias) {
            ACTORLM_TRY(alloc(d.bqkv, q_rows + 2 * kv_rows, dtype::f32, w));
            ACTORLM_TRY(fill_uniform(d.bqkv.get(), dtype::f32, q_rows + 2 * kv_rows, ++tensor_id,
                                     0.1f, stream));
        }
        if (c.recipe.qk_norm) {
            ACTORLM_TRY(ones(d.q_norm, hd));
            ACTORLM_TRY(ones(d.k_norm, hd));
        }
        ACTORLM_TRY(matrix(d.wo, h, q_rows));
        ACTORLM_TRY(matrix(d.w_gate_up, 2 * ffn, h));
        ACTORLM_TRY(matrix(d.w_down, h, ffn));
    }
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(stream));
    w.decode_read_bytes =
        w.total_bytes - static_cast<int64_t>(w.token_embedding.bytes()) +
        (c.tie_word_embeddings ? static_cast<int64_t>(w.token_embedding.bytes()) : 0);
    return w;
}

}  // namespace actorlm::cuda
