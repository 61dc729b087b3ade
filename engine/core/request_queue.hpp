// request_queue: the waiting queue under a scheduling policy (vLLM's
// request_queue.py). Policies are values: fcfs_queue (arrival order; preempted
// requests return to the front) and priority_queue (lowest priority value first,
// then earliest arrival). waiting_queue holds one of them in a std::variant.
// Single-threaded (owned by scheduler). Holds non-owning request pointers.
#pragma once

#include <deque>
#include <set>
#include <variant>

#include "core/request.hpp"

namespace actorlm::core {

enum class scheduling_policy { fcfs, priority };

/// First come, first served.
class fcfs_queue {
public:
    void push(request* r) { q_.push_back(r); }
    /// A preempted request goes back to the front: it arrived before anything waiting.
    void push_front(request* r) { q_.push_front(r); }
    request* peek() const { return q_.front(); }
    request* pop() {
        request* r = q_.front();
        q_.pop_front();
        return r;
    }
    bool remove(request* r);
    bool empty() const { return q_.empty(); }
    size_t size() const { return q_.size(); }

private:
    std::deque<request*> q_;
};

/// Lowest (priority, arrival_time, admission order) first.
class priority_queue {
public:
    void push(request* r) { q_.insert(entry{r->priority(), r->arrival_time(), next_seq_++, r}); }
    /// Order is by key; a preempted request's key (unchanged) puts it back where it was.
    void push_front(request* r) { push(r); }
    request* peek() const { return q_.begin()->req; }
    request* pop() {
        request* r = q_.begin()->req;
        q_.erase(q_.begin());
        return r;
    }
    bool remove(request* r);
    bool empty() const { return q_.empty(); }
    size_t size() const { return q_.size(); }

private:
    struct entry {
        int32_t priority;
        double arrival;
        uint64_t seq;
        request* req;
        bool operator<(const entry& o) const {
            if (priority != o.priority) return priority < o.priority;
            if (arrival != o.arrival) return arrival < o.arrival;
            return seq < o.seq;
        }
    };
    std::set<entry> q_;
    uint64_t next_seq_ = 0;
};

/// The waiting queue: one policy value; every call dispatches to it.
class waiting_queue {
public:
    explicit waiting_queue(scheduling_policy p);
    void push(request* r) {
        std::visit([&](auto& q) { q.push(r); }, q_);
    }
    void push_front(request* r) {
        std::visit([&](auto& q) { q.push_front(r); }, q_);
    }
    request* peek() const {
        return std::visit([](const auto& q) { return q.peek(); }, q_);
    }
    request* pop() {
        return std::visit([](auto& q) { return q.pop(); }, q_);
    }
    bool remove(request* r) {
        return std::visit([&](auto& q) { return q.remove(r); }, q_);
    }
    bool empty() const {
        return std::visit([](const auto& q) { return q.empty(); }, q_);
    }
    size_t size() const {
        return std::visit([](const auto& q) { return q.size(); }, q_);
    }

private:
    std::variant<fcfs_queue, priority_queue> q_;
};

}  // namespace actorlm::core
