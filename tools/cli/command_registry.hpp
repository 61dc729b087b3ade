// Subcommand registry of the `actorlm` CLI. Each tools/cli/<name>.cpp registers
// one subcommand with a static command_registration, so adding a command never
// touches main.cpp. A command only declares its options on a CLI11 app and
// returns what runs after they parsed: main.cpp owns parsing, `--help` (stdout,
// exit 0) and every parse error (stderr message naming the option, exit 2).
// Each command file keeps its options and helpers in a namespace named after the
// command (`generate_command`), not an anonymous one: the CLI is compiled as a unity
// build (ACTORLM_UNITY_BUILD), where file-local names of different commands would collide.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace actorlm::cli {

/// Runs a command whose options parsed; returns the process exit status
/// (0 ok, 1 the work failed, 2 a usage error found only after parsing).
using command_action = std::function<int()>;

/// Declares a command's options on `app`, binding them to state that the
/// returned action owns (e.g. a shared_ptr it captures). Called once, before parsing.
using command_setup = std::function<command_action(CLI::App& app)>;

struct command {
    std::string summary;
    command_setup setup;
};

/// Every registered command by name (filled by static registrations before main).
std::map<std::string, command>& command_table();

struct command_registration {
    command_registration(const std::string& name, std::string summary, command_setup setup) {
        command_table()[name] = command{std::move(summary), std::move(setup)};
    }
};

/// The exit status of a usage error (bad or unknown option, malformed value).
inline constexpr int k_usage_error = 2;

}  // namespace actorlm::cli
