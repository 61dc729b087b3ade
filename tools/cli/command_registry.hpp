// Subcommand registry of the `actorlm` CLI. Each tools/cli/<name>.cpp registers
// one subcommand with a static command_registration, so adding a command never
// touches main.cpp.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace actorlm::cli {

using command_fn = std::function<int(const std::vector<std::string>& args)>;

struct command {
    std::string summary;
    command_fn run;
};

std::map<std::string, command>& command_table();

struct command_registration {
    command_registration(const std::string& name, std::string summary, command_fn fn) {
        command_table()[name] = command{std::move(summary), std::move(fn)};
    }
};

}  // namespace actorlm::cli
