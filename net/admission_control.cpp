// admission_control: the request slot counter (see admission_control.hpp).
#include "net/admission_control.hpp"

namespace actorlm::net {

admission_control::admission_control(int64_t limit)
    : limit_(limit), counter_(std::make_shared<counter>()) {}

std::shared_ptr<admission_control::ticket> admission_control::try_admit() {
    int64_t now = counter_->in_flight.load();
    do {
        if (limit_ > 0 && now >= limit_) return nullptr;
    } while (!counter_->in_flight.compare_exchange_weak(now, now + 1));
    return std::make_shared<ticket>(counter_);
}

}  // namespace actorlm::net
