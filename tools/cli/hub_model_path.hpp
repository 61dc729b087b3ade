// hub_model_path: the CLI's one step between parsing and engine::create that turns a
// --model naming a Hugging Face Hub repository (ORG/NAME[:QUANT], not an existing local
// path) into the local copy net/hub downloads or finds in the cache, with the progress
// on stderr (a bar on a terminal, periodic lines otherwise). Every command that takes
// --model calls it first.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

#include <actorlm/engine.hpp>

namespace actorlm::cli {

/// The Hub revision a command's --model ORG/NAME is resolved at (vLLM's --revision).
struct hub_revision {
    std::string name = "main";  ///< a branch, a tag or a 40-digit commit
};

/// Adds --revision to a command that takes --model, bound to `revision`.
void add_revision_option(CLI::App& app, hub_revision& revision);

/// Rewrites cfg.model_path to the local file or folder when it names a Hub repository,
/// and defaults cfg.served_model_name to that name. A path that exists is left alone.
/// False after printing the reason, prefixed by `command`.
bool resolve_hub_model_path(engine_config& cfg, const hub_revision& revision, const char* command);

}  // namespace actorlm::cli
