// tier_io_thread implementation: a deque under one mutex; busy_ covers the job
// being run so flush() does not return while it is still copying.
#include "kv/tier_io_thread.hpp"

namespace actorlm::kv {

tier_io_thread::tier_io_thread() : thread_([this] { run(); }) {}

tier_io_thread::~tier_io_thread() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void tier_io_thread::submit(std::function<void()> job) {
    {
        std::lock_guard lock(mu_);
        jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
}

void tier_io_thread::flush() {
    std::unique_lock lock(mu_);
    idle_cv_.wait(lock, [&] { return jobs_.empty() && !busy_; });
}

void tier_io_thread::run() {
    for (;;) {
        std::function<void()> job;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stop_ || !jobs_.empty(); });
            if (jobs_.empty()) return;  // stopping, and everything queued has run
            job = std::move(jobs_.front());
            jobs_.pop_front();
            busy_ = true;
        }
        job();
        {
            std::lock_guard lock(mu_);
            busy_ = false;
        }
        idle_cv_.notify_all();
    }
}

}  // namespace actorlm::kv
