// tensor_parallel_plan: even Megatron-style split of heads and MLP width over the
// ranks of a tensor-parallel group. Pure arithmetic on model_config; the CUDA
// workers use it to cut the host weights before upload.
#include "model/tensor_parallel_plan.hpp"

namespace actorlm {

namespace {

index_range even_part(int64_t total, int32_t rank, int32_t size) {
    const int64_t part = total / size;
    return {part * rank, part};
}

}  // namespace

result<tensor_parallel_plan> tensor_parallel_plan::make(const model_config& config,
                                                        int32_t tp_size) {
    if (tp_size < 1) return make_error("tensor parallel size must be at least 1, got %d", tp_size);
    if (config.num_heads <= 0 || config.num_kv_heads <= 0 || config.head_dim <= 0 ||
        config.hidden_size <= 0 || config.intermediate_size <= 0)
        return make_error(
            "model config has a non-positive dimension (heads %lld, kv_heads "
            "%lld, head_dim %lld, hidden %lld, intermediate %lld)",
            static_cast<long long>(config.num_heads), static_cast<long long>(config.num_kv_heads),
            static_cast<long long>(config.head_dim), static_cast<long long>(config.hidden_size),
            static_cast<long long>(config.intermediate_size));
    if (config.num_heads % config.num_kv_heads != 0)
        return make_error("num_heads %lld is not a multiple of num_kv_heads %lld",
                          static_cast<long long>(config.num_heads),
                          static_cast<long long>(config.num_kv_heads));
    if (config.num_heads % tp_size != 0)
        return make_error("tensor parallel size %d does not divide num_heads %lld", tp_size,
                          static_cast<long long>(config.num_heads));
    // Replicating KV heads (vLLM does when tp > kv_heads) would double the cache;
    // we ask for a tensor parallel size that divides them instead.
    if (config.num_kv_heads % tp_size != 0)
        return make_error("tensor parallel size %d does not divide num_kv_heads %lld", tp_size,
                          static_cast<long long>(config.num_kv_heads));
    if (config.intermediate_size % tp_size != 0)
        return make_error("tensor parallel size %d does not divide intermediate_size %lld", tp_size,
                          static_cast<long long>(config.intermediate_size));

    tensor_parallel_plan plan;
    plan.shards_.reserve(static_cast<size_t>(tp_size));
    for (int32_t r = 0; r < tp_size; ++r) {
        tp_shard s;
        s.rank = r;
        s.size = tp_size;
        s.q_heads = even_part(config.num_heads, r, tp_size);
        s.kv_heads = even_part(config.num_kv_heads, r, tp_size);
        s.wq_rows = {s.q_heads.begin * config.head_dim, s.q_heads.count * config.head_dim};
        s.wk_rows = {s.kv_heads.begin * config.head_dim, s.kv_heads.count * config.head_dim};
        s.wo_cols = s.wq_rows;
        s.ffn_rows = even_part(config.intermediate_size, r, tp_size);
        s.w_down_cols = s.ffn_rows;
        plan.shards_.push_back(s);
    }
    return plan;
}

const tp_shard& tensor_parallel_plan::shard(int32_t rank) const {
    ACTORLM_CHECK(rank >= 0 && rank < size(), "rank %d out of [0, %d)", rank, size());
    return shards_[static_cast<size_t>(rank)];
}

int64_t tensor_parallel_plan::rank_weight_bytes(const model_config& config, int32_t rank,
                                                int64_t bytes_per_element) const {
    const tp_shard& s = shard(rank);
    const int64_t h = config.hidden_size;
    const int64_t per_layer = (s.wq_rows.count + 2 * s.wk_rows.count) * h  // wq, wk, wv
                              + h * s.wo_cols.count                        // wo
                              + 3 * s.ffn_rows.count * h;                  // gate, up, down
    const int64_t matrices = config.num_layers * per_layer +
                             (config.tie_word_embeddings ? 1 : 2) * config.vocab_size * h;
    const int64_t norms = (2 * config.num_layers + 1) * h * 4;
    return matrices * bytes_per_element + norms;
}

}  // namespace actorlm
