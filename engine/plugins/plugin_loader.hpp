// plugin_loader: loads plugin shared libraries (vLLM's load_general_plugins) through their one
// versioned entry point (include/actorlm/plugin.h) and keeps what they registered: logits
// processors and stat loggers here, architectures and KV connectors in their own registries.
// A plugin is loaded at most once per process (by its canonical path); loading is all or
// nothing: a plugin refused (missing file, no entry point, another API version, a failed
// registration) registers nothing and stays unloaded. Thread-safe; plugins are never unloaded.
#pragma once

#include <actorlm/plugin.h>

#include <string>
#include <vector>

#include "base/result.hpp"

namespace actorlm::plugins {

/// The environment variable of plugin paths, ':'-separated.
inline constexpr const char* k_plugins_env = "ACTORLM_PLUGINS";

/// One loaded plugin and what it registered ("logits_processor:NAME", ...).
struct loaded_plugin {
    std::string path;  ///< canonical
    std::vector<std::string> registered;
};

/// Loads `path` unless it is loaded already. Errors name the file and the reason.
status load_plugin(const std::string& path);

/// Loads each of `paths`, then those of ACTORLM_PLUGINS; stops at the first refusal.
status load_plugins(const std::vector<std::string>& paths);

/// ACTORLM_PLUGINS split at ':' (empty parts skipped).
std::vector<std::string> plugin_paths_from_env();

/// The loaded plugins in load order.
std::vector<loaded_plugin> loaded_plugins();

/// "none" or "PATH (logits_processor:x, stat_logger:y); ..." for logs and `actorlm version`.
std::string describe_loaded_plugins();

/// What plugins registered, in registration order (copies; the names stay valid forever).
std::vector<actorlm_logits_processor_v1> registered_logits_processors();
std::vector<actorlm_stat_logger_v1> registered_stat_loggers();

/// The host's build identity for the C++ tier (register_kv_connector_cxx).
const char* host_build_id();

}  // namespace actorlm::plugins
