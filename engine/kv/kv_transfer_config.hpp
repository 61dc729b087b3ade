// kv_transfer_config: the parsed --kv-transfer-config JSON (vLLM's KVTransferConfig):
// {"kv_connector": "OffloadingConnector", "kv_role": "kv_both",
//  "kv_connector_extra_config": {"disk_path": "/var/cache/actorlm", ...}}.
// A MultiConnector lists whole configs: {"kv_connector": "MultiConnector",
//  "kv_connector_extra_config": {"connectors": [{...}, {...}]}}.
// Parsing checks the shape and names any bad key; the registry checks the connector
// name and its extra keys. Plain data; pure functions.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace actorlm::kv {

enum class kv_role { producer, consumer, both };

struct kv_transfer_config {
    std::string kv_connector;  ///< a registered connector name
    kv_role role = kv_role::both;
    /// kv_connector_extra_config: strings as written, numbers and booleans as their JSON text.
    std::map<std::string, std::string> extra;
    /// kv_connector_extra_config "connectors": the chained configs of a MultiConnector.
    std::vector<kv_transfer_config> connectors;

    bool can_save() const { return role != kv_role::consumer; }
    bool can_load() const { return role != kv_role::producer; }
};

/// Parses and checks the JSON text; errors name the key at fault. Connector-specific
/// checks (known connector, known extra keys) are validate_kv_transfer_config's.
result<kv_transfer_config> parse_kv_transfer_config(std::string_view json);

/// parse_kv_transfer_config, then the registry's checks of the connector and its keys.
result<kv_transfer_config> parse_and_validate_kv_transfer_config(std::string_view json);

/// An extra-config value as a byte count: an integer, or a size such as "64MiB", "2GB".
result<int64_t> parse_byte_size(std::string_view key, std::string_view text);

}  // namespace actorlm::kv
