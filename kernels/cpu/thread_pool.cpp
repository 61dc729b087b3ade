// thread_pool: job hand-off through a generation counter. The submitter
// publishes job_/job_n_, then bumps generation_ (release); a worker that sees a
// new generation (acquire) runs its range and decrements pending_. Waiting is a
// short spin followed by std::atomic::wait (futex), so idle pools use no CPU.
#include "cpu/thread_pool.hpp"

#include <immintrin.h>

namespace actorlm::cpu {
namespace {

// About 20-50 µs of spinning before sleeping: long enough to bridge the gap
// between kernels of one forward pass, short enough not to burn a shared core.
constexpr int k_spin_iterations = 20000;

thread_local bool inside_pool_job = false;

inline void cpu_relax() { _mm_pause(); }

}  // namespace

thread_pool::thread_pool(int num_threads) {
    if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
    num_threads_ = num_threads;
    workers_.reserve(static_cast<size_t>(num_threads_ - 1));
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

thread_pool::~thread_pool() {
    stop_.store(true, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
}

void thread_pool::run_range(int index) {
    const int64_t begin = job_n_ * index / num_threads_;
    const int64_t end = job_n_ * (index + 1) / num_threads_;
    if (begin < end) (*job_)(begin, end);
}

void thread_pool::worker_loop(int index) {
    inside_pool_job = true;  // a nested parallel_for from a job runs inline
    uint32_t seen = 0;
    for (;;) {
        uint32_t gen = generation_.load(std::memory_order_acquire);
        for (int spin = 0; gen == seen && spin < k_spin_iterations; ++spin) {
            cpu_relax();
            gen = generation_.load(std::memory_order_acquire);
        }
        while (gen == seen) {
            // seq_cst pairs with the submitter's bump-then-read of sleeping_workers_:
            // either it sees us sleeping and wakes us, or wait() sees the new value.
            sleeping_workers_.fetch_add(1);
            generation_.wait(seen);
            sleeping_workers_.fetch_sub(1);
            gen = generation_.load(std::memory_order_acquire);
        }
        seen = gen;
        if (stop_.load(std::memory_order_relaxed)) return;
        run_range(index);
        if (pending_.fetch_sub(1) == 1 && caller_sleeping_.load()) pending_.notify_one();
    }
}

void thread_pool::parallel_for(int64_t n,
                               const std::function<void(int64_t begin, int64_t end)>& fn) {
    if (n <= 0) return;
    if (num_threads_ == 1 || n == 1 || inside_pool_job) {
        fn(0, n);
        return;
    }
    std::lock_guard lock(submit_mutex_);
    job_ = &fn;
    job_n_ = n;
    pending_.store(num_threads_ - 1, std::memory_order_relaxed);
    generation_.fetch_add(1);
    if (sleeping_workers_.load() > 0) generation_.notify_all();

    inside_pool_job = true;
    run_range(0);
    inside_pool_job = false;

    int left = pending_.load(std::memory_order_acquire);
    for (int spin = 0; left != 0 && spin < k_spin_iterations; ++spin) {
        cpu_relax();
        left = pending_.load(std::memory_order_acquire);
    }
    if (left != 0) {
        caller_sleeping_.store(true);
        while ((left = pending_.load()) != 0) pending_.wait(left);
        caller_sleeping_.store(false);
    }
    job_ = nullptr;
}

}  // namespace actorlm::cpu
