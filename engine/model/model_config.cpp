// The per-layer attention window of a model_config. Pure function; any thread.
// (model_arch_name is defined with the architecture table, architecture.cpp.)
#include "model/model_config.hpp"

namespace actorlm {

int32_t layer_attention_window(const model_config& config, int64_t layer) {
    if (config.sliding_window <= 0) return 0;
    if (config.sliding_layers.empty()) return config.sliding_window;
    const auto i = static_cast<size_t>(layer);
    return i < config.sliding_layers.size() && config.sliding_layers[i] ? config.sliding_window : 0;
}

}  // namespace actorlm
