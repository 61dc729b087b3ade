// socket_workers: a bounded set of threads, each serving one TCP connection of the
// KV byte stream (a producer's sender, a consumer's receiver). stop() shuts every
// live socket down, so a thread blocked on a stalled peer returns at once, and joins
// them all: no thread outlives its owner, and none touches a cache after it is gone.
// Thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include "kv/tcp_stream.hpp"

namespace actorlm::kv {

class socket_workers {
public:
    explicit socket_workers(size_t max_threads) : max_threads_(max_threads) {}
    ~socket_workers() { stop(); }
    socket_workers(const socket_workers&) = delete;
    socket_workers& operator=(const socket_workers&) = delete;

    /// On a new thread: `open()` (an invalid socket ends it), then `work(socket)`.
    /// False, running nothing, when max_threads are busy or it is stopping.
    bool run(std::function<tcp_socket()> open, std::function<void(const tcp_socket&)> work);
    /// Ends every connection and joins the threads; later runs are refused.
    void stop();

private:
    struct worker {
        tcp_socket socket;  // set once open() returned, guarded by mu_
        std::thread thread;
        std::atomic<bool> finished{false};
    };
    void reap_finished();  // with mu_ held

    const size_t max_threads_;
    std::mutex mu_;
    std::list<std::unique_ptr<worker>> workers_;
    bool stopping_ = false;
};

}  // namespace actorlm::kv
