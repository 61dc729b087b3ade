// Runs `actorlm worker --listen 127.0.0.1:PORT --model M` as a child process
// for the cross-process tests, and waits until it says it is listening.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

namespace actorlm::test {

class worker_process {
public:
    /// `netns`: run inside that network namespace (`ip netns exec`), listening on `host`.
    worker_process(std::string model, uint16_t port, std::string host = "127.0.0.1",
                   std::string netns = {})
        : model_(std::move(model)), port_(port), host_(std::move(host)), netns_(std::move(netns)) {}
    ~worker_process() { kill_now(); }
    worker_process(const worker_process&) = delete;
    worker_process& operator=(const worker_process&) = delete;

    /// Starts the worker; true once it printed its "listening" line (10 s at most).
    bool start() {
        int out[2];
        if (pipe(out) != 0) return false;
        pid_ = fork();
        if (pid_ == 0) {
            // Die with the test: an orphaned worker would keep ctest's output pipe open.
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            dup2(out[1], STDOUT_FILENO);
            close(out[0]);
            close(out[1]);
            std::string bin = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
            std::string listen = address();
            if (netns_.empty())
                execl(bin.c_str(), bin.c_str(), "worker", "--listen", listen.c_str(), "--model",
                      model_.c_str(), static_cast<char*>(nullptr));
            else
                execlp("ip", "ip", "netns", "exec", netns_.c_str(), bin.c_str(), "worker",
                       "--listen", listen.c_str(), "--model", model_.c_str(),
                       static_cast<char*>(nullptr));
            _exit(127);
        }
        close(out[1]);
        std::string seen;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (std::chrono::steady_clock::now() < deadline) {
            pollfd p{out[0], POLLIN, 0};
            if (poll(&p, 1, 100) > 0) {
                char buf[256];
                ssize_t n = read(out[0], buf, sizeof(buf));
                if (n <= 0) break;
                seen.append(buf, static_cast<size_t>(n));
                if (seen.find("listening") != std::string::npos) {
                    close(out[0]);
                    return true;
                }
            }
        }
        close(out[0]);
        return false;
    }
    void signal(int sig) {
        if (pid_ > 0) ::kill(pid_, sig);
    }
    void kill_now() {
        if (pid_ <= 0) return;
        ::kill(pid_, SIGCONT);
        ::kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
    }
    std::string address() const { return host_ + ":" + std::to_string(port_); }

private:
    std::string model_;
    uint16_t port_;
    std::string host_;
    std::string netns_;
    pid_t pid_ = -1;
};

/// A port range per test process so parallel ctest runs do not collide.
inline uint16_t test_port(int offset) {
    return static_cast<uint16_t>(21000 + (getpid() % 2000) * 8 + offset);
}

}  // namespace actorlm::test
