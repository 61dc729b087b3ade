// tmux_session: a terminal program driven as a user drives it, for the CLI tests:
// a detached tmux session running one command, keys sent with send-keys, the screen
// read with capture-pane (which trims trailing spaces). Killed on destruction.
#pragma once

#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/shell.hpp"

namespace actorlm::test {

class tmux_session {
public:
    static bool available() { return std::system("command -v tmux >/dev/null 2>&1") == 0; }

    explicit tmux_session(const std::string& command, const std::string& tag = "s")
        : name_("actorlm_" + tag + "_" + std::to_string(getpid())) {
        std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str());
        REQUIRE(std::system(("tmux new-session -d -s " + name_ + " -x 160 -y 60 '" + command +
                             "'").c_str()) == 0);
    }
    ~tmux_session() { std::system(("tmux kill-session -t " + name_ + " 2>/dev/null").c_str()); }
    tmux_session(const tmux_session&) = delete;
    tmux_session& operator=(const tmux_session&) = delete;

    /// tmux send-keys arguments: quoted text and key names ("'hi' Enter", "C-c").
    void keys(const std::string& keys) {
        REQUIRE(std::system(("tmux send-keys -t " + name_ + " " + keys).c_str()) == 0);
    }
    std::string screen() const {
        return run_shell("tmux capture-pane -p -S -200 -t " + name_).output;
    }
    bool alive() const {
        return std::system(("tmux has-session -t " + name_ + " 2>/dev/null").c_str()) == 0;
    }
    /// Waits up to `seconds` for `text` to be on the screen `times` times.
    bool wait_for(const std::string& text, int times = 1, double seconds = 20) const {
        const auto until = std::chrono::steady_clock::now() +
                           std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
        while (std::chrono::steady_clock::now() < until) {
            const std::string s = screen();
            int found = 0;
            for (size_t at = s.find(text); at != std::string::npos; at = s.find(text, at + 1))
                ++found;
            if (found >= times) return true;
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
        return false;
    }
    /// Waits up to `seconds` for the program to exit.
    bool wait_exit(double seconds = 5) const {
        for (int i = 0; i < static_cast<int>(seconds * 20) && alive(); ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return !alive();
    }

private:
    std::string name_;
};

}  // namespace actorlm::test
