// multi_connector: vLLM's MultiConnector, several KV connectors chained in the
// order of kv_connector_extra_config "connectors" (e.g. a fast local tier, then a
// shared store). A request loads from the first connector that reports matched
// tokens for it; every connector saves; a finished request's blocks stay until
// every connector that delayed the free reports its save done. Counters add up
// over the connectors, except the queried tokens, which every one of them sees.
#pragma once

#include <string>
#include <vector>

#include "kv/kv_connector_registry.hpp"

namespace actorlm::kv {

/// kv_connector_extra_config keys MultiConnector accepts ("connectors").
std::vector<std::string> multi_connector_extra_keys();

/// Builds every chained connector through the registry and both sides over them.
result<kv_connector_pair> make_multi_connector(const kv_transfer_config& cfg,
                                               const kv_connector_context& ctx);

}  // namespace actorlm::kv
