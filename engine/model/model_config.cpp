// Names of model_config enums, for error messages, logs and the CLI.
// Pure functions over constant strings; any thread.
// Invariant: every model_arch value has a name (the switch is exhaustive).
#include "model/model_config.hpp"

namespace actorlm {

const char* model_arch_name(model_arch a) {
    switch (a) {
        case model_arch::llama: return "llama";
        case model_arch::qwen2: return "qwen2";
        case model_arch::qwen3: return "qwen3";
    }
    return "?";
}

}  // namespace actorlm
