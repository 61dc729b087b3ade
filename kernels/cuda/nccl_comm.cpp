// NCCL wrapper: unique id as bytes, communicator init from bytes, FP32 all-reduce.
#include "cuda/nccl_comm.hpp"

#include <cstring>

#include "cuda/cuda_libraries.hpp"

#ifdef ACTORLM_WITH_NCCL
static_assert(NCCL_UNIQUE_ID_BYTES == actorlm::cuda::k_nccl_unique_id_bytes);
#endif

namespace actorlm::cuda {

#ifdef ACTORLM_WITH_NCCL

namespace {

error nccl_error(const nccl_api& api, ncclResult_t r, const char* what) {
    return make_error("NCCL %s failed: %s", what, api.error_string(r));
}

}  // namespace

result<std::vector<uint8_t>> nccl_unique_id_bytes() {
    auto api = nccl();
    if (!api) return api.err();
    ncclUniqueId id;
    const ncclResult_t r = (*api)->get_unique_id(&id);
    if (r != ncclSuccess) return nccl_error(**api, r, "ncclGetUniqueId");
    std::vector<uint8_t> bytes(k_nccl_unique_id_bytes);
    std::memcpy(bytes.data(), id.internal, k_nccl_unique_id_bytes);
    return bytes;
}

nccl_comm::~nccl_comm() {
    // A communicator exists only where nccl() loaded.
    if (comm_) (*nccl())->comm_destroy(static_cast<ncclComm_t>(comm_));
}

result<std::unique_ptr<nccl_comm>> nccl_comm::init_from_bytes(std::span<const uint8_t> id_bytes,
                                                              int32_t rank, int32_t size) {
    if (id_bytes.size() != k_nccl_unique_id_bytes)
        return make_error("NCCL unique id must be %zu bytes, got %zu", k_nccl_unique_id_bytes,
                          id_bytes.size());
    if (size < 1 || rank < 0 || rank >= size)
        return make_error("NCCL rank %d outside a group of %d", rank, size);
    auto api = nccl();
    if (!api) return api.err();
    ncclUniqueId id;
    std::memcpy(id.internal, id_bytes.data(), k_nccl_unique_id_bytes);
    ncclComm_t comm = nullptr;
    const ncclResult_t r = (*api)->comm_init_rank(&comm, size, id, rank);
    if (r != ncclSuccess) return nccl_error(**api, r, "ncclCommInitRank");
    std::unique_ptr<nccl_comm> c(new nccl_comm());
    c->comm_ = comm;
    c->rank_ = rank;
    c->size_ = size;
    return c;
}

status nccl_comm::all_reduce_sum(float* data, size_t count, cudaStream_t stream) {
    const nccl_api& api = **nccl();  // loaded: this communicator was made through it
    const ncclResult_t r = api.all_reduce(data, data, count, ncclFloat32, ncclSum,
                                          static_cast<ncclComm_t>(comm_), stream);
    if (r != ncclSuccess) return nccl_error(api, r, "ncclAllReduce");
    return {};
}

#else  // built without NCCL

result<std::vector<uint8_t>> nccl_unique_id_bytes() {
    return make_error("tensor parallelism needs NCCL, which this build does not have");
}

nccl_comm::~nccl_comm() = default;

result<std::unique_ptr<nccl_comm>> nccl_comm::init_from_bytes(std::span<const uint8_t>, int32_t,
                                                              int32_t) {
    return make_error("tensor parallelism needs NCCL, which this build does not have");
}

status nccl_comm::all_reduce_sum(float*, size_t, cudaStream_t) {
    return make_error("tensor parallelism needs NCCL, which this build does not have");
}

#endif

}  // namespace actorlm::cuda
