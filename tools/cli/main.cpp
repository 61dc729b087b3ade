// actorlm CLI entry point: dispatches `actorlm <command> [args]` to the
// registered subcommands (see command_registry.hpp) and parses every command's
// options the same way: `--help` prints to stdout and exits 0; an unknown
// option or a malformed value prints a message naming the option to stderr and
// exits 2. `actorlm bench <name>` is accepted for `actorlm bench-<name>`, as
// `vllm bench serve` users type it.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "command_registry.hpp"

namespace actorlm::cli {

std::map<std::string, command>& command_table() {
    static std::map<std::string, command> table;
    return table;
}

}  // namespace actorlm::cli

namespace {

using namespace actorlm::cli;

void print_usage(std::FILE* out) {
    std::fprintf(out, "usage: actorlm <command> [options]\n\ncommands:\n");
    for (const auto& [name, cmd] : command_table())
        std::fprintf(out, "  %-18s %s\n", name.c_str(), cmd.summary.c_str());
    std::fprintf(out, "\n`actorlm <command> --help` describes a command's options.\n");
}

// The first argument that looks like an option but names none of `app`'s, or "".
// CLI11 reports a missing required option before an unknown one; the unknown
// one is usually the cause (a misspelt or renamed flag), so it is named first.
std::string first_unknown_option(const CLI::App& app, const std::vector<std::string>& args) {
    for (const std::string& arg : args) {
        if (arg == "--") break;
        if (arg.size() < 2 || arg[0] != '-') continue;
        char* end = nullptr;
        std::strtod(arg.c_str(), &end);
        if (*end == '\0') continue;  // a negative number is a value
        const std::string name = arg.substr(0, arg.find('='));
        if (name.rfind("--", 0) != 0 && name.size() > 2) continue;  // -abc: stacked short flags
        if (app.get_option_no_throw(name) == nullptr) return name;
    }
    return {};
}

int run_command(const std::string& name, const command& cmd, std::vector<std::string> args) {
    CLI::App app{cmd.summary, "actorlm " + name};
    command_action action = cmd.setup(app);
    const std::vector<std::string> given = args;
    try {
        // CLI11 takes the arguments last-first.
        std::reverse(args.begin(), args.end());
        app.parse(args);
    } catch (const CLI::ParseError& e) {
        // Help goes to stdout with status 0; every other parse error is a usage
        // error (CLI11's own codes, 100+, would read as a crash to scripts).
        if (e.get_exit_code() == 0) return app.exit(e);
        const std::string unknown = first_unknown_option(app, given);
        if (!unknown.empty())
            return app.exit(CLI::ExtrasError(std::vector<std::string>{unknown})) == 0
                       ? 0
                       : k_usage_error;
        app.exit(e);
        return k_usage_error;
    }
    return action();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        print_usage(stderr);
        return k_usage_error;
    }
    const std::string first = argv[1];
    if (first == "--help" || first == "-h") {
        print_usage(stdout);
        return 0;
    }
    auto& table = command_table();
    std::string name = first;
    int first_arg = 2;
    // `actorlm bench serve` (vLLM's spelling) is `actorlm bench-serve`, and so on.
    if (name == "bench" && argc >= 3 && argv[2][0] != '-') {
        name = "bench-" + std::string(argv[2]);
        first_arg = 3;
    }
    auto it = table.find(name);
    if (it == table.end()) {
        std::fprintf(stderr, "actorlm: unknown command '%s'\n\n", name.c_str());
        print_usage(stderr);
        return k_usage_error;
    }
    return run_command(name, it->second, std::vector<std::string>(argv + first_arg, argv + argc));
}
