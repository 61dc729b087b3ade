// cuda_executor construction, memory planning and the public step calls. The
// layer loop itself is in cuda_forward.cpp. Every CUDA failure becomes a status;
// the executor stays usable after a failed step only if the error was a bad
// batch (found before anything was enqueued).
#include "backends/cuda/cuda_executor.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "backends/cuda/cuda_executor_impl.hpp"
#include "cuda/rope.cuh"

namespace actorlm::cuda {

int32_t cuda_device_count() {
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess) {
        (void)cudaGetLastError();
        return 0;
    }
    return count;
}

result<device_info> query_device(int32_t ordinal) {
    const int32_t count = cuda_device_count();
    if (ordinal < 0 || ordinal >= count)
        return make_error("CUDA device %d does not exist (%d found)", ordinal, count);
    cudaDeviceProp prop{};
    ACTORLM_CUDA_CHECK(cudaGetDeviceProperties(&prop, ordinal));
    int mem_clock_khz = 0;
    ACTORLM_CUDA_CHECK(cudaDeviceGetAttribute(&mem_clock_khz, cudaDevAttrMemoryClockRate, ordinal));
    device_info d;
    d.name = prop.name;
    d.num_sms = prop.multiProcessorCount;
    d.total_memory_bytes = static_cast<int64_t>(prop.totalGlobalMem);
    d.peak_bandwidth_bytes_per_s =
        2.0 * static_cast<double>(mem_clock_khz) * 1000.0 * prop.memoryBusWidth / 8.0;
    return d;
}

cuda_executor::impl::~impl() {
    cudaSetDevice(opts.device);
    drop_graphs();
    if (stream) {
        cudaStreamSynchronize(stream);
        cudaStreamDestroy(stream);
    }
}

void* cuda_executor::impl::k_cache(int64_t layer) const {
    return kv_cache.as<char>() + static_cast<size_t>(2 * layer) * kv_half_bytes;
}

void* cuda_executor::impl::v_cache(int64_t layer) const {
    return kv_cache.as<char>() + static_cast<size_t>(2 * layer + 1) * kv_half_bytes;
}

status cuda_executor::impl::allocate_runtime() {
    const dtype t = weights.type;
    const size_t es = dtype_block_bytes(t);
    const size_t n = static_cast<size_t>(opts.max_num_tokens);
    const size_t r = static_cast<size_t>(opts.max_num_logits);
    const size_t h = static_cast<size_t>(config.hidden_size);
    const size_t hd = static_cast<size_t>(config.head_dim);
    auto inv = rope_inv_freq(config.head_dim, config.rope_theta, config.rope_scaling);
    ACTORLM_TRY(inv_freq.allocate(inv.size() * sizeof(float)));
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(inv_freq.get(), inv.data(), inv.size() * sizeof(float),
                                       cudaMemcpyHostToDevice, stream));
    ACTORLM_TRY(residual.allocate(n * h * sizeof(float)));
    ACTORLM_TRY(normed.allocate(n * h * es));
    ACTORLM_TRY(qkv.allocate(n * static_cast<size_t>(qkv_dim) * es));
    ACTORLM_TRY(attn.allocate(n * static_cast<size_t>(q_heads) * hd * es));
    ACTORLM_TRY(gate_up.allocate(n * 2 * static_cast<size_t>(ffn) * es));
    ACTORLM_TRY(act.allocate(n * static_cast<size_t>(ffn) * es));
    const size_t split_tokens = std::min<size_t>(n, k_max_split_tokens);
    ACTORLM_TRY(split_ws.allocate(
        sizeof(float) *
        static_cast<size_t>(attention_split_workspace_floats(
            static_cast<int32_t>(split_tokens), q_heads, k_max_splits, static_cast<int32_t>(hd)))));
    ACTORLM_TRY(logits_hidden.allocate(r * h * sizeof(float)));
    ACTORLM_TRY(logits_normed.allocate(r * h * es));
    ACTORLM_TRY(logits.allocate(r * static_cast<size_t>(config.vocab_size) * sizeof(float)));
    ACTORLM_TRY(sample_params.allocate(r * sizeof(gpu_sampling_params)));
    ACTORLM_TRY(sample_ids.allocate(r * sizeof(int32_t)));

    // KV cache last: it takes what is left when kv_num_blocks is 0.
    const size_t block_bytes = static_cast<size_t>(kv.block_size) * static_cast<size_t>(kv_heads) *
                               hd * es;  // one layer, K only
    const size_t per_block_all_layers = 2 * static_cast<size_t>(config.num_layers) * block_bytes;
    if (kv.num_blocks <= 0) {
        size_t free_bytes = 0, total_bytes = 0;
        ACTORLM_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
        const double budget = static_cast<double>(free_bytes) * opts.kv_memory_fraction;
        const double blocks = std::floor(budget / static_cast<double>(per_block_all_layers));
        if (blocks < 1)
            return make_error("no device memory left for the KV cache (%zu bytes free)",
                              free_bytes);
        kv.num_blocks = static_cast<int32_t>(std::min(blocks, 2.0e9));
        if (opts.kv_max_blocks > 0) kv.num_blocks = std::min(kv.num_blocks, opts.kv_max_blocks);
    }
    kv_half_bytes = static_cast<size_t>(kv.num_blocks) * block_bytes;
    ACTORLM_TRY(kv_cache.allocate(2 * static_cast<size_t>(config.num_layers) * kv_half_bytes));
    // Unwritten slots must hold finite values: attention multiplies them by 0.
    ACTORLM_CUDA_CHECK(cudaMemsetAsync(kv_cache.get(), 0, kv_cache.bytes(), stream));
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(stream));
    // A KV connector's block holds every head of a layer; a TP rank has only its own,
    // so tensor-parallel executors offer no block access (connectors are refused).
    if (opts.tp_size == 1) {
        cuda_kv_blocks::layout l;
        l.device = opts.device;
        l.cache = kv_cache.get();
        l.num_layers = config.num_layers;
        l.num_blocks = kv.num_blocks;
        l.block_half_bytes = block_bytes;
        auto blocks = cuda_kv_blocks::create(l);
        if (!blocks.ok()) return blocks.err();
        kv_blocks = std::move(*blocks);
    }
    return {};
}

namespace {

// Every recipe feature the layer loop in cuda_forward.cpp implements. The others
// (Gemma-style norms, GeGLU, post-norms, scales, soft-caps) are refused at creation.
constexpr uint32_t k_supported_features = recipe_qkv_bias | recipe_qk_norm;

// Everything of create/create_synthetic before the weights.
result<std::unique_ptr<cuda_executor::impl>> prepare(const model_config& config,
                                                     const cuda_executor_options& o) {
    ACTORLM_TRY(require_recipe_features(config.recipe, k_supported_features, "the CUDA backend"));
    if (o.compute_type != dtype::bf16 && o.compute_type != dtype::f16 &&
        o.compute_type != dtype::f32)
        return make_error("CUDA compute type must be bf16, f16 or f32, not %s",
                          dtype_name(o.compute_type));
    if (o.max_num_tokens <= 0 || o.max_num_logits <= 0 || o.kv_block_size <= 0)
        return make_error(
            "max_num_tokens (%d), max_num_logits (%d) and kv_block_size (%d) "
            "must be positive",
            o.max_num_tokens, o.max_num_logits, o.kv_block_size);
    if (o.tp_rank < 0 || o.tp_rank >= o.tp_size)
        return make_error("tensor parallel rank %d outside a group of %d", o.tp_rank, o.tp_size);
    if (config.head_dim <= 0 || config.head_dim % 2 != 0 ||
        config.head_dim > k_attention_max_head_dim)
        return make_error("head_dim %lld must be even and at most %d",
                          static_cast<long long>(config.head_dim), k_attention_max_head_dim);
    if (config.vocab_size <= 0 || config.vocab_size > INT32_MAX || config.num_layers <= 0)
        return make_error("vocab size %lld and layer count %lld must be positive",
                          static_cast<long long>(config.vocab_size),
                          static_cast<long long>(config.num_layers));
    if (!config.mrope_section.empty())
        return make_error("the CUDA backend does not run M-RoPE yet (Qwen2.5-VL's text model, "
                          "mrope_section of %zu entries); use the CPU backend",
                          config.mrope_section.size());
    if (config.sliding_rope_theta != 0.0f)
        return make_error(
            "the CUDA backend does not implement a separate RoPE for the "
            "sliding-window layers (sliding_rope_theta %g, Gemma 3's local "
            "layers); use the CPU backend",
            static_cast<double>(config.sliding_rope_theta));
    if (config.sliding_window < 0 ||
        (!config.sliding_layers.empty() &&
         static_cast<int64_t>(config.sliding_layers.size()) != config.num_layers))
        return make_error("sliding window %d on %zu of %lld layers is not a valid window",
                          config.sliding_window, config.sliding_layers.size(),
                          static_cast<long long>(config.num_layers));
    auto plan = tensor_parallel_plan::make(config, o.tp_size);
    if (!plan.ok()) return plan.err();
    auto dev = query_device(o.device);
    if (!dev.ok()) return dev.err();

    auto p = std::make_unique<cuda_executor::impl>();
    p->config = config;
    p->opts = o;
    p->dev = *dev;
    p->shard = plan->shard(o.tp_rank);
    p->q_heads = static_cast<int32_t>(p->shard.q_heads.count);
    p->kv_heads = static_cast<int32_t>(p->shard.kv_heads.count);
    p->ffn = p->shard.ffn_rows.count;
    p->qkv_dim = (p->q_heads + 2 * p->kv_heads) * config.head_dim;
    p->tokens_per_item = attention_tokens_per_item(p->q_heads, p->kv_heads);
    if (p->tokens_per_item == 0)
        return make_error("%d query heads per KV head exceed the attention kernel's %d",
                          p->q_heads / p->kv_heads, k_attention_item_rows);
    p->kv.num_blocks = o.kv_num_blocks;
    p->kv.block_size = o.kv_block_size;
    p->kv.type = o.compute_type;  // the cache holds K/V in the compute type

    ACTORLM_CUDA_CHECK(cudaSetDevice(o.device));
    ACTORLM_CUDA_CHECK(cudaStreamCreateWithFlags(&p->stream, cudaStreamNonBlocking));
    ACTORLM_TRY(p->gemm.init(p->stream));
    p->gemm.set_small_batch_gemv(o.use_small_batch_gemv);
    if (o.tp_size > 1) {
        auto comm = nccl_comm::init_from_bytes(o.nccl_id, o.tp_rank, o.tp_size);
        if (!comm.ok()) return comm.err();
        p->comm = std::move(*comm);
    }
    return p;
}

}  // namespace

cuda_executor::cuda_executor(std::unique_ptr<impl> p) : impl_(std::move(p)) {}
cuda_executor::~cuda_executor() = default;

result<std::unique_ptr<cuda_executor>> cuda_executor::create(const model_config& config,
                                                             const model_weights& weights,
                                                             const cuda_executor_options& options) {
    // Before touching the device: an unsupported recipe, then the tensors.
    ACTORLM_TRY(require_recipe_features(config.recipe, k_supported_features, "the CUDA backend"));
    ACTORLM_TRY(check_weights(config, weights));
    auto p = prepare(config, options);
    if (!p.ok()) return p.err();
    auto w = upload_weights(config, weights, (*p)->shard, options.compute_type, (*p)->stream);
    if (!w.ok()) return w.err();
    (*p)->weights = std::move(*w);
    ACTORLM_TRY((*p)->allocate_runtime());
    return std::unique_ptr<cuda_executor>(new cuda_executor(std::move(*p)));
}

result<std::unique_ptr<cuda_executor>> cuda_executor::create_synthetic(
    const model_config& config, uint64_t seed, const cuda_executor_options& options) {
    auto p = prepare(config, options);
    if (!p.ok()) return p.err();
    auto w = synthetic_weights(config, (*p)->shard, options.compute_type, seed, (*p)->stream);
    if (!w.ok()) return w.err();
    (*p)->weights = std::move(*w);
    ACTORLM_TRY((*p)->allocate_runtime());
    return std::unique_ptr<cuda_executor>(new cuda_executor(std::move(*p)));
}

const model_config& cuda_executor::config() const { return impl_->config; }
const kv_cache_spec& cuda_executor::kv_spec() const { return impl_->kv; }
int64_t cuda_executor::weight_bytes() const { return impl_->weights.total_bytes; }
int64_t cuda_executor::decode_read_bytes() const { return impl_->weights.decode_read_bytes; }
const device_info& cuda_executor::device() const { return impl_->dev; }
kv_block_io* cuda_executor::kv_blocks() { return impl_->kv_blocks.get(); }

status cuda_executor::synchronize() {
    ACTORLM_CUDA_CHECK(cudaSetDevice(impl_->opts.device));
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
    return {};
}

status cuda_executor::forward(const forward_batch& batch, std::vector<float>& logits) {
    auto plan = impl_->run(batch);
    if (!plan.ok()) return plan.err();
    const size_t count =
        static_cast<size_t>(plan->num_logits) * static_cast<size_t>(impl_->config.vocab_size);
    logits.resize(count);
    if (count)
        ACTORLM_CUDA_CHECK(cudaMemcpyAsync(logits.data(), impl_->logits.get(),
                                           count * sizeof(float), cudaMemcpyDeviceToHost,
                                           impl_->stream));
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
    return {};
}

result<std::vector<int32_t>> cuda_executor::forward_sample(
    const forward_batch& batch, const std::vector<gpu_sampling_params>& params) {
    if (params.size() != batch.logits_indices.size())
        return make_error("forward_sample: %zu sampling rows for %zu logits rows", params.size(),
                          batch.logits_indices.size());
    ACTORLM_TRY(validate_sampling_params(params.data(), static_cast<int32_t>(params.size())));
    auto plan = impl_->run(batch);
    if (!plan.ok()) return plan.err();
    std::vector<int32_t> ids(static_cast<size_t>(plan->num_logits));
    if (ids.empty()) {
        ACTORLM_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
        return ids;
    }
    cudaStream_t s = impl_->stream;
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(impl_->sample_params.get(), params.data(),
                                       params.size() * sizeof(gpu_sampling_params),
                                       cudaMemcpyHostToDevice, s));
    ACTORLM_TRY(sample_tokens(
        impl_->logits.as<float>(), plan->num_logits, static_cast<int32_t>(impl_->config.vocab_size),
        impl_->sample_params.as<gpu_sampling_params>(), impl_->sample_ids.as<int32_t>(), s));
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(ids.data(), impl_->sample_ids.get(),
                                       ids.size() * sizeof(int32_t), cudaMemcpyDeviceToHost, s));
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(s));
    return ids;
}

}  // namespace actorlm::cuda
