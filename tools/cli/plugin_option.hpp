// --plugin PATH: the one CLI option that loads plugins (docs/plugins.md). Its own file so
// the CUDA-only CLI (actorlm-gpu), which has no engine option groups, builds `version` too.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace actorlm::cli {

/// The --help group of the engine options, --plugin among them.
inline constexpr const char* k_engine_option_group = "Engine options";

/// Adds --plugin PATH (repeatable) into `plugins`; each is loaded when the option is
/// processed (plugins/plugin_loader.hpp). Part of add_engine_options.
void add_plugin_option(CLI::App& app, std::vector<std::string>& plugins);

}  // namespace actorlm::cli
