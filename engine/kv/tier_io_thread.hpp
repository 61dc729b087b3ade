// tier_io_thread: the one thread a KV tier runs its copies on, jobs in submission
// order (a load queued after a save of the same block sees it). Thread-safe:
// submit() and flush() may be called from any thread; the jobs themselves run only
// on the owned thread. The destructor finishes every queued job before joining.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace actorlm::kv {

class tier_io_thread {
public:
    tier_io_thread();
    /// Runs the jobs still queued, then joins.
    ~tier_io_thread();
    tier_io_thread(const tier_io_thread&) = delete;
    tier_io_thread& operator=(const tier_io_thread&) = delete;

    /// Queues `job` behind the ones already queued.
    void submit(std::function<void()> job);
    /// Blocks until every job queued before and during the call has run.
    void flush();

private:
    void run();

    std::mutex mu_;
    std::condition_variable cv_;       // a job was queued, or stop
    std::condition_variable idle_cv_;  // the queue drained
    std::deque<std::function<void()>> jobs_;
    bool busy_ = false;
    bool stop_ = false;
    std::thread thread_;  // last: starts once the members above exist
};

}  // namespace actorlm::kv
