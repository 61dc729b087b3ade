// kv_connector_registry implementation: a mutex-guarded map seeded with the
// built-in connectors on first use (explicitly, so static-library linking cannot
// drop a self-registering translation unit).
#include "kv/kv_connector_registry.hpp"

#include <algorithm>
#include <map>
#include <mutex>

#include "kv/multi_connector.hpp"
#include "kv/offloading_connector.hpp"
#include "kv/peer_connector.hpp"

namespace actorlm::kv {
namespace {

struct entry {
    std::vector<std::string> extra_keys;
    kv_connector_factory factory;
};

struct registry {
    std::mutex mu;
    std::map<std::string, entry> entries;
};

registry& get_registry() {
    static registry* r = [] {
        auto* reg = new registry;
        reg->entries["OffloadingConnector"] = {offloading_connector_extra_keys(),
                                               make_offloading_connector};
        reg->entries["MultiConnector"] = {multi_connector_extra_keys(), make_multi_connector};
        reg->entries["PeerConnector"] = {peer_connector_extra_keys(), make_peer_connector};
        return reg;
    }();
    return *r;
}

}  // namespace

void register_kv_connector(const std::string& name, std::vector<std::string> extra_keys,
                           kv_connector_factory factory) {
    registry& r = get_registry();
    std::lock_guard lock(r.mu);
    r.entries[name] = {std::move(extra_keys), std::move(factory)};
}

std::vector<std::string> kv_connector_names() {
    registry& r = get_registry();
    std::lock_guard lock(r.mu);
    std::vector<std::string> names;
    for (const auto& [n, _] : r.entries) names.push_back(n);
    return names;
}

status validate_kv_connector_config(const kv_transfer_config& cfg) {
    // Chained configs first (each takes the lock itself).
    for (size_t i = 0; i < cfg.connectors.size(); ++i)
        if (auto st = validate_kv_connector_config(cfg.connectors[i]); !st)
            return make_error("connectors[%zu]: %s", i, st.message().c_str());
    registry& r = get_registry();
    std::lock_guard lock(r.mu);
    auto it = r.entries.find(cfg.kv_connector);
    if (it == r.entries.end()) {
        std::string known;
        for (const auto& [n, _] : r.entries) known += (known.empty() ? "" : ", ") + n;
        return make_error("kv_transfer_config: unknown kv_connector '%s' (known: %s)",
                          cfg.kv_connector.c_str(), known.c_str());
    }
    const auto& keys = it->second.extra_keys;
    if (!cfg.connectors.empty() && std::find(keys.begin(), keys.end(), "connectors") == keys.end())
        return make_error(
            "kv_transfer_config: %s does not accept kv_connector_extra_config key "
            "'connectors' (MultiConnector does)",
            cfg.kv_connector.c_str());
    for (const auto& [k, _] : cfg.extra)
        if (std::find(keys.begin(), keys.end(), k) == keys.end()) {
            std::string known;
            for (const auto& n : keys) known += (known.empty() ? "" : ", ") + n;
            return make_error(
                "kv_transfer_config: %s does not accept kv_connector_extra_config "
                "key '%s' (known: %s)",
                cfg.kv_connector.c_str(), k.c_str(), known.c_str());
        }
    return {};
}

result<kv_connector_pair> make_kv_connector(const kv_transfer_config& cfg,
                                            const kv_connector_context& ctx) {
    ACTORLM_TRY(validate_kv_connector_config(cfg));
    if (ctx.block_layer_bytes == 0 || ctx.num_layers <= 0)
        return make_error(
            "kv_transfer_config: this backend offers no block access to its KV "
            "cache, so KV connectors cannot run on it");
    kv_connector_factory factory;
    {
        registry& r = get_registry();
        std::lock_guard lock(r.mu);
        factory = r.entries.at(cfg.kv_connector).factory;
    }
    auto pair = factory(cfg, ctx);
    if (!pair) return pair.err();
    if (!pair->scheduler || !pair->worker)
        return make_error("kv connector '%s' did not build both sides", cfg.kv_connector.c_str());
    return pair;
}

kv_connector_context kv_connector_context_for(const kv_block_io& caches, int32_t block_size,
                                              std::string model_tag) {
    kv_connector_context ctx;
    ctx.block_size = block_size;
    ctx.block_layer_bytes = caches.block_layer_bytes();
    ctx.num_layers = caches.num_kv_layers();
    ctx.model_tag = std::move(model_tag);
    return ctx;
}

}  // namespace actorlm::kv
