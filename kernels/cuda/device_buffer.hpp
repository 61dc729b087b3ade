// device_buffer: owning RAII handle of one cudaMalloc allocation. Move-only; the
// destructor frees on the current device without checking (teardown cannot
// report). Allocation failures come back as a status from allocate().
#pragma once

#include <cstddef>
#include <utility>

#include <cuda_runtime_api.h>

#include "cuda/cuda_check.hpp"

namespace actorlm::cuda {

class device_buffer {
public:
    device_buffer() = default;
    ~device_buffer() { release(); }
    device_buffer(const device_buffer&) = delete;
    device_buffer& operator=(const device_buffer&) = delete;
    device_buffer(device_buffer&& o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}
    device_buffer& operator=(device_buffer&& o) noexcept {
        if (this != &o) {
            release();
            ptr_ = std::exchange(o.ptr_, nullptr);
            bytes_ = std::exchange(o.bytes_, 0);
        }
        return *this;
    }

    /// Frees any old allocation and allocates `bytes` (0 leaves it empty).
    status allocate(size_t bytes) {
        release();
        if (bytes == 0) return {};
        void* p = nullptr;
        const cudaError_t e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();  // clear the sticky-free error state
            return make_error("cudaMalloc of %zu bytes failed: %s", bytes, cudaGetErrorString(e));
        }
        ptr_ = p;
        bytes_ = bytes;
        return {};
    }

    void release() {
        if (ptr_) cudaFree(ptr_);
        ptr_ = nullptr;
        bytes_ = 0;
    }

    void* get() const { return ptr_; }
    template <class T>
    T* as() const {
        return static_cast<T*>(ptr_);
    }
    size_t bytes() const { return bytes_; }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

/// Pinned host memory for staging uploads; same ownership rules as device_buffer.
class pinned_buffer {
public:
    pinned_buffer() = default;
    ~pinned_buffer() { release(); }
    pinned_buffer(const pinned_buffer&) = delete;
    pinned_buffer& operator=(const pinned_buffer&) = delete;
    pinned_buffer(pinned_buffer&& o) noexcept
        : ptr_(std::exchange(o.ptr_, nullptr)), bytes_(std::exchange(o.bytes_, 0)) {}

    status allocate(size_t bytes) {
        release();
        if (bytes == 0) return {};
        void* p = nullptr;
        ACTORLM_CUDA_CHECK(cudaMallocHost(&p, bytes));
        ptr_ = p;
        bytes_ = bytes;
        return {};
    }
    void release() {
        if (ptr_) cudaFreeHost(ptr_);
        ptr_ = nullptr;
        bytes_ = 0;
    }
    void* get() const { return ptr_; }
    size_t bytes() const { return bytes_; }

private:
    void* ptr_ = nullptr;
    size_t bytes_ = 0;
};

}  // namespace actorlm::cuda
