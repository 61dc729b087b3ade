// thread_pool: a job is size() static ranges handed out through an atomic
// counter. The submitter publishes job_/job_n_, resets next_range_ (release) and
// bumps generation_; every thread, the caller included, claims ranges until none
// is left, so a worker the OS has not scheduled yet costs nothing: the caller runs
// its range. The caller returns once done_ counts every range. Waiting is a short
// timed spin, then std::atomic::wait (futex), so an idle pool uses no CPU.
#include "cpu/thread_pool.hpp"

#include <chrono>

#include "cpu/simd.hpp"

namespace actorlm::cpu {
namespace {

// Spin this long before sleeping: bridges the gap between the kernels of one
// forward pass without burning a shared core for long.
constexpr auto k_spin_time = std::chrono::microseconds(50);

thread_local bool inside_pool_job = false;

// Spins until pred() or the spin time is over; returns pred().
template <class Pred>
bool spin_until(Pred pred) {
    if (pred()) return true;
    const auto deadline = std::chrono::steady_clock::now() + k_spin_time;
    for (;;) {
        for (int i = 0; i < 16; ++i) {
            _mm_pause();
            if (pred()) return true;
        }
        if (std::chrono::steady_clock::now() >= deadline) return pred();
    }
}

}  // namespace

thread_pool::thread_pool(int num_threads) {
    if (num_threads <= 0) num_threads = static_cast<int>(std::thread::hardware_concurrency());
    if (num_threads <= 0) num_threads = 1;
    num_threads_ = num_threads;
    workers_.reserve(static_cast<size_t>(num_threads_ - 1));
    for (int i = 1; i < num_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

thread_pool::~thread_pool() {
    stop_.store(true);
    generation_.fetch_add(1);
    generation_.notify_all();
    for (auto& t : workers_) t.join();
}

void thread_pool::run_ranges() {
    for (;;) {
        const int k = next_range_.fetch_add(1, std::memory_order_acq_rel);
        if (k >= num_threads_) return;
        // The claim succeeded, so job_ is the current job and stays alive until
        // done_ counts this range.
        const int64_t begin = job_n_ * k / num_threads_;
        const int64_t end = job_n_ * (k + 1) / num_threads_;
        if (begin < end) (*job_)(begin, end);
        if (done_.fetch_add(1) + 1 == num_threads_ && caller_sleeping_.load()) done_.notify_one();
    }
}

void thread_pool::worker_loop() {
    inside_pool_job = true;  // a nested parallel_for from a job runs inline
    // generation_ is 0 until the first job or the destructor bumps it; starting
    // from 0 (not a fresh load) means a bump before this thread ran is not missed.
    uint32_t seen = 0;
    for (;;) {
        if (!spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; })) {
            // seq_cst pairs with the submitter's bump-then-read of sleeping_workers_:
            // either it sees us sleeping and wakes us, or wait() sees the new value.
            sleeping_workers_.fetch_add(1);
            generation_.wait(seen);
            sleeping_workers_.fetch_sub(1);
        }
        seen = generation_.load(std::memory_order_acquire);
        if (stop_.load()) return;
        run_ranges();
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
    done_.store(0);
    next_range_.store(0, std::memory_order_release);
    generation_.fetch_add(1);
    if (sleeping_workers_.load() > 0) generation_.notify_all();

    inside_pool_job = true;
    run_ranges();
    inside_pool_job = false;

    if (!spin_until([&] { return done_.load(std::memory_order_acquire) == num_threads_; })) {
        caller_sleeping_.store(true);
        for (int d = done_.load(); d != num_threads_; d = done_.load()) done_.wait(d);
        caller_sleeping_.store(false);
    }
}

}  // namespace actorlm::cpu
