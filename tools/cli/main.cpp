// actorlm CLI entry point: dispatches `actorlm <command> [args]` to the
// registered subcommands (see command_registry.hpp).
#include <cstdio>
#include <string>
#include <vector>

#include "command_registry.hpp"

namespace actorlm::cli {

std::map<std::string, command>& command_table() {
    static std::map<std::string, command> table;
    return table;
}

}  // namespace actorlm::cli

static void print_usage() {
    std::fprintf(stderr, "usage: actorlm <command> [options]\n\ncommands:\n");
    for (const auto& [name, cmd] : actorlm::cli::command_table())
        std::fprintf(stderr, "  %-18s %s\n", name.c_str(), cmd.summary.c_str());
    std::fprintf(stderr, "\n`actorlm <command> --help` describes a command's options.\n");
}

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) == "--help" || std::string(argv[1]) == "-h") {
        print_usage();
        return argc < 2 ? 1 : 0;
    }
    auto& table = actorlm::cli::command_table();
    auto it = table.find(argv[1]);
    if (it == table.end()) {
        std::fprintf(stderr, "actorlm: unknown command '%s'\n\n", argv[1]);
        print_usage();
        return 1;
    }
    std::vector<std::string> args(argv + 2, argv + argc);
    return it->second.run(args);
}
