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
// With speculative decoding a decoding request's step carries the n-gram proposer's
// drafts as extra scheduled tokens; update_from_output rolls num_computed_tokens back
// over the rejected ones (their KV slots are rewritten by the next step; block hashes,
// hence the prefix cache, only ever cover tokens the request has, never drafts).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/encoder_cache_manager.hpp"
#include "core/kv_cache_manager.hpp"
#include "core/model_runner_output.hpp"
#include "core/ngram_proposer.hpp"
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
    /// Already produced elsewhere (generate_request::resume_output_token_ids).
    std::vector<int32_t> output_token_ids;
    /// Multimodal inputs in prompt order: their hashes and placeholder ranges.
    std::vector<mm_feature> mm_features;
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
    /// A pooling request's embedding (set in its finished output, which has no token).
    std::vector<float> embedding;
    /// With a finished output: where another engine can pull this request's KV.
    std::optional<actorlm::kv_transfer_params> kv_transfer;
    bool finished() const { return is_finished(status); }
};

/// Speculative decoding counters (vLLM's SpecDecodingStats), cumulative.
struct spec_decode_stats {
    int64_t num_drafts = 0;           ///< request-steps that verified at least one draft
    int64_t num_draft_tokens = 0;     ///< draft tokens verified
    int64_t num_accepted_tokens = 0;  ///< of those, accepted
    /// Accepted drafts by position in the draft: [0] counts accepted first drafts.
    std::vector<int64_t> num_accepted_tokens_per_pos;
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
    int64_t encoder_cache_queries = 0;    ///< multimodal inputs looked up
    int64_t encoder_cache_hits = 0;       ///< found with their encoder output
    spec_decode_stats spec_decode;        ///< zeros without speculative decoding
};

/// The public counters a scheduler's stats stand for (health is the caller's): the one
/// scheduler_stats -> engine_stats mapping, used by the offline engine and the actors.
actorlm::engine_stats to_engine_stats(const scheduler_stats& s);
/// Adds `s`'s speculative decoding counters to `sum`'s (per position, widening as needed):
/// schedulers rebuilt after a worker loss, cluster members.
void add_spec_decode_stats(actorlm::engine_stats& sum, const actorlm::engine_stats& s);

class scheduler {
public:
    /// Checks `cfg` without building anything: e.g. the pool must hold one
    /// max_model_len sequence, or a lone request could never run.
    static status validate(const scheduler_config& cfg);
    /// Validates `cfg` and builds the scheduler.
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
    /// Live migration: ends a live request as aborted but has the KV connector keep
    /// its computed blocks for the engine that continues it; returns where to pull them
    /// (nullopt when the connector keeps nothing). *found: whether the id was live.
    std::optional<actorlm::kv_transfer_params> migrate_request(const std::string& req_id,
                                                               bool* found);
    /// Live migration's pre-copy round: offers running `req_id`'s computed whole blocks
    /// for another engine to pull while the request keeps running, holding them until
    /// that engine releases the snapshot (or the offer expires). Nullopt when the
    /// request is not running, has no whole block computed, or no KV connector serves
    /// pulls. Call between steps: a step in flight may still be writing those blocks.
    std::optional<actorlm::kv_transfer_params> snapshot_request(const std::string& req_id);
    bool abort_request(const std::string& req_id) {
        return finish_request(req_id, request_status::finished_aborted);
    }
    /// Aborts each id; returns how many were live.
    int32_t abort_requests(std::span<const std::string> req_ids);

    /// Also true while a connector still loads into (or saves from) a finished
    /// request's blocks: steps must go on until the worker reports them.
    bool has_unfinished_requests() const {
        return !running_.empty() || !waiting_.empty() || !remote_waiting_.empty() ||
               !deferred_free_.empty() || !snapshots_.empty();
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
    /// Whether the block table named `req_id` waits for the connector: a finished
    /// request's, or a snapshot's (invariant checks).
    bool holds_deferred_blocks(const std::string& req_id) const {
        return deferred_free_.count(req_id) != 0 || snapshots_.count(req_id) != 0;
    }
    scheduler_stats stats() const;
    /// KV events since the last call, for the KV-cache actor to publish: the device
    /// prefix cache's (medium "device", with config().enable_kv_cache_events) and the
    /// connector's (always). Each source's events keep their order; within a step the
    /// device events of schedule() come first, then, in update_from_output, the
    /// device events of the connector's completed loads and then the connector's
    /// events (as vLLM's scheduler merges them). At most k_max_kv_events are kept;
    /// older ones are dropped (counted in kv_events_dropped) so nobody reading them
    /// is no leak.
    std::vector<kv::kv_event> take_kv_events();
    int64_t kv_events_dropped() const { return kv_events_dropped_; }
    static constexpr size_t k_max_kv_events = 65536;
    /// Forgets every cached block hash (vLLM's reset_prefix_cache); false, changing
    /// nothing, while any request holds blocks.
    bool reset_prefix_cache();

    /// A live request, or nullptr.
    const request* find(const std::string& req_id) const;
    const scheduler_config& config() const { return cfg_; }
    const kv_cache_manager& kv() const { return kv_; }
    const encoder_cache_manager& encoder_cache() const { return encoder_; }
    /// Running requests in schedule order.
    std::span<request* const> running() const { return running_; }

private:
    explicit scheduler(const scheduler_config& cfg);
    void preempt(request* r);
    /// The n-gram drafts for decoding request `r` this step: at most
    /// num_speculative_tokens, and never more than could be emitted before max_tokens
    /// or max_model_len (a step emits up to drafts + 1 tokens). Empty when speculation
    /// is off or `r` opted out.
    std::vector<int32_t> propose_drafts(const request& r);
    /// After a step that verified `num_drafts` drafts of `r` and produced `num_sampled`
    /// tokens: counts them and rolls num_computed_tokens back over the rejected drafts.
    void apply_verification(request& r, int32_t num_drafts, int32_t num_sampled);
    /// (see migrate_request)
    std::optional<actorlm::kv_transfer_params> end_request(request* r, request_status st,
                                                           std::string stop_reason);
    /// Frees (or defers freeing) a finished request's blocks; returns what the connector
    /// says another engine needs to pull its KV.
    std::optional<actorlm::kv_transfer_params> finish(request* r);
    /// Applies the worker's connector report: loaded requests rejoin the waiting
    /// queue (computed up to their first invalid block), deferred frees happen.
    void apply_kv_connector_output(const kv::kv_connector_output& out);
    /// Moves the device pool's events (and the connector's, if `with_connector`)
    /// into kv_events_, keeping the newest k_max_kv_events.
    void collect_kv_events(bool with_connector);

    /// Which multimodal inputs must go through the encoder for `r` to compute `n`
    /// tokens from `num_computed` this step, and how many of those tokens can be
    /// scheduled (vLLM's _try_schedule_encoder_inputs): an input is encoded whole in
    /// the step that first reaches its placeholders, unless its output is cached;
    /// when it does not fit the encoder budget or cache, the step stops right before
    /// its placeholders.
    struct encoder_plan {
        int32_t num_tokens = 0;
        std::vector<int32_t> inputs;  // indices into r->mm_features()
        int32_t encoder_tokens = 0;   // of inputs no other request encodes this step
    };
    encoder_plan plan_encoder_inputs(request& r, int32_t num_computed, int32_t n,
                                     int32_t encoder_budget,
                                     const std::unordered_set<std::string>& step_hashes);
    /// Commits a plan's inputs for the step being built.
    void commit_encoder_inputs(request& r, const encoder_plan& e, scheduler_output& out,
                               std::unordered_set<std::string>& step_hashes);
    /// Releases `r`'s inputs whose placeholders are all in the KV cache now.
    void free_encoded_inputs(request& r);

    /// An asynchronous load in flight: blocks [first_block, + num_blocks) of the table.
    struct remote_load {
        int32_t first_block = 0;
        int32_t num_blocks = 0;
        bool was_preempted = false;
    };

    scheduler_config cfg_;
    kv_cache_manager kv_;
    encoder_cache_manager encoder_;
    std::unordered_map<std::string, std::unique_ptr<request>> requests_;
    waiting_queue waiting_;
    std::vector<request*> running_;
    std::vector<std::string> finished_since_schedule_;
    std::shared_ptr<kv::kv_connector_scheduler> connector_;
    std::vector<kv::kv_event> kv_events_;  // drained from the pool and connector every step
    int64_t kv_events_dropped_ = 0;
    std::vector<request*> remote_waiting_;  // waiting_for_remote_kvs, in admission order
    std::unordered_map<std::string, remote_load> remote_loads_;
    // Finished, blocks still held until the connector reports the request done.
    std::unordered_map<std::string, std::unique_ptr<request>> deferred_free_;
    // Snapshot tickets (snapshot_request) whose blocks are held until pulled.
    std::unordered_set<std::string> snapshots_;
    int64_t next_snapshot_ = 0;
    double next_arrival_ = 0.0;
    int64_t num_preemptions_ = 0;
    int64_t num_prompt_tokens_ = 0;
    int64_t num_generation_tokens_ = 0;
    std::optional<ngram_proposer> proposer_;  // with speculative decoding
    spec_decode_stats spec_stats_;
};

}  // namespace actorlm::core
