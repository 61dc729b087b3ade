// kv_cache_layout implementation. With two attention types of n_full and n_slide layers,
// num_slots = min(n_full, n_slide) (vLLM raises it to the larger count when that wastes
// less than a quarter, which we follow), each type's layers are cut into groups of that
// many in layer order, and slot j of a group is its j-th layer.
#include "model/kv_cache_layout.hpp"

#include <algorithm>

namespace actorlm {

std::vector<int32_t> kv_cache_layout::group_windows() const {
    std::vector<int32_t> w;
    for (const kv_cache_group& g : groups) w.push_back(g.sliding_window);
    return w;
}

bool has_mixed_attention(const model_config& config) {
    bool full = false, sliding = false;
    for (int64_t l = 0; l < config.num_layers; ++l)
        (layer_attention_window(config, l) > 0 ? sliding : full) = true;
    return full && sliding;
}

kv_cache_layout make_kv_cache_layout(const model_config& config, bool hybrid) {
    kv_cache_layout out;
    const int64_t n = config.num_layers;
    out.group_of_layer.assign(static_cast<size_t>(n), 0);
    out.slot_of_layer.resize(static_cast<size_t>(n));
    if (!hybrid || !has_mixed_attention(config)) {
        kv_cache_group g;
        g.sliding_window = n > 0 ? layer_attention_window(config, 0) : 0;
        for (int64_t l = 0; l < n; ++l) {
            g.layers.push_back(l);
            out.slot_of_layer[static_cast<size_t>(l)] = static_cast<int32_t>(l);
            // Mixed without groups: full attention's rule holds for every layer.
            if (layer_attention_window(config, l) != g.sliding_window) g.sliding_window = 0;
        }
        out.groups.push_back(std::move(g));
        out.num_slots = n;
        return out;
    }
    std::vector<int64_t> full, sliding;
    for (int64_t l = 0; l < n; ++l)
        (layer_attention_window(config, l) > 0 ? sliding : full).push_back(l);
    const auto smaller = static_cast<int64_t>(std::min(full.size(), sliding.size()));
    const auto larger = static_cast<int64_t>(std::max(full.size(), sliding.size()));
    out.num_slots = larger * 4 < smaller * 5 ? larger : smaller;
    for (const auto* layers : {&full, &sliding}) {
        for (size_t first = 0; first < layers->size(); first += static_cast<size_t>(out.num_slots)) {
            kv_cache_group g;
            g.sliding_window = layers == &full ? 0 : config.sliding_window;
            const size_t end = std::min(layers->size(), first + static_cast<size_t>(out.num_slots));
            for (size_t i = first; i < end; ++i) {
                const int64_t l = (*layers)[i];
                out.group_of_layer[static_cast<size_t>(l)] = static_cast<int32_t>(out.groups.size());
                out.slot_of_layer[static_cast<size_t>(l)] = static_cast<int32_t>(i - first);
                g.layers.push_back(l);
            }
            out.groups.push_back(std::move(g));
        }
    }
    return out;
}

}  // namespace actorlm
