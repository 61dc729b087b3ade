// socket_workers implementation. A worker's socket is registered under the lock once
// opened, so stop() can shut it down; a worker opened after stop() began finds
// stopping_ set and ends before its work.
#include "kv/socket_workers.hpp"


namespace actorlm::kv {

bool socket_workers::run(std::function<tcp_socket()> open,
                         std::function<void(const tcp_socket&)> work) {
    std::lock_guard lock(mu_);
    reap_finished();
    if (stopping_ || workers_.size() >= max_threads_) return false;
    auto w = std::make_unique<worker>();
    worker* self = w.get();
    w->thread = std::thread([this, self, open = std::move(open), work = std::move(work)] {
        tcp_socket s = open();
        int fd = -1;
        {
            std::lock_guard registered(mu_);
            if (!stopping_ && s.valid()) {
                self->socket = std::move(s);
                fd = self->socket.fd();
            }
        }
        // Only stop() shuts the registered socket down, and it never closes it: the
        // descriptor stays valid until the worker is joined.
        if (fd >= 0) work(self->socket);
        self->finished = true;
    });
    workers_.push_back(std::move(w));
    return true;
}

void socket_workers::reap_finished() {
    for (auto it = workers_.begin(); it != workers_.end();) {
        if ((*it)->finished) {
            (*it)->thread.join();
            it = workers_.erase(it);
        } else {
            ++it;
        }
    }
}

void socket_workers::stop() {
    std::list<std::unique_ptr<worker>> all;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
        for (auto& w : workers_) w->socket.shut_down();
        all = std::move(workers_);
    }
    for (auto& w : all) w->thread.join();
}

}  // namespace actorlm::kv
