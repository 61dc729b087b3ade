// request_queue implementation: removals (aborts of waiting requests).
#include "core/request_queue.hpp"

#include <algorithm>

namespace actorlm::core {

bool fcfs_queue::remove(request* r) {
    auto it = std::find(q_.begin(), q_.end(), r);
    if (it == q_.end()) return false;
    q_.erase(it);
    return true;
}

bool priority_queue::remove(request* r) {
    for (auto it = q_.begin(); it != q_.end(); ++it)
        if (it->req == r) {
            q_.erase(it);
            return true;
        }
    return false;
}

waiting_queue::waiting_queue(scheduling_policy p) {
    if (p == scheduling_policy::priority)
        q_.emplace<priority_queue>();
    else
        q_.emplace<fcfs_queue>();
}

}  // namespace actorlm::core
