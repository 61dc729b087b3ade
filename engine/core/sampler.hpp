// sampler: turns a batch of logits rows into one token per row under each row's
// sampling params (vLLM v1's Sampler): raw logprobs first, then min_tokens /
// logit_bias / penalties, then greedy (temperature 0) or temperature, min-p,
// top-k, top-p and a draw. A row with a seed draws from an RNG keyed by (seed,
// output index), so its tokens do not depend on the rest of the batch; unseeded
// rows share the sampler's generator. Single-threaded; one sampler per worker.
#pragma once

#include <actorlm/engine.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <vector>

#include "core/model_runner_output.hpp"

namespace actorlm::plugins {
class plugin_logits_processors;
}

namespace actorlm::core {

/// What the sampler needs to know about the request behind one logits row.
struct sampling_row {
    const actorlm::sampling_params* params = nullptr;
    std::span<const int32_t> prompt_token_ids;
    std::span<const int32_t> output_token_ids;  ///< generated so far (penalties, min_tokens)
    std::span<const int32_t> eos_token_ids;     ///< masked while under min_tokens
    /// Structured outputs: the tokens the grammar allows next (a bitmask, bit i of word
    /// i / 32); empty = unconstrained. Applied before every other processor.
    std::span<const uint32_t> allowed_tokens;
    /// The request's slot in the plugins' logits processors; -1: none run on this row.
    int32_t plugin_slot = -1;
};

struct sample_result {
    int32_t token_id = 0;
    std::optional<position_logprobs> logprobs;  ///< when params->logprobs >= 0
};

class sampler {
public:
    /// `seed` drives the rows without a per-request seed.
    explicit sampler(uint64_t seed = 0) : rng_(seed) {}

    /// Samples one token for each of rows.size() rows of `logits`
    /// (row-major, vocab_size floats each); the rows are modified in place.
    std::vector<sample_result> sample(std::span<float> logits, int64_t vocab_size,
                                      std::span<const sampling_row> rows);

    /// The uniform draw in [0, 1) for a seeded request's `output_index`-th token.
    static double seeded_uniform(uint64_t seed, int64_t output_index);

    /// The plugins' logits processors (owned by the caller, which keeps them alive and told
    /// of batch changes): applied to rows with a plugin_slot, those that may change the
    /// argmax after the penalties, the argmax-invariant ones after temperature. Null: none.
    void set_plugin_processors(plugins::plugin_logits_processors* p) { plugins_ = p; }

private:
    plugins::plugin_logits_processors* plugins_ = nullptr;
    std::mt19937_64 rng_;
    std::vector<float> logprobs_scratch_;
    std::vector<int32_t> counts_scratch_;
};

}  // namespace actorlm::core
