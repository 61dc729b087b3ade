// --plugin PATH (plugin_option.hpp).
#include "plugin_option.hpp"

#include "plugins/plugin_loader.hpp"

namespace actorlm::cli {

void add_plugin_option(CLI::App& app, std::vector<std::string>& plugins) {
    app.add_option("--plugin", plugins,
                   "plugin shared library, loaded at start (repeatable; also the "
                   "ACTORLM_PLUGINS environment variable, ':'-separated; docs/plugins.md)")
        ->type_name("PATH")
        ->group(k_engine_option_group)
        ->check(CLI::Validator(
            [](std::string& path) -> std::string {
                auto loaded = actorlm::plugins::load_plugin(path);
                return loaded ? std::string() : loaded.message();
            },
            ""));
}

}  // namespace actorlm::cli
