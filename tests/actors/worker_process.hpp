// Runs `actorlm worker --listen 127.0.0.1:PORT --model M` as a child process
// for the cross-process tests, and waits until it says it is listening; or, made
// by cluster_member(), `actorlm serve --cluster-listen 127.0.0.1:PORT` (an engine
// for `actorlm router` and the cluster tests), ready once it serves.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace actorlm::test {

class worker_process {
public:
    /// `netns`: run inside that network namespace (`ip netns exec`), listening on `host`.
    worker_process(std::string model, uint16_t port, std::string host = "127.0.0.1",
                   std::string netns = {})
        : model_(std::move(model)), port_(port), host_(std::move(host)), netns_(std::move(netns)) {}
    ~worker_process() { kill_now(); }
    /// An engine serving `model` on an ephemeral HTTP port, a cluster member on `port`.
    /// `netns`: in that network namespace, listening on `host`.
    static std::unique_ptr<worker_process> cluster_member(std::string model, uint16_t port,
                                                          std::string host = "127.0.0.1",
                                                          std::string netns = {}) {
        auto p = std::make_unique<worker_process>(std::move(model), port, std::move(host),
                                                  std::move(netns));
        p->cluster_member_ = true;
        return p;
    }
    /// More options for the child's command line (`serve` or `worker`, e.g. --tls-cert
    /// FILE); call before start().
    void add_args(std::vector<std::string> args) {
        extra_args_.insert(extra_args_.end(), args.begin(), args.end());
    }
    worker_process(const worker_process&) = delete;
    worker_process& operator=(const worker_process&) = delete;

    /// Starts the worker; true once it printed its "listening" line (10 s at most).
    bool start() {
        // The command line is built before fork: the child of a threaded test process
        // should not allocate.
        const std::string bin = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
        const std::string listen = address();
        std::vector<std::string> args;
        if (!netns_.empty()) args = {"ip", "netns", "exec", netns_};
        if (cluster_member_)
            args.insert(args.end(), {bin, "serve", "--cluster-listen", listen, "--model", model_,
                                     "--port", "0", "--threads", "1", "--kv-cache-memory-bytes",
                                     "16MiB"});
        else
            args.insert(args.end(), {bin, "worker", "--listen", listen, "--model", model_});
        args.insert(args.end(), extra_args_.begin(), extra_args_.end());
        std::vector<char*> argv;
        for (auto& a : args) argv.push_back(a.data());
        argv.push_back(nullptr);
        int out[2];
        if (pipe(out) != 0) return false;
        pid_ = fork();
        if (pid_ == 0) {
            // Die with the test: an orphaned worker would keep ctest's output pipe open.
            prctl(PR_SET_PDEATHSIG, SIGKILL);
            dup2(out[1], STDOUT_FILENO);
            if (cluster_member_) dup2(out[1], STDERR_FILENO);
            close(out[0]);
            close(out[1]);
            execvp(argv[0], argv.data());
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
                if (seen.find(cluster_member_ ? "on http://" : "listening") !=
                    std::string::npos) {
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
    bool cluster_member_ = false;
    std::vector<std::string> extra_args_;
    pid_t pid_ = -1;
};

/// A port range per test process so parallel ctest runs do not collide.
inline uint16_t test_port(int offset) {
    return static_cast<uint16_t>(21000 + (getpid() % 2000) * 8 + offset);
}

}  // namespace actorlm::test
