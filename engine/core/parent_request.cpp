// parent_request implementation.
#include "core/parent_request.hpp"

#include <algorithm>

#include "base/check.hpp"

namespace actorlm::core {

parent_request::parent_request(std::string request_id, const actorlm::sampling_params& params)
    : id_(std::move(request_id)),
      params_(params),
      running_(static_cast<size_t>(std::max(params.n, 1)), 1),
      num_running_(std::max(params.n, 1)) {}

std::string parent_request::child_id(int32_t index) const {
    ACTORLM_CHECK(index >= 0 && index < n(), "sequence index %d outside [0, %d)", index, n());
    if (n() == 1) return id_;
    std::string s = id_;  // appended: g++ 12 warns (-Wrestrict) on id_ + "#" + ...
    s += '#';
    s += std::to_string(index);
    return s;
}

actorlm::sampling_params parent_request::child_params(int32_t index) const {
    ACTORLM_CHECK(index >= 0 && index < n(), "sequence index %d outside [0, %d)", index, n());
    actorlm::sampling_params p = params_;
    p.n = 1;
    if (p.seed) p.seed = *p.seed + static_cast<uint64_t>(index);
    return p;
}

bool parent_request::finish_child(int32_t index) {
    if (!running(index)) return false;
    running_[static_cast<size_t>(index)] = 0;
    --num_running_;
    return true;
}

bool parent_request::running(int32_t index) const {
    return index >= 0 && index < n() && running_[static_cast<size_t>(index)] != 0;
}

std::vector<int32_t> parent_request::running_indices() const {
    std::vector<int32_t> out;
    for (int32_t k = 0; k < n(); ++k)
        if (running(k)) out.push_back(k);
    return out;
}

std::vector<std::string> parent_request::running_child_ids() const {
    std::vector<std::string> out;
    for (int32_t k : running_indices()) out.push_back(child_id(k));
    return out;
}

}  // namespace actorlm::core
