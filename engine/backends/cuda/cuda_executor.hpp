// cuda_executor: the model_executor of one GPU (one tensor-parallel rank). Owns
// the device weights, the paged KV cache, the activation workspaces, a stream,
// a cuBLAS handle and (TP > 1) an NCCL communicator. Not thread-safe: one worker
// thread creates it and calls forward/forward_sample; the CUDA device is made
// current on entry of every call, so one thread may drive several executors.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cuda/sampling.cuh"
#include "model/model_executor.hpp"
#include "model/model_weights.hpp"

namespace actorlm::cuda {

struct cuda_executor_options {
    int32_t device = 0;                // CUDA device ordinal
    dtype compute_type = dtype::bf16;  // bf16, f16, or f32 (exact mode, no TF32)
    int32_t kv_num_blocks = 0;         // 0: fill kv_memory_fraction of the free memory
    int32_t kv_block_size = 16;        // tokens per KV block
    float kv_memory_fraction = 0.85f;  // of free memory after weights and workspaces
    int32_t kv_max_blocks = 0;         // cap on the blocks kv_num_blocks = 0 fills; 0 = none
    int32_t max_num_tokens = 2048;     // largest forward_batch (tokens per step)
    int32_t max_num_logits = 256;      // largest logits_indices per step
    int32_t tp_rank = 0;
    int32_t tp_size = 1;
    std::vector<uint8_t> nccl_id;      // nccl_unique_id_bytes() of rank 0, when tp_size > 1
    bool use_cuda_graphs = true;       // replay captured layer loops for steps of <= 256 tokens
    bool use_small_batch_gemv = true;  // <= 4-token 16-bit GEMMs by our gemv, not cuBLAS
};

/// Static facts of the device an executor runs on.
struct device_info {
    std::string name;
    int32_t num_sms = 0;
    int64_t total_memory_bytes = 0;
    double peak_bandwidth_bytes_per_s = 0;  // 2 * memory clock * bus width (DDR)
};

/// Number of CUDA devices; 0 when there is no driver or device (never an error).
int32_t cuda_device_count();

/// Name, SM count, memory and theoretical HBM bandwidth of device `ordinal`.
result<device_info> query_device(int32_t ordinal);

class cuda_executor final : public model_executor {
public:
    ~cuda_executor() override;

    /// Uploads `weights` (F32/F16/BF16; this rank's shard) and allocates the cache.
    static result<std::unique_ptr<cuda_executor>> create(const model_config& config,
                                                         const model_weights& weights,
                                                         const cuda_executor_options& options);

    /// Same, with seeded random weights of `config`'s shape generated on the device.
    static result<std::unique_ptr<cuda_executor>> create_synthetic(
        const model_config& config, uint64_t seed, const cuda_executor_options& options);

    const model_config& config() const override;
    const kv_cache_spec& kv_spec() const override;

    /// One forward pass; logits rows come back to the host (FP32).
    status forward(const forward_batch& batch, std::vector<float>& logits) override;

    /// One forward pass and sampling on the device: one token id per
    /// batch.logits_indices entry, sampled with the matching `params` row.
    result<std::vector<int32_t>> forward_sample(const forward_batch& batch,
                                                const std::vector<gpu_sampling_params>& params);

    /// Block access to the paged KV cache for KV connectors (cuda_kv_blocks); null
    /// with tensor parallelism, where a rank holds only its own heads.
    kv_block_io* kv_blocks() override;

    /// Waits for all queued work (benchmarks time whole steps with it).
    status synchronize();

    /// Device bytes of the weights, and the bytes one decode step streams.
    int64_t weight_bytes() const;
    int64_t decode_read_bytes() const;
    const device_info& device() const;

    /// Opaque state (cuda_executor_impl.hpp); named here so construction helpers
    /// in the implementation files can build it.
    struct impl;

private:
    explicit cuda_executor(std::unique_ptr<impl> p);
    std::unique_ptr<impl> impl_;
};

}  // namespace actorlm::cuda
