// `actorlm version`: prints the version and the compiled-in backends.
#include <cstdio>

#include "command_registry.hpp"

namespace version_command {

int run_version() {
#ifdef ACTORLM_WITH_CUDA
    const char* cuda = "yes";
#else
    const char* cuda = "no";
#endif
    std::printf("actorlm 0.1.0 (cuda backend: %s)\n", cuda);
    return 0;
}

actorlm::cli::command_registration reg("version", "print the version and backends",
                                       [](CLI::App&) -> actorlm::cli::command_action {
                                           return run_version;
                                       });

}  // namespace version_command
