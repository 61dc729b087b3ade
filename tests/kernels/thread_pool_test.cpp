// thread_pool: every index of [0, n) runs exactly once, on the contiguous
// ranges the header promises, for any n and pool size; nested and concurrent
// callers neither deadlock nor lose work.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "cpu/thread_pool.hpp"

using actorlm::cpu::thread_pool;

TEST_CASE("thread_pool_covers_every_index_once") {
    for (int threads : {1, 2, 3, 5}) {
        thread_pool pool(threads);
        CHECK(pool.size() == threads);
        for (int64_t n : {0, 1, 2, 3, 7, 64, 1000}) {
            std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
            pool.parallel_for(n, [&](int64_t b, int64_t e) {
                CHECK(b < e);
                for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)].fetch_add(1);
            });
            for (int64_t i = 0; i < n; ++i) REQUIRE(hits[static_cast<size_t>(i)].load() == 1);
        }
    }
}

TEST_CASE("thread_pool_static_contiguous_partition") {
    thread_pool pool(3);
    std::vector<std::pair<int64_t, int64_t>> ranges(3, {-1, -1});
    std::atomic<int> calls{0};
    pool.parallel_for(10, [&](int64_t b, int64_t e) {
        // Range i starts at 10*i/3: the index is recoverable from the start.
        const int i = b == 0 ? 0 : (b == 3 ? 1 : 2);
        ranges[static_cast<size_t>(i)] = {b, e};
        calls.fetch_add(1);
    });
    CHECK(calls.load() == 3);
    CHECK(ranges[0] == std::pair<int64_t, int64_t>{0, 3});
    CHECK(ranges[1] == std::pair<int64_t, int64_t>{3, 6});
    CHECK(ranges[2] == std::pair<int64_t, int64_t>{6, 10});
}

TEST_CASE("thread_pool_zero_means_hardware_threads") {
    thread_pool pool(0);
    CHECK(pool.size() >= 1);
}

TEST_CASE("thread_pool_many_back_to_back_jobs") {
    thread_pool pool(2);
    std::atomic<int64_t> total{0};
    for (int round = 0; round < 20000; ++round) {
        pool.parallel_for(4, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    }
    CHECK(total.load() == 4 * 20000);
}

TEST_CASE("thread_pool_nested_call_runs_inline") {
    thread_pool pool(2);
    std::atomic<int64_t> total{0};
    pool.parallel_for(2, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
            pool.parallel_for(5, [&](int64_t b2, int64_t e2) { total.fetch_add(e2 - b2); });
    });
    CHECK(total.load() == 10);
}

TEST_CASE("thread_pool_concurrent_callers_are_serialized") {
    thread_pool pool(2);
    std::atomic<int64_t> total{0};
    auto caller = [&] {
        for (int i = 0; i < 2000; ++i)
            pool.parallel_for(8, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    };
    std::thread a(caller), b(caller);
    a.join();
    b.join();
    CHECK(total.load() == 2 * 2000 * 8);
}

TEST_CASE("thread_pool_workers_sleep_and_wake") {
    thread_pool pool(2);
    std::atomic<int64_t> total{0};
    for (int i = 0; i < 3; ++i) {
        // Long enough for the workers to stop spinning and sleep on the futex.
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        pool.parallel_for(2, [&](int64_t b, int64_t e) { total.fetch_add(e - b); });
    }
    CHECK(total.load() == 6);
}
