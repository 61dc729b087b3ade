// llm_engine: the offline text-in, text-out engine (vLLM's LLMEngine / LLM):
// tokenizes prompts, fans a request with n > 1 out into n sequences (a
// parent_request, owned by the output processor) that share the prompt's KV
// blocks through the prefix cache, drives engine_loop steps over
// any model_executor, and turns token outputs into output_delta values (text,
// stop strings, logprobs). create() assembles it from an engine_config through
// make_engine_plan, as the actor runtime does, on any registered backend.
// Single-threaded: the caller's thread runs every step.
#pragma once

#include <actorlm/engine.hpp>

#include <memory>
#include <string>
#include <vector>

#include "core/engine_loop.hpp"
#include "core/output_processor.hpp"
#include "plugins/plugin_stat_loggers.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::core {

/// The finished result of one request (generate()).
struct completion_result {
    std::string request_id;
    std::vector<int32_t> prompt_token_ids;
    struct sequence {
        int32_t index = 0;
        std::string text;
        std::vector<int32_t> token_ids;
        std::vector<actorlm::token_logprob> logprobs;
        actorlm::finish_reason finish = actorlm::finish_reason::none;
        std::string stop_reason;
        std::string error;
    };
    std::vector<sequence> outputs;  ///< n entries, by index
    std::vector<std::optional<actorlm::token_logprob>> prompt_logprobs;
    /// A pooling request's vector (sampling_params::pooling); empty for generation.
    std::vector<float> embedding;
};

class llm_engine {
public:
    /// Builds the engine make_engine_plan(cfg) describes, on cfg.device's backend.
    static result<std::unique_ptr<llm_engine>> create(const actorlm::engine_config& cfg);
    /// An engine over a given tokenizer and executor (both must outlive it); the
    /// scheduler uses the executor's KV cache shape, cfg the rest of its options.
    /// `weights_fingerprint` (kv::model_weights_fingerprint) goes into the block
    /// hashes' model root, with the executor's config, KV dtype and the tokenizer.
    static result<std::unique_ptr<llm_engine>> create(const actorlm::engine_config& cfg,
                                                      const tokenizer& tok, model_executor& exec,
                                                      const std::string& weights_fingerprint = {});
    ~llm_engine();

    /// Queues a request (text prompt, or prompt_token_ids when set). Chat messages
    /// are rendered by the serving layer, not here. Errors name the problem. An id
    /// is in use until step() has returned the final deltas of all its sequences.
    status add_request(actorlm::generate_request req);
    /// One engine step; the deltas it produced (a sequence's last has finished()).
    std::vector<actorlm::output_delta> step();
    /// Aborts every sequence of a request; their final deltas come from the next step().
    bool abort_request(const std::string& request_id);
    bool has_unfinished_requests() const;

    /// Adds all requests, steps until they finish and returns their results in order.
    result<std::vector<completion_result>> generate(std::vector<actorlm::generate_request> reqs);

    actorlm::engine_stats stats() const;
    /// The KV connector's block events since the last call: those the scheduler
    /// collected with each step, then any that completed after the last step.
    std::vector<kv::kv_event> take_kv_events();
    const tokenizer& tok() const { return tok_; }
    const scheduler& sched() const { return loop_->sched(); }
    int32_t max_model_len() const { return loop_->sched().config().max_model_len; }

private:
    /// Model, tokenizer and executor when create() loaded them (kept alive here).
    struct owned {
        virtual ~owned() = default;
    };
    llm_engine(std::unique_ptr<owned> own, const tokenizer& tok, std::unique_ptr<engine_loop> loop);

    std::unique_ptr<owned> own_;
    const tokenizer& tok_;
    std::unique_ptr<engine_loop> loop_;
    output_processor outputs_;
    std::vector<actorlm::output_delta> pending_;  // final deltas of aborted sequences
    std::vector<int32_t> eos_ids_;
    bool pools_ = false;  // the executor returns hidden rows: pooling requests are served
    bool embedding_only_ = false;  // an encoder: generation requests are refused
    std::string model_name_;
    int64_t next_id_ = 0;
    /// The plugins' stat loggers, recorded after every step (null: none registered).
    std::unique_ptr<plugins::plugin_stat_loggers> stat_loggers_;
    int64_t num_steps_ = 0;
};

}  // namespace actorlm::core
