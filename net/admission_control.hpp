// admission_control: bounds how many generation requests the server holds at once
// (running plus waiting in the engine), so that a burst beyond what the engine can work
// through is answered at once with 503 and Retry-After instead of queueing without
// limit and timing out later (SGLang's --max-queued-requests). Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace actorlm::net {

class admission_control {
    struct counter {
        std::atomic<int64_t> in_flight{0};
    };

public:
    /// Admits at most `limit` requests at once; `limit` <= 0 admits every request.
    explicit admission_control(int64_t limit);

    /// One admitted request's slot, given back when the ticket is destroyed.
    class ticket {
    public:
        explicit ticket(std::shared_ptr<counter> c) : counter_(std::move(c)) {}
        ~ticket() { --counter_->in_flight; }
        ticket(const ticket&) = delete;
        ticket& operator=(const ticket&) = delete;

    private:
        std::shared_ptr<counter> counter_;  // shared: a ticket may outlive the server's router
    };

    /// A slot, or null when `limit` requests hold one.
    std::shared_ptr<ticket> try_admit();
    int64_t limit() const { return limit_; }

private:
    int64_t limit_;
    std::shared_ptr<counter> counter_;
};

}  // namespace actorlm::net
