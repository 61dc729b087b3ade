// thread_pool: persistent worker threads for the CPU kernels. parallel_for
// splits [0, n) into size() fixed contiguous ranges which the caller and the
// workers claim one by one (a descheduled worker's range is run by whoever is
// free). Workers spin briefly for the next job, then sleep on a futex, so
// back-to-back calls (hundreds per decode step) cost about a µs each.
// One job at a time: concurrent callers are serialized; a nested call runs inline.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace actorlm::cpu {

class thread_pool {
public:
    /// Starts num_threads - 1 workers (the caller is the last thread);
    /// 0 means one thread per hardware thread.
    explicit thread_pool(int num_threads);
    /// Stops and joins the workers; no parallel_for may be running.
    ~thread_pool();
    thread_pool(const thread_pool&) = delete;
    thread_pool& operator=(const thread_pool&) = delete;

    /// Threads that run a job, the caller included.
    int size() const { return num_threads_; }

    /// Calls fn(begin, end) once for each non-empty range [n*k/size, n*(k+1)/size),
    /// k < size(), on some pool thread (usually range k on thread k). Returns when
    /// all ranges are done. fn must not throw. Callable from any thread.
    void parallel_for(int64_t n, const std::function<void(int64_t begin, int64_t end)>& fn);

private:
    void worker_loop();
    void run_ranges();

    int num_threads_;
    std::vector<std::thread> workers_;
    std::mutex submit_mutex_;  // one job at a time
    const std::function<void(int64_t, int64_t)>* job_ = nullptr;
    int64_t job_n_ = 0;
    alignas(64) std::atomic<uint32_t> generation_{0};  // bumped per job; workers wait on it
    alignas(64) std::atomic<int> next_range_{0};       // next range index to claim
    alignas(64) std::atomic<int> done_{0};             // ranges finished
    std::atomic<int> sleeping_workers_{0};             // futex wake only when someone sleeps
    std::atomic<bool> caller_sleeping_{false};
    std::atomic<bool> stop_{false};
};

}  // namespace actorlm::cpu
