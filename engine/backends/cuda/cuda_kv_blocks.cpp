// cuda_kv_blocks implementation. Each copy is staged: host bytes <-> pinned buffer
// (memcpy) and pinned buffer <-> device (two async copies, K and V, on the lane's
// stream, then a wait on that stream only). The executor's stream is never touched,
// so a copy neither waits for nor breaks a CUDA graph capture on it (the executor
// captures in thread-local mode).
#include "backends/cuda/cuda_kv_blocks.hpp"

#include <cstring>

#include "base/check.hpp"
#include "cuda/cuda_check.hpp"

namespace actorlm::cuda {

result<std::unique_ptr<cuda_kv_blocks>> cuda_kv_blocks::create(const layout& l) {
    if (!l.cache || l.num_layers <= 0 || l.num_blocks <= 0 || l.block_half_bytes == 0)
        return make_error("CUDA KV block access: the cache has no blocks");
    std::unique_ptr<cuda_kv_blocks> p(new cuda_kv_blocks(l));
    ACTORLM_CUDA_CHECK(cudaSetDevice(l.device));
    for (lane* ln : {&p->read_, &p->write_}) {
        ACTORLM_TRY(ln->staging.allocate(2 * l.block_half_bytes));
        ACTORLM_CUDA_CHECK(cudaStreamCreateWithFlags(&ln->stream, cudaStreamNonBlocking));
    }
    return p;
}

cuda_kv_blocks::~cuda_kv_blocks() {
    cudaSetDevice(l_.device);
    for (lane* ln : {&read_, &write_})
        if (ln->stream) {
            cudaStreamSynchronize(ln->stream);
            cudaStreamDestroy(ln->stream);
        }
}

char* cuda_kv_blocks::k_block(int64_t layer, int32_t block) const {
    const size_t layer_half = static_cast<size_t>(l_.num_blocks) * l_.block_half_bytes;
    return const_cast<char*>(static_cast<const char*>(l_.cache)) +
           static_cast<size_t>(2 * layer) * layer_half +
           static_cast<size_t>(block) * l_.block_half_bytes;
}

bool cuda_kv_blocks::failed() const {
    std::lock_guard lock(error_mu_);
    return !error_.ok();
}

void cuda_kv_blocks::record(status st) const {
    if (st.ok()) return;
    std::lock_guard lock(error_mu_);
    if (error_.ok()) error_ = std::move(st);
}

status cuda_kv_blocks::io_error() const {
    std::lock_guard lock(error_mu_);
    return error_;
}

status cuda_kv_blocks::copy_out(int64_t layer, int32_t block, std::span<uint8_t> dst) const {
    const size_t half = l_.block_half_bytes;
    const size_t layer_half = static_cast<size_t>(l_.num_blocks) * half;
    std::lock_guard lock(read_.mu);
    ACTORLM_CUDA_CHECK(cudaSetDevice(l_.device));
    auto* staging = static_cast<char*>(read_.staging.get());
    const char* k = k_block(layer, block);
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(staging, k, half, cudaMemcpyDeviceToHost, read_.stream));
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(staging + half, k + layer_half, half, cudaMemcpyDeviceToHost,
                                       read_.stream));
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(read_.stream));
    std::memcpy(dst.data(), staging, 2 * half);
    return {};
}

status cuda_kv_blocks::copy_in(int64_t layer, int32_t block, std::span<const uint8_t> src) {
    const size_t half = l_.block_half_bytes;
    const size_t layer_half = static_cast<size_t>(l_.num_blocks) * half;
    std::lock_guard lock(write_.mu);
    ACTORLM_CUDA_CHECK(cudaSetDevice(l_.device));
    auto* staging = static_cast<char*>(write_.staging.get());
    std::memcpy(staging, src.data(), 2 * half);
    char* k = k_block(layer, block);
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(k, staging, half, cudaMemcpyHostToDevice, write_.stream));
    ACTORLM_CUDA_CHECK(cudaMemcpyAsync(k + layer_half, staging + half, half, cudaMemcpyHostToDevice,
                                       write_.stream));
    // The staging buffer is reused by the next copy, and the caller reports the block
    // loaded once this returns: wait for the transfer.
    ACTORLM_CUDA_CHECK(cudaStreamSynchronize(write_.stream));
    return {};
}

void cuda_kv_blocks::read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const {
    ACTORLM_CHECK(layer >= 0 && layer < l_.num_layers && block >= 0 && block < l_.num_blocks &&
                      dst.size() == block_layer_bytes(),
                  "KV block read out of range: layer %lld block %d (%zu bytes)",
                  static_cast<long long>(layer), block, dst.size());
    if (failed()) return;  // sticky: the caller drops what it read
    record(copy_out(layer, block, dst));
}

void cuda_kv_blocks::write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) {
    ACTORLM_CHECK(layer >= 0 && layer < l_.num_layers && block >= 0 && block < l_.num_blocks &&
                      src.size() == block_layer_bytes(),
                  "KV block write out of range: layer %lld block %d (%zu bytes)",
                  static_cast<long long>(layer), block, src.size());
    if (failed()) return;
    record(copy_in(layer, block, src));
}

}  // namespace actorlm::cuda
