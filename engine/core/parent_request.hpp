// parent_request: one request's fan-out into its n sequences (vLLM's
// ParentRequest): the child ids ("<id>" when n == 1, "<id>#<k>" otherwise),
// each child's sampling params (n = 1; seed + k when seeded), and which
// children still run. The one owner of the parent <-> children mapping: the
// offline engine, the output processor and the frontend actor all ask it.
// A plain value, single-threaded. Invariant: num_running() == running flags set.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace actorlm::core {

class parent_request {
public:
    /// A request with max(params.n, 1) sequences, all running.
    parent_request(std::string request_id, const actorlm::sampling_params& params);

    const std::string& request_id() const { return id_; }
    /// The parent's own params (n as requested).
    const actorlm::sampling_params& params() const { return params_; }
    /// Number of sequences (>= 1).
    int32_t n() const { return static_cast<int32_t>(running_.size()); }

    /// The id sequence `index` is scheduled under; derived from the index alone,
    /// never from how many children are left. `index` must be in [0, n).
    std::string child_id(int32_t index) const;
    /// Params of sequence `index`: n = 1, and seed + index when the request is seeded
    /// (so the n samples differ and each is reproducible whatever the batch).
    actorlm::sampling_params child_params(int32_t index) const;

    /// Marks sequence `index` finished. True when it was running; false (nothing
    /// changed) for an index out of range or a sequence that finished already.
    bool finish_child(int32_t index);
    bool running(int32_t index) const;
    int32_t num_running() const { return num_running_; }
    /// True once every sequence finished, in whatever order.
    bool finished() const { return num_running_ == 0; }
    /// Indices of the sequences still running, ascending.
    std::vector<int32_t> running_indices() const;
    /// Ids of the sequences still running, by index.
    std::vector<std::string> running_child_ids() const;

private:
    std::string id_;
    actorlm::sampling_params params_;
    std::vector<char> running_;  // per index
    int32_t num_running_ = 0;
};

}  // namespace actorlm::core
