// Names of model_config enums, for error messages, logs and the CLI, and the
// per-layer attention window. Pure functions; any thread.
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

int32_t layer_attention_window(const model_config& config, int64_t layer) {
    if (config.sliding_window <= 0) return 0;
    if (config.sliding_layers.empty()) return config.sliding_window;
    const auto i = static_cast<size_t>(layer);
    return i < config.sliding_layers.size() && config.sliding_layers[i] ? config.sliding_window
                                                                        : 0;
}

}  // namespace actorlm
