// scheduler: vLLM v1's scheduler. One unified token budget per step: running
// requests first (decode or the next prefill chunk), then waiting ones (prefix
// hit + first chunk), under max_num_batched_tokens and max_num_seqs. When blocks
// run out it preempts (FCFS: the latest running request; priority: the lowest
// priority, latest arrival), frees its blocks and queues it at the front to be
// recomputed. schedule() -> scheduler_output; update_from_output() appends the
// sampled tokens and applies the stop rules. Single-threaded, deterministic:
// the same calls give the same outputs. Owns the requests and the KV manager, and
// the scheduler side of a KV connector when one is set: a request whose prefix a
// connector loads asynchronously waits in waiting_for_remote_kvs (holding its
// blocks) while the others keep running; a finished request whose blocks a
// connector still reads or writes is freed when the worker reports it done.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/kv_cache_manager.hpp"
#include "core/model_runner_output.hpp"
#include "core/request.hpp"
#include "core/request_queue.hpp"
#include "core/scheduler_config.hpp"
#include "core/scheduler_output.hpp"
#include "kv/kv_connector.hpp"
#include "base/result.hpp"

namespace actorlm::core {

/// What add_request needs to create a request.
struct request_spec {
    std::string req_id;
    std::vector<int32_t> prompt_token_ids;
    actorlm::sampling_params params;
    std::vector<int32_t> eos_token_ids;  ///< the model's EOS ids (stop unless ignore_eos)
    int32_t priority = 0;                ///< lower runs first (priority policy)
    double arrival_time = -1.0;          ///< < 0: the scheduler's admission counter
    std::string cache_salt;
};

/// What one request produced in one step (vLLM's EngineCoreOutput).
struct request_output {
    std::string req_id;
    std::vector<int32_t> new_token_ids;
    std::vector<position_logprobs> logprobs;
    std::vector<std::optional<position_logprobs>> prompt_logprobs;
    request_status status = request_status::running;  ///< finished_* if it ended now
    std::string stop_reason;
    int32_t num_prompt_tokens = 0;
    int32_t num_output_tokens = 0;
    int32_t num_cached_tokens = 0;
    double queued_seconds = -1.0;  ///< set in the request's first output only
    bool finished() const { return is_finished(status); }
};

struct scheduler_stats {
    int32_t num_running = 0;
    int32_t num_waiting = 0;
    double kv_cache_usage = 0.0;
    prefix_cache_stats prefix_cache;
    int64_t num_preemptions = 0;
    int64_t num_prompt_tokens = 0;      ///< prompt tokens admitted (computed or cached)
    int64_t num_generation_tokens = 0;  ///< tokens sampled
    int32_t num_waiting_for_remote_kvs = 0;
    kv::kv_connector_stats kv_connector;  ///< zeros without a connector
};

/// The public counters a scheduler's stats stand for (health is the caller's): the one
/// scheduler_stats -> engine_stats mapping, used by the offline engine and the actors.
actorlm::engine_stats to_engine_stats(const scheduler_stats& s);

class scheduler {
public:
    /// Validates `cfg` (e.g. the pool must hold one max_model_len sequence, or a
    /// lone request could never run) and builds the scheduler.
    static result<std::unique_ptr<scheduler>> create(const scheduler_config& cfg);

    /// Queues a request. Errors: duplicate id, empty prompt, a prompt longer than
    /// max_model_len, token ids outside the vocabulary, bad sampling params.
    status add_request(request_spec spec);
    /// Plans the next step and advances num_computed_tokens of what it schedules.
    scheduler_output schedule();
    /// Applies a worker's results for `sched`: appends tokens, checks stops, frees
    /// finished requests. Requests aborted since schedule() are skipped.
    std::vector<request_output> update_from_output(const scheduler_output& sched,
                                                   const model_runner_output& out);
    /// Ends a request from outside (stop string matched by the detokenizer,
    /// client gone): frees its blocks at any state. `st` must be a finished status.
    /// False if the id is unknown (already finished).
    bool finish_request(const std::string& req_id, request_status st, std::string stop_reason = {});
    bool abort_request(const std::string& req_id) {
        return finish_request(req_id, request_status::finished_aborted);
    }
    /// Aborts each id; returns how many were live.
    int32_t abort_requests(std::span<const std::string> req_ids);

    /// Also true while a connector still loads into (or saves from) a finished
    /// request's blocks: steps must go on until the worker reports them.
    bool has_unfinished_requests() const {
        return !running_.empty() || !waiting_.empty() || !remote_waiting_.empty() ||
               !deferred_free_.empty();
    }
    /// Ids of every live request (waiting, running or preempted), in no order.
    std::vector<std::string> live_request_ids() const;
    int32_t num_running() const { return static_cast<int32_t>(running_.size()); }
    int32_t num_waiting() const {
        return static_cast<int32_t>(waiting_.size() + remote_waiting_.size());
    }
    int32_t num_waiting_for_remote_kvs() const {
        return static_cast<int32_t>(remote_waiting_.size());
    }

    /// Sets the scheduler side of a KV connector (before the first request). Shared:
    /// the actor runtime hands it to the scheduler it rebuilds after a worker loss.
    void set_kv_connector(std::shared_ptr<kv::kv_connector_scheduler> c) {
        connector_ = std::move(c);
    }
    kv::kv_connector_scheduler* kv_connector() const { return connector_.get(); }
    /// Whether `req_id` finished but its blocks wait for the connector (invariant checks).
    bool holds_deferred_blocks(const std::string& req_id) const {
        return deferred_free_.count(req_id) != 0;
    }
    scheduler_stats stats() const;
    /// KV events of the connector since the last call (block stored / removed), for
    /// the KV-cache actor to publish. At most k_max_kv_events are kept; older ones
    /// are dropped (counted in kv_events_dropped) so nobody reading them is no leak.
    std::vector<kv::kv_event> take_kv_events() { return std::exchange(kv_events_, {}); }
    int64_t kv_events_dropped() const { return kv_events_dropped_; }
    static constexpr size_t k_max_kv_events = 65536;
    /// Forgets every cached block hash (vLLM's reset_prefix_cache); false, changing
    /// nothing, while any request holds blocks.
    bool reset_prefix_cache() { return kv_.reset_prefix_cache(); }

    /// A live request, or nullptr.
    const request* find(const std::string& req_id) const;
    const scheduler_config& config() const { return cfg_; }
    const kv_cache_manager& kv() const { return kv_; }
    /// Running requests in schedule order.
    std::span<request* const> running() const { return running_; }

private:
    explicit scheduler(const scheduler_config& cfg);
    void preempt(request* r);
    void finish(request* r);
    /// Applies the worker's connector report: loaded requests rejoin the waiting
    /// queue (computed up to their first invalid block), deferred frees happen.
    void apply_kv_connector_output(const kv::kv_connector_output& out);

    /// An asynchronous load in flight: blocks [first_block, + num_blocks) of the table.
    struct remote_load {
        int32_t first_block = 0;
        int32_t num_blocks = 0;
        bool was_preempted = false;
    };

    scheduler_config cfg_;
    kv_cache_manager kv_;
    std::unordered_map<std::string, std::unique_ptr<request>> requests_;
    waiting_queue waiting_;
    std::vector<request*> running_;
    std::vector<std::string> finished_since_schedule_;
    std::shared_ptr<kv::kv_connector_scheduler> connector_;
    std::vector<kv::kv_event> kv_events_;  // drained from the connector every step
    int64_t kv_events_dropped_ = 0;
    std::vector<request*> remote_waiting_;  // waiting_for_remote_kvs, in admission order
    std::unordered_map<std::string, remote_load> remote_loads_;
    // Finished, blocks still held until the connector reports the request done.
    std::unordered_map<std::string, std::unique_ptr<request>> deferred_free_;
    double next_arrival_ = 0.0;
    int64_t num_preemptions_ = 0;
    int64_t num_prompt_tokens_ = 0;
    int64_t num_generation_tokens_ = 0;
};

}  // namespace actorlm::core
