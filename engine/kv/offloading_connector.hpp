// offloading_connector: vLLM's OffloadingConnector over one tier (kv_block_store).
// The registered "OffloadingConnector" uses host memory, the local disk, or both as a
// tiered_kv_store with memory in front; other connectors reuse it over their own
// tier. Scheduler side: a request's blocks beyond the device prefix hit that the
// tier holds load asynchronously (the request waits in waiting_for_remote_kvs); every
// block that becomes full is saved once ("offload on save", so an eviction from the
// device pool never loses computed KV). Worker side: loads run on the tier's I/O
// thread straight into the blocks the scheduler allocated; saves copy the block bytes
// out during the step (so freeing never has to wait) and write them on the I/O thread.
// extra config: cpu_bytes_to_use (vLLM's name: the host-memory tier), disk_path (the
// disk tier), disk_capacity_bytes (default 1GiB); at least one of the first two.
#pragma once

#include <string>
#include <vector>

#include <memory>

#include "kv/kv_block_store.hpp"
#include "kv/kv_connector_registry.hpp"

namespace actorlm::kv {

/// kv_connector_extra_config keys OffloadingConnector accepts.
std::vector<std::string> offloading_connector_extra_keys();

/// Builds both sides over the configured tiers (the registry's factory): a
/// memory_kv_store for cpu_bytes_to_use, a disk_kv_store for disk_path, a
/// tiered_kv_store over both when both are given.
result<kv_connector_pair> make_offloading_connector(const kv_transfer_config& cfg,
                                                    const kv_connector_context& ctx);

/// Both sides over `store`: lookups ask it, whole new blocks are saved to it once,
/// loads run asynchronously from it. The worker side is not registered yet.
kv_connector_pair make_offloading_connector_over(std::shared_ptr<kv_block_store> store,
                                                 const kv_transfer_config& cfg, int32_t block_size);

}  // namespace actorlm::kv
