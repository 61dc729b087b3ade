// peer_connector: "PeerConnector", prefill/decode disaggregation between engines
// (vLLM's NixlConnector / P2pNcclConnector, same request protocol). A request with
// kv_transfer_params.do_remote_decode that finishes on a producer keeps its full
// prompt blocks (delayed free) and answers where to pull them; a request with
// do_remote_prefill on a consumer waits in waiting_for_remote_kvs while the consumer's
// KV-cache actor pulls those blocks, then decodes from them. The bytes move through a
// kv_transfer_endpoint; moving them between hosts is the actors' job.
#pragma once

#include <string>
#include <vector>

#include "kv/kv_connector_registry.hpp"

namespace actorlm::kv {

/// The kv_connector_extra_config keys "PeerConnector" accepts.
std::vector<std::string> peer_connector_extra_keys();

/// Both sides and the endpoint. A producer (kv_producer, kv_both) needs the engine's
/// cluster address (--cluster-listen), which consumers are told to pull from.
result<kv_connector_pair> make_peer_connector(const kv_transfer_config& cfg,
                                              const kv_connector_context& ctx);

}  // namespace actorlm::kv
