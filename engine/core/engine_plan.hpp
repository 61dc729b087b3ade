// engine_plan: the one assembly path from actorlm::engine_config to what an
// engine is built from — the loaded model, tokenizer and chat template, the
// backend and executor request (device, KV dtype, KV memory), the scheduler
// config with its parsed policy, the merged EOS ids and the served name. Both
// the actor runtime (actors/engine_runtime) and the offline engine (llm_engine)
// start from make_engine_plan, so they validate and default identically.
// Runs once at start-up on the caller's thread; the plan is immutable after.
#pragma once

#include <actorlm/engine.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "backends/backend.hpp"
#include "chat/chat_template.hpp"
#include "core/scheduler_config.hpp"
#include "kv/kv_transfer_config.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::multimodal {
class image_preprocessor;
}  // namespace actorlm::multimodal

namespace actorlm::core {

struct engine_plan {
    std::shared_ptr<const loaded_model> model;
    std::shared_ptr<const tokenizer> tok;
    std::shared_ptr<const chat_template> chat;  ///< null: no template (see chat_error)
    std::string chat_error;                     ///< why the model's own template did not parse
    const backend* device = nullptr;            ///< the backend of cfg.device
    executor_request executor;                  ///< whole model; the runtime splits stages
    dtype kv_dtype = dtype::f32;                ///< what the backend resolved "auto" etc. to
    scheduler_config sched;                     ///< num_blocks is 0 until executors exist
    std::vector<int32_t> eos_token_ids;         ///< the model's and the tokenizer's
    std::string served_model_name;
    uint64_t seed = 0;
    std::optional<kv::kv_transfer_config> kv_transfer;  ///< the parsed kv_transfer_config
    /// A vision-language model's frontend step for images (thread-safe; its processor
    /// cache is the one mutable part of the plan). Null for text models.
    std::shared_ptr<multimodal::image_preprocessor> images;
};

/// Validates `cfg`, loads model, tokenizer and chat template and fills the plan.
/// Errors name the option or file at fault.
result<engine_plan> make_engine_plan(const actorlm::engine_config& cfg);

/// The scheduler config for `cfg` over a model (max_model_len defaulted and checked
/// against the model's context, policy parsed); num_blocks/block_size as given;
/// `hybrid_kv_groups`: the executor pages KV per attention type (kv_cache_spec).
result<scheduler_config> make_scheduler_config(const actorlm::engine_config& cfg,
                                               const model_config& model, int32_t num_blocks,
                                               int32_t block_size, bool hybrid_kv_groups = false);

/// Why a generation request on an encoder (embedding-only) model is refused, naming it.
std::string embedding_only_generation_error(const std::string& model_name);

/// EOS ids of the model's config followed by the tokenizer's that are not among them.
std::vector<int32_t> merge_eos_ids(const model_config& model, const tokenizer& tok);

}  // namespace actorlm::core
