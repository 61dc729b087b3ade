// `actorlm version`: prints the version, the compiled-in backends and the loaded plugins
// (--plugin and ACTORLM_PLUGINS; docs/plugins.md).
#include <cstdio>

#include <actorlm/plugin.h>

#include "command_registry.hpp"
#include "plugin_option.hpp"
#include "plugins/plugin_loader.hpp"

namespace version_command {

int run_version() {
#ifdef ACTORLM_WITH_CUDA
    const char* cuda = "yes";
#else
    const char* cuda = "no";
#endif
    std::printf("actorlm 0.1.0 (cuda backend: %s)\n", cuda);
    if (auto env = actorlm::plugins::load_plugins({}); !env) {
        std::fprintf(stderr, "actorlm version: %s\n", env.message().c_str());
        return 1;
    }
    std::printf("plugin API version: %u\n", ACTORLM_PLUGIN_API_VERSION);
    std::printf("plugins: %s\n", actorlm::plugins::describe_loaded_plugins().c_str());
    return 0;
}

actorlm::cli::command_registration reg("version", "print the version, backends and plugins",
                                       [](CLI::App& app) -> actorlm::cli::command_action {
                                           static std::vector<std::string> plugins;
                                           actorlm::cli::add_plugin_option(app, plugins);
                                           return run_version;
                                       });

}  // namespace version_command
