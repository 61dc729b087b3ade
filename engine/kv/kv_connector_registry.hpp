// kv_connector_registry: connectors by name (vLLM's KVConnectorFactory). Built-in:
// "OffloadingConnector" (the disk tier). Tests and embedders may register more.
// Each entry lists the extra-config keys it accepts so a bad key is refused at
// start-up, before any model loads. Registration and lookup are thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/block_hash.hpp"
#include "kv/kv_connector.hpp"
#include "kv/kv_transfer_config.hpp"

namespace actorlm::kv {

/// What a connector learns about the engine it serves.
struct kv_connector_context {
    int32_t block_size = 16;
    kv_block_io* caches = nullptr;  ///< the worker's cache (block byte layout)
    std::string model_tag;          ///< a short name for logs
};

using kv_connector_factory = std::function<result<kv_connector_pair>(const kv_transfer_config&,
                                                                     const kv_connector_context&)>;

/// Adds (or replaces) a connector; `extra_keys` are the kv_connector_extra_config keys it accepts.
void register_kv_connector(const std::string& name, std::vector<std::string> extra_keys,
                           kv_connector_factory factory);

/// Registered names, sorted.
std::vector<std::string> kv_connector_names();

/// Checks that the connector exists and every extra key is one it accepts.
status validate_kv_connector_config(const kv_transfer_config& cfg);

/// Both sides of the configured connector; the worker side is registered with ctx.caches.
result<kv_connector_pair> make_kv_connector(const kv_transfer_config& cfg,
                                            const kv_connector_context& ctx);

}  // namespace actorlm::kv
