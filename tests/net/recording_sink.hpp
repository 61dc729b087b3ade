// recording_sink: a response_sink that records what a handler sends, for router
// tests without sockets. post() runs tasks on the caller's thread under a lock
// (standing in for the strand); wait_done() blocks until the exchange ended.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <vector>

#include "net/response_sink.hpp"

namespace actorlm::test {

class recording_sink final : public net::response_sink {
public:
    void post(std::function<void()> fn) override {
        std::lock_guard strand(strand_);
        fn();
    }
    using net::response_sink::send;
    void send(int s, std::string_view ct, std::string b, std::string_view extra) override {
        std::lock_guard lock(mu_);
        status = s;
        extra_headers = std::string(extra);
        content_type = std::string(ct);
        body = std::move(b);
        done = true;
        disconnect_fn = nullptr;  // as the session: the hook ends with the exchange
        cv_.notify_all();
    }
    void start_stream(std::string_view ct) override {
        std::lock_guard lock(mu_);
        status = 200;
        content_type = std::string(ct);
        streamed = true;
    }
    void write(std::string data) override {
        std::lock_guard lock(mu_);
        body += data;
    }
    void end_stream() override {
        std::lock_guard lock(mu_);
        done = true;
        disconnect_fn = nullptr;
        cv_.notify_all();
    }
    void on_disconnect(std::function<void()> fn) override {
        std::lock_guard lock(mu_);
        disconnect_fn = std::move(fn);
    }
    bool disconnected() const override { return false; }

    /// Blocks until send() or end_stream(); false after `timeout`.
    bool wait_done(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [this] { return done; });
    }
    /// Simulates the client hanging up: runs the handler's disconnect callback.
    void hang_up() {
        std::function<void()> fn;
        {
            std::lock_guard lock(mu_);
            fn = disconnect_fn;
        }
        std::lock_guard strand(strand_);
        if (fn) fn();
    }

    int status = 0;
    std::string content_type;
    std::string body;
    std::string extra_headers;  // header lines beyond the framing (Retry-After)
    bool streamed = false;
    bool done = false;
    std::function<void()> disconnect_fn;

private:
    std::recursive_mutex strand_;
    std::mutex mu_;
    std::condition_variable cv_;
};

}  // namespace actorlm::test
