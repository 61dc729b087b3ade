// kv_connector_registry: connectors by name (vLLM's KVConnectorFactory). Built-in:
// "OffloadingConnector" (the disk tier) and "MultiConnector" (several chained). Tests and embedders
// may register more. Each entry lists the extra-config keys it accepts so a bad key is refused at
// start-up, before any model loads. Registration and lookup are thread-safe.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "core/block_hash.hpp"
#include "kv/kv_connector.hpp"
#include "kv/kv_transfer_config.hpp"

namespace actorlm::kv {

/// What a connector learns about the engine it serves: the shape of the worker's
/// cache, known before the worker side is registered with it (the actor runtime
/// builds connectors in the engine process and hands the worker side to a worker).
struct kv_connector_context {
    int32_t block_size = 16;
    size_t block_layer_bytes = 0;  ///< kv_block_io::block_layer_bytes()
    int64_t num_layers = 0;        ///< kv_block_io::num_kv_layers()
    std::string model_tag;         ///< a short name for logs
    /// HOST:PORT of the engine's cluster member (--cluster-listen), where other engines
    /// reach it; empty when it has none (offline, or not in a cluster).
    std::string cluster_address;
    /// The cluster's connections use mutual TLS: nothing may move in plaintext.
    bool cluster_tls = false;
};

/// The context of a worker's cache.
kv_connector_context kv_connector_context_for(const kv_block_io& caches, int32_t block_size,
                                              std::string model_tag);

using kv_connector_factory = std::function<result<kv_connector_pair>(const kv_transfer_config&,
                                                                     const kv_connector_context&)>;

/// Adds (or replaces) a connector; `extra_keys` are the kv_connector_extra_config keys it accepts.
void register_kv_connector(const std::string& name, std::vector<std::string> extra_keys,
                           kv_connector_factory factory);

/// Registered names, sorted.
std::vector<std::string> kv_connector_names();

/// Checks that the connector exists and every extra key is one it accepts.
status validate_kv_connector_config(const kv_transfer_config& cfg);

/// Both sides of the configured connector. The caller registers the worker side
/// with the cache (register_kv_caches) wherever that cache lives.
result<kv_connector_pair> make_kv_connector(const kv_transfer_config& cfg,
                                            const kv_connector_context& ctx);

}  // namespace actorlm::kv
