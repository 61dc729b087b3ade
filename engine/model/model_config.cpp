// The per-layer attention window and the M-RoPE check of a model_config. Pure functions;
// any thread.
// (model_arch_name is defined with the architecture table, architecture.cpp.)
#include "model/model_config.hpp"

#include <string>

namespace actorlm {

int32_t layer_attention_window(const model_config& config, int64_t layer) {
    if (config.sliding_window <= 0) return 0;
    if (config.sliding_layers.empty()) return config.sliding_window;
    const auto i = static_cast<size_t>(layer);
    return i < config.sliding_layers.size() && config.sliding_layers[i] ? config.sliding_window : 0;
}

status check_mrope_section(const model_config& config) {
    const auto& s = config.mrope_section;
    if (s.empty()) return status::success();
    std::string list;
    int64_t sum = 0;
    for (int32_t v : s) {
        list += (list.empty() ? "" : ", ") + std::to_string(v);
        sum += v;
    }
    if (s.size() != 3)
        return make_error("mrope_section [%s] must have 3 entries (temporal, height, width)",
                          list.c_str());
    if (sum != config.head_dim / 2)
        return make_error("mrope_section [%s] covers %lld rotary pairs but head_dim %lld has %lld",
                          list.c_str(), static_cast<long long>(sum),
                          static_cast<long long>(config.head_dim),
                          static_cast<long long>(config.head_dim / 2));
    return status::success();
}

}  // namespace actorlm
