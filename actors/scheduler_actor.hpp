// scheduler actor: the engine core's step loop (vLLM's EngineCore). It runs
// schedule -> worker stages -> update_from_output, re-sending itself `step`
// while work remains, so new requests and aborts interleave between steps.
// Detached (its own thread) when every worker is in this process, scheduled on
// the pool with remote workers; the forward pass runs in the (detached) workers.
// It owns core::scheduler (and with it the KV-cache manager's block tables);
// after every step and every change between steps it sends one kv_step_report
// to the KV-cache actor, which answers all state queries, and the token outputs
// to the detokenizer that submitted them.
// With a KV connector, steps that schedule no tokens still go to the workers
// (paced at 1 ms) while loads or saves are in flight: the worker side reports
// their completion with each step, as in vLLM.
// It monitors every worker: a dead or silent worker fails the in-flight
// requests with an error, marks the engine unhealthy and asks the connector
// (if any) to bring the worker back; new requests are refused until then.
#pragma once

#include <chrono>
#include <vector>

#include "actors/interfaces.hpp"
#include "core/scheduler_config.hpp"
#include "plugins/plugin_stat_loggers.hpp"

namespace actorlm::actors {

struct scheduler_actor_config {
    core::scheduler_config sched;
    /// The scheduler side of the engine's KV connector (null: none). Its worker
    /// side runs in the (in-process) worker.
    std::shared_ptr<kv::kv_connector_scheduler> kv_connector;
    std::vector<worker_setup> stages;  // one per pipeline stage, in order
    /// The bytes of the stages' KV pools, all together (for /metrics).
    int64_t kv_reserved_bytes = 0;
    /// How long a remote stage may take for one step before it counts as lost (vLLM's
    /// VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS is 300 s too). 0: no limit, for in-process
    /// workers: they cannot hang unnoticed, and a long prefill chunk of a big model on
    /// a CPU can take minutes, which must not kill the engine.
    std::chrono::milliseconds step_timeout{300000};
    std::chrono::milliseconds setup_timeout{60000};
    /// Setup of a reconnected worker. Short: a handle to a worker that froze
    /// and resumed can be stale, and the connector retries after this fails.
    std::chrono::milliseconds reconnect_setup_timeout{5000};
    /// Two steps in flight (engine_config::async_scheduling); one stage only.
    bool async_scheduling = false;
    /// The plugins' stat loggers, recorded after every step (null or empty: none).
    std::shared_ptr<plugins::plugin_stat_loggers> stat_loggers;
};

/// detached: its own thread (only when every worker is in this process);
/// scheduled: on the pool (required with remote workers).
enum class scheduler_threading { detached, scheduled };

/// Spawns the scheduler. `stages` must be set up already (the facade does it);
/// `connector` may be invalid for in-process engines.
scheduler_actor spawn_scheduler(caf::actor_system& sys, scheduler_actor_config cfg,
                                std::vector<worker_actor> stages, kv_cache_actor kv,
                                connector_actor connector, scheduler_threading threading);

/// Sends setup to each stage and waits for the answers (blocking; for startup).
/// Returns an error message, or "" on success; `infos` (if given) gets the answers.
std::string setup_workers(caf::actor_system& sys, const std::vector<worker_actor>& stages,
                          const std::vector<worker_setup>& setups,
                          std::chrono::milliseconds timeout,
                          std::vector<worker_info>* infos = nullptr);

}  // namespace actorlm::actors
