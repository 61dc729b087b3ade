// NCCL communicator of one tensor-parallel rank. The group's unique id is a
// 128-byte blob made by rank 0 and carried to the others in an actor message;
// each rank's worker thread then joins with init_from_bytes. Without NCCL at
// build time every call returns an error saying so (TP=1 never needs it).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include <cuda_runtime_api.h>

#include "base/result.hpp"

namespace actorlm::cuda {

/// Bytes of an NCCL unique id (NCCL_UNIQUE_ID_BYTES).
inline constexpr size_t k_nccl_unique_id_bytes = 128;

/// A fresh NCCL unique id as bytes, to be sent to every rank of the group.
result<std::vector<uint8_t>> nccl_unique_id_bytes();

class nccl_comm {
public:
    ~nccl_comm();
    nccl_comm(const nccl_comm&) = delete;
    nccl_comm& operator=(const nccl_comm&) = delete;

    /// Joins the group described by `id` (k_nccl_unique_id_bytes bytes) as `rank` of
    /// `size` on the current CUDA device. Blocks until all ranks have joined, so
    /// every rank must call it from its own thread or process.
    static result<std::unique_ptr<nccl_comm>> init_from_bytes(std::span<const uint8_t> id,
                                                              int32_t rank, int32_t size);

    /// In-place sum of `count` floats over all ranks, enqueued on `stream`.
    status all_reduce_sum(float* data, size_t count, cudaStream_t stream);

    int32_t rank() const { return rank_; }
    int32_t size() const { return size_; }

private:
    nccl_comm() = default;
    void* comm_ = nullptr;  // ncclComm_t, kept opaque so this header needs no nccl.h
    int32_t rank_ = 0;
    int32_t size_ = 1;
};

}  // namespace actorlm::cuda
