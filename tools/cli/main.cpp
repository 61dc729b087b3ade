// actorlm CLI entry point: dispatches `actorlm <command> [args]` to the
// registered subcommands (see command_registry.hpp); `actorlm bench <name>` is
// accepted for `actorlm bench-<name>`, as `vllm bench serve` users type it.
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
    std::string name = argv[1];
    int first_arg = 2;
    // `actorlm bench serve` (vLLM's spelling) is `actorlm bench-serve`, and so on.
    if (name == "bench" && argc >= 3 && argv[2][0] != '-') {
        name = "bench-" + std::string(argv[2]);
        first_arg = 3;
    }
    auto it = table.find(name);
    if (it == table.end()) {
        std::fprintf(stderr, "actorlm: unknown command '%s'\n\n", name.c_str());
        print_usage();
        return 1;
    }
    std::vector<std::string> args(argv + first_arg, argv + argc);
    return it->second.run(args);
}
