// architecture_registry: architectures added at run time (plugins) after the built-in table of
// architecture.cpp. Each is a new name over a built-in family's layout (architecture_info::arch
// of the base) with its own recipe; the table's lookups fall back to these. Entries are never
// removed, so returned pointers stay valid; registration and lookup are thread-safe. Register
// before the engine is built: a model loaded earlier does not see a later entry.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/architecture.hpp"

namespace actorlm {

/// Adds `a` (its strings are copied). Refused when its name or an HF model type is taken
/// (by the table or another registration) or the recipe asks for a feature no backend runs.
status register_architecture(const architecture_info& a);

/// The registered entry named `name` (GGUF), or null.
const architecture_info* find_registered_gguf_architecture(std::string_view name);
/// The registered entry and row for config.json's `model_type`, or nulls.
std::pair<const architecture_info*, const hf_model_type*> find_registered_hf_model_type(
    std::string_view model_type);
/// Registered names (GGUF) and HF model types, in registration order.
std::vector<std::string> registered_architecture_names();
std::vector<std::string> registered_hf_model_types();

}  // namespace actorlm
