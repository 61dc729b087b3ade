// cuda_kv_blocks: kv_block_io over the CUDA executor's paged KV cache, for KV
// connectors: one block of one layer moves between device and host as its K rows then
// its V rows in the cache dtype (the CPU cache's byte layout, so a block saved from
// either backend reloads into a cache of the same shape). Copies go through pinned
// staging buffers on streams of their own, so they overlap the executor's kernels.
// Thread-safe: saves (reads, the worker's thread) and loads (writes, the tiers' I/O
// threads) each hold their own staging buffer, stream and mutex; a failed copy is
// reported by io_error() and is sticky, never an abort.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include <cuda_runtime_api.h>

#include "base/result.hpp"
#include "cuda/device_buffer.hpp"
#include "kv/kv_block_io.hpp"

namespace actorlm::cuda {

class cuda_kv_blocks final : public kv_block_io {
public:
    /// Where the cache lives: [layers][K|V][num_blocks][block bytes], as cuda_executor
    /// allocates it.
    struct layout {
        int32_t device = 0;
        const void* cache = nullptr;  ///< the device allocation (outlives this object)
        int64_t num_layers = 0;
        int32_t num_blocks = 0;
        size_t block_half_bytes = 0;  ///< K (or V) of one block in one layer
    };
    /// Creates the two staging buffers (pinned, one block-layer each) and streams.
    static result<std::unique_ptr<cuda_kv_blocks>> create(const layout& l);
    ~cuda_kv_blocks() override;
    cuda_kv_blocks(const cuda_kv_blocks&) = delete;
    cuda_kv_blocks& operator=(const cuda_kv_blocks&) = delete;

    int64_t num_kv_layers() const override { return l_.num_layers; }
    int32_t num_kv_blocks() const override { return l_.num_blocks; }
    size_t block_layer_bytes() const override { return 2 * l_.block_half_bytes; }
    /// Device -> host. Sees every forward pass that has returned: forward() and
    /// forward_sample() wait for the executor's stream before they return.
    void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const override;
    /// Host -> device; complete on return, so a load reported finished is in the cache.
    void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) override;
    status io_error() const override;

private:
    /// One direction's staging buffer and stream; `mu` serializes its users.
    struct lane {
        std::mutex mu;
        pinned_buffer staging;
        cudaStream_t stream = nullptr;
    };

    explicit cuda_kv_blocks(const layout& l) : l_(l) {}
    char* k_block(int64_t layer, int32_t block) const;
    status copy_out(int64_t layer, int32_t block, std::span<uint8_t> dst) const;
    status copy_in(int64_t layer, int32_t block, std::span<const uint8_t> src);
    bool failed() const;
    void record(status st) const;

    layout l_;
    mutable lane read_;
    lane write_;
    mutable std::mutex error_mu_;
    mutable status error_;  // the first failed copy's
};

}  // namespace actorlm::cuda
