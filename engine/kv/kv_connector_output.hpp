// kv_connector_output: what the worker side of a KV connector reports with each
// step's model_runner_output (vLLM's KVConnectorOutput): requests whose
// asynchronous loads (recving) or saves (sending) completed, and blocks whose load
// failed (checksum, size, missing file) and must be recomputed. Value type.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace actorlm::kv {

struct kv_connector_output {
    std::vector<std::string> finished_sending;  ///< saves done: their blocks may be freed
    std::vector<std::string> finished_recving;  ///< loads done (possibly with errors)
    std::vector<int32_t> invalid_block_ids;     ///< loaded blocks that are not valid
    bool empty() const {
        return finished_sending.empty() && finished_recving.empty() && invalid_block_ids.empty();
    }
};

}  // namespace actorlm::kv
