// The per-step layer loop of cuda_executor: upload the packed batch, embed,
// then per layer norm -> QKV GEMM -> (bias, QK-norm) -> RoPE -> KV write ->
// paged attention -> O GEMM into the FP32 residual -> norm -> gate/up GEMM ->
// SiLU*up -> down GEMM into the residual, NCCL all-reduce after each row-
// parallel GEMM; finally the asked-for rows go through the final norm and lm_head.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "cuda/activation.cuh"
#include "backends/cuda/cuda_executor_impl.hpp"
#include "cuda/gather.cuh"
#include "cuda/kv_cache.cuh"
#include "cuda/paged_attention.cuh"
#include "cuda/rms_norm.cuh"
#include "cuda/rope.cuh"

namespace actorlm::cuda {

int32_t cuda_executor::impl::choose_splits(const batch_plan& plan) const {
    if (plan.num_tokens > k_max_split_tokens) return 1;
    const int64_t blocks = static_cast<int64_t>(plan.num_items) * kv_heads;
    const int64_t target = 2 * static_cast<int64_t>(dev.num_sms);
    if (blocks >= target) return 1;
    const int64_t tiles = (plan.max_keys + k_attention_tile_keys - 1) / k_attention_tile_keys;
    // Each split should still stream at least two tiles, or the combine costs more.
    const int64_t by_len = std::max<int64_t>(1, tiles / 2);
    const int64_t by_fill = (target + blocks - 1) / blocks;
    return static_cast<int32_t>(std::min<int64_t>({k_max_splits, by_len, by_fill}));
}

result<batch_plan> cuda_executor::impl::run(const forward_batch& batch) {
    ACTORLM_CUDA_CHECK(cudaSetDevice(opts.device));
    auto plan = batch_plan::make(batch, config, kv, tokens_per_item);
    if (!plan.ok()) return plan.err();
    if (plan->num_tokens > opts.max_num_tokens)
        return make_error("forward batch of %d tokens exceeds max_num_tokens %d", plan->num_tokens,
                          opts.max_num_tokens);
    if (plan->num_logits > opts.max_num_logits)
        return make_error("forward batch asks for %d logits rows, max_num_logits is %d",
                          plan->num_logits, opts.max_num_logits);
    const size_t bytes = plan->blob.size();
    if (meta_host.bytes() < bytes) {
        // The previous step synchronized before returning, so the old buffers are idle.
        drop_graphs();  // they captured the old meta pointer
        ACTORLM_TRY(meta_host.allocate(bytes * 2));
        ACTORLM_TRY(meta.allocate(bytes * 2));
    }
    std::memcpy(meta_host.get(), plan->blob.data(), bytes);
    ACTORLM_CUDA_CHECK(
        cudaMemcpyAsync(meta.get(), meta_host.get(), bytes, cudaMemcpyHostToDevice, stream));
    ACTORLM_TRY(launch_forward(*plan));
    return plan;
}

void cuda_executor::impl::drop_graphs() {
    for (auto& g : graphs) cudaGraphExecDestroy(g.second);
    graphs.clear();
}

status cuda_executor::impl::launch_forward(const batch_plan& plan) {
    const int32_t splits = choose_splits(plan);
    if (!graphs_enabled || !opts.use_cuda_graphs || plan.num_tokens > k_graph_max_tokens)
        return enqueue_forward(plan, splits);
    const graph_key key{plan.num_tokens, plan.num_seqs,   plan.max_blocks_per_seq,
                        plan.num_items,  plan.num_logits, splits};
    for (auto& g : graphs)
        if (g.first == key) {
            ACTORLM_CUDA_CHECK(cudaGraphLaunch(g.second, stream));
            return {};
        }
    if (cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal) != cudaSuccess) {
        (void)cudaGetLastError();
        graphs_enabled = false;
        return enqueue_forward(plan, splits);
    }
    const status enqueued = enqueue_forward(plan, splits);
    cudaGraph_t graph = nullptr;
    const cudaError_t ended = cudaStreamEndCapture(stream, &graph);
    cudaGraphExec_t exec = nullptr;
    cudaError_t built = cudaErrorUnknown;
    if (enqueued.ok() && ended == cudaSuccess && graph)
        built = cudaGraphInstantiate(&exec, graph, 0);
    if (graph) cudaGraphDestroy(graph);
    if (built != cudaSuccess) {
        // Capture is an optimization: remember the failure and run this and every
        // later step eagerly (a real launch error will then surface as usual).
        (void)cudaGetLastError();
        graphs_enabled = false;
        drop_graphs();
        return enqueue_forward(plan, splits);
    }
    if (graphs.size() >= k_max_cached_graphs) {
        cudaGraphExecDestroy(graphs.front().second);
        graphs.erase(graphs.begin());
    }
    graphs.emplace_back(key, exec);
    ACTORLM_CUDA_CHECK(cudaGraphLaunch(exec, stream));
    return {};
}

status cuda_executor::impl::enqueue_forward(const batch_plan& plan, int32_t splits) {
    const dtype t = weights.type;
    const size_t es = dtype_block_bytes(t);
    const int32_t n = plan.num_tokens;
    const int32_t h = static_cast<int32_t>(config.hidden_size);
    const int32_t hd = static_cast<int32_t>(config.head_dim);
    const float eps = config.rms_norm_eps;
    const char* m = meta.as<char>();
    const auto* token_ids = reinterpret_cast<const int32_t*>(m + plan.off_token_ids);
    const auto* positions = reinterpret_cast<const int32_t*>(m + plan.off_positions);
    const auto* slots = reinterpret_cast<const int64_t*>(m + plan.off_slots);
    const auto* tables = reinterpret_cast<const int32_t*>(m + plan.off_block_tables);
    const auto* items = reinterpret_cast<const attention_work_item*>(m + plan.off_items);
    const auto* logits_rows = reinterpret_cast<const int32_t*>(m + plan.off_logits);
    const row_layout dense{1, h};
    const float residual_beta = shard.adds_residual() ? 1.0f : 0.0f;
    float* res = residual.as<float>();
    char* qkv_p = qkv.as<char>();

    ACTORLM_TRY(embedding_gather(token_ids, n, weights.token_embedding.get(), t, config.vocab_size,
                                 h, res, stream));
    for (int64_t layer = 0; layer < config.num_layers; ++layer) {
        const device_layer_weights& w = weights.layers[static_cast<size_t>(layer)];
        ACTORLM_TRY(rms_norm(res, dtype::f32, dense, normed.get(), t, dense,
                             w.attn_norm.as<float>(), n, h, eps, stream));
        ACTORLM_TRY(gemm.linear(normed.get(), w.wqkv.get(), t, n, h, qkv_dim, qkv_p, t, 0.0f));
        if (w.bqkv.get()) ACTORLM_TRY(add_bias(qkv_p, t, w.bqkv.as<float>(), n, qkv_dim, stream));
        if (w.q_norm.get()) {
            ACTORLM_TRY(rms_norm(qkv_p, t, {q_heads, qkv_dim}, qkv_p, t, {q_heads, qkv_dim},
                                 w.q_norm.as<float>(), n * q_heads, hd, eps, stream));
            char* k = qkv_p + static_cast<size_t>(q_heads) * hd * es;
            ACTORLM_TRY(rms_norm(k, t, {kv_heads, qkv_dim}, k, t, {kv_heads, qkv_dim},
                                 w.k_norm.as<float>(), n * kv_heads, hd, eps, stream));
        }
        rope_args ra;
        ra.qkv = qkv_p;
        ra.type = t;
        ra.num_tokens = n;
        ra.token_stride = qkv_dim;
        ra.k_offset = static_cast<int64_t>(q_heads) * hd;
        ra.num_q_heads = q_heads;
        ra.num_k_heads = kv_heads;
        ra.head_dim = hd;
        ra.positions = positions;
        ra.inv_freq = inv_freq.as<float>();
        ra.neox = config.rope_neox;
        ACTORLM_TRY(rope_inplace(ra, stream));

        kv_write_args kw;
        kw.qkv = qkv_p;
        kw.type = t;
        kw.num_tokens = n;
        kw.token_stride = qkv_dim;
        kw.k_offset = static_cast<int64_t>(q_heads) * hd;
        kw.v_offset = static_cast<int64_t>(q_heads + kv_heads) * hd;
        kw.num_kv_heads = kv_heads;
        kw.head_dim = hd;
        kw.slot_mapping = slots;
        kw.k_cache = k_cache(layer);
        kw.v_cache = v_cache(layer);
        kw.num_slots = static_cast<int64_t>(kv.num_blocks) * kv.block_size;
        ACTORLM_TRY(write_kv_cache(kw, stream));

        paged_attention_args pa;
        pa.type = t;
        pa.q = qkv_p;
        pa.q_token_stride = qkv_dim;
        pa.k_cache = k_cache(layer);
        pa.v_cache = v_cache(layer);
        pa.out = attn.get();
        pa.out_token_stride = static_cast<int64_t>(q_heads) * hd;
        pa.positions = positions;
        pa.block_tables = tables;
        pa.block_size = kv.block_size;
        pa.items = items;
        pa.num_items = plan.num_items;
        pa.num_tokens = n;
        pa.num_heads = q_heads;
        pa.num_kv_heads = kv_heads;
        pa.head_dim = hd;
        pa.scale = attention_score_scale(config.recipe, hd);
        pa.sliding_window = layer_attention_window(config, layer);
        pa.num_splits = splits;
        pa.split_workspace = split_ws.as<float>();
        pa.max_blocks_per_seq = plan.max_blocks_per_seq;
        ACTORLM_TRY(paged_attention(pa, stream));

        ACTORLM_TRY(gemm.linear(attn.get(), w.wo.get(), t, n, static_cast<int64_t>(q_heads) * hd, h,
                                res, dtype::f32, residual_beta));
        if (comm) ACTORLM_TRY(comm->all_reduce_sum(res, static_cast<size_t>(n) * h, stream));

        ACTORLM_TRY(rms_norm(res, dtype::f32, dense, normed.get(), t, dense, w.ffn_norm.as<float>(),
                             n, h, eps, stream));
        ACTORLM_TRY(
            gemm.linear(normed.get(), w.w_gate_up.get(), t, n, h, 2 * ffn, gate_up.get(), t, 0.0f));
        ACTORLM_TRY(silu_and_mul(gate_up.get(), act.get(), t, n, ffn, stream));
        ACTORLM_TRY(
            gemm.linear(act.get(), w.w_down.get(), t, n, ffn, h, res, dtype::f32, residual_beta));
        if (comm) ACTORLM_TRY(comm->all_reduce_sum(res, static_cast<size_t>(n) * h, stream));
    }
    const int32_t r = plan.num_logits;
    if (r == 0) return {};
    ACTORLM_TRY(gather_rows(res, logits_rows, r, h, logits_hidden.as<float>(), stream));
    ACTORLM_TRY(rms_norm(logits_hidden.get(), dtype::f32, dense, logits_normed.get(), t, dense,
                         weights.output_norm.as<float>(), r, h, eps, stream));
    ACTORLM_TRY(gemm.linear(logits_normed.get(), weights.lm_head(), t, r, h, config.vocab_size,
                            logits.get(), dtype::f32, 0.0f));
    return {};
}

}  // namespace actorlm::cuda
