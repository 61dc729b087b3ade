// model_runner: the worker side of a step (vLLM's GPUModelRunner): keeps each
// live request's known tokens, block table and sampling params, updated only
// from scheduler_output deltas; builds the forward_batch, runs the
// model_executor, samples, and returns a model_runner_output. It never reads
// scheduler state, so it can live in another actor or process.
// With a KV connector's worker side it also runs the connector's step hooks
// around the forward pass (loads before, saves after; per-layer hooks are called
// for every layer around the whole pass until the executors call them per layer).
// With an image encoder it also runs the step's scheduled encoder inputs (first stage
// only; an output found in the shared encoder_output_store is taken instead), keeps
// their outputs by mm_hash until the scheduler frees them, and writes their rows over
// the placeholder tokens' embeddings (vLLM's _execute_mm_encoder and
// _gather_mm_embeddings).
// Single-threaded. Invariant: holds state exactly for requests not yet reported
// in finished_req_ids.
// For an M-RoPE model (Qwen2.5-VL) a prompt with images gets its three-axis rotary
// positions from its images' grids (mrope_positions.hpp), once, on its first step.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/model_runner_output.hpp"
#include "core/mrope_positions.hpp"
#include "core/sampler.hpp"
#include "core/scheduler_output.hpp"
#include "kv/kv_connector.hpp"
#include "multimodal/encoder_output_store.hpp"
#include "plugins/plugin_logits_processors.hpp"
#include "multimodal/image_encoder.hpp"
#include "model/model_executor.hpp"
#include "base/result.hpp"
#include "structured/grammar_compiler.hpp"
#include "structured/sequence_grammar.hpp"

namespace actorlm::core {

class model_runner {
public:
    /// `exec` must outlive the runner; `seed` drives unseeded sampling.
    explicit model_runner(model_executor& exec, uint64_t seed = 0);

    /// Applies `so` to the runner's state, runs the forward pass and samples.
    /// An executor failure is returned as an error (the state stays consistent:
    /// the step is simply not done, and the scheduler should fail those requests).
    result<model_runner_output> execute(const scheduler_output& so);

    /// What one pipeline stage produced: the residual stream for the next stage
    /// (non-last stages) or the sampled output (the last stage).
    struct stage_output {
        std::vector<float> hidden;   // [total scheduled tokens][hidden]
        model_runner_output output;  // req_ids always; tokens only on the last stage
    };
    /// execute() for one pipeline stage: `hidden_in` is null on the first stage
    /// and the previous stage's hidden output otherwise. Every stage applies the
    /// same scheduler_output, so each keeps its own copy of the request state.
    result<stage_output> execute_stage(const scheduler_output& so, const float* hidden_in);

    /// Sets the compiler of structured outputs (grammars over the model's vocabulary).
    /// Without one, a request with a structured output may only stop (it is never run
    /// unconstrained); the engines and workers always set it.
    void set_grammar_compiler(std::shared_ptr<structured::grammar_compiler> c) {
        grammars_ = std::move(c);
    }

    /// Requests the runner holds state for.
    size_t num_requests() const { return requests_.size(); }

    /// Sets the worker side of a KV connector (registered with the executor's cache).
    void set_kv_connector(std::shared_ptr<kv::kv_connector_worker> c) { connector_ = std::move(c); }

    /// Sets the encoder for image inputs (a vision-language model's first stage).
    void set_image_encoder(std::shared_ptr<multimodal::image_encoder> e) { encoder_ = std::move(e); }
    /// Encoder outputs held (freed when the scheduler says so).
    size_t num_encoder_outputs() const { return encoder_outputs_.size(); }
    /// Inputs this runner encoded.
    int64_t num_encoded_inputs() const { return encoder_ ? encoder_->num_encoded() : 0; }
    /// Sets a shared store of encoder outputs: asked before encoding, given what was
    /// encoded, told when a request that used it finishes.
    void set_encoder_store(std::shared_ptr<multimodal::encoder_output_store> s) {
        store_ = std::move(s);
    }
    /// Inputs whose output came from the store instead of the encoder.
    int64_t num_store_hits() const { return num_store_hits_; }

private:
    struct state {
        std::vector<int32_t> token_ids;  // known tokens by position
        int32_t num_prompt_tokens = 0;
        actorlm::sampling_params params;
        std::vector<int32_t> eos_token_ids;
        std::vector<int32_t> block_ids;
        std::vector<mm_feature> mm_features;
        /// An M-RoPE model's prompt with images: its positions, made on its first step.
        std::optional<mrope_prompt_positions> mrope;
        /// Its structured output's matcher; null when unconstrained.
        std::unique_ptr<structured::sequence_grammar> grammar;
        /// A pooling request: the rows pooled so far (MEAN's sum over every chunk, CLS's
        /// first row), since its prefill last started at position 0.
        std::vector<double> pooled;
        /// Its slot in plugin_lps_ (-1: no plugin processor runs on it).
        int32_t plugin_slot = -1;
    };
    /// Adds a pooling row's hidden states (`n` rows of this step, starting at prompt
    /// position `nc`) to its state; returns the finished vector on its last chunk
    /// (`final_chunk`), empty otherwise.
    /// Keeps a token it sampled at `position`, for a placeholder of the next step.
    static void remember_sampled(state& st, int32_t position, int32_t token);
    std::vector<float> pool_rows(state& st, const float* rows, int32_t nc, int32_t n,
                                 bool final_chunk) const;
    status apply(const scheduler_output& so);
    /// Encodes the step's scheduled inputs not yet held; drops the freed ones.
    status run_encoders(const scheduler_output& so);
    /// The embedding overrides of a row's scheduled positions [nc, nc + n), whose first
    /// token sits at batch index `first_index`.
    status gather_embeddings(const state& st, int32_t nc, int32_t n, int32_t first_index,
                             forward_batch& batch) const;
    result<stage_output> run_stage(const scheduler_output& so, const float* hidden_in);

    model_executor& exec_;
    std::shared_ptr<kv::kv_connector_worker> connector_;
    std::shared_ptr<structured::grammar_compiler> grammars_;
    std::shared_ptr<multimodal::image_encoder> encoder_;
    std::shared_ptr<multimodal::encoder_output_store> store_;
    int64_t num_store_hits_ = 0;
    std::unordered_map<std::string, std::shared_ptr<const multimodal::vision_features>>
        encoder_outputs_;
    sampler sampler_;
    /// The plugins' logits processors, made on the first step (the sampler points at them).
    std::unique_ptr<plugins::plugin_logits_processors> plugin_lps_;
    std::unordered_map<std::string, state> requests_;
    std::vector<float> logits_;
    std::vector<float> normed_hidden_;  // [batch.hidden_indices][hidden], pooling rows
    std::vector<float> logprobs_scratch_;
};

}  // namespace actorlm::core
