// tokenizer/detokenizer actor: turns submissions into token-level sequences
// for the scheduler (chat template, tokenization, the n > 1 fan-out) and the
// scheduler's token outputs into text deltas (incremental detokenization, stop
// strings, logprob texts) for the frontend. Scheduled (pool thread); prompts
// are short enough here that tokenizing inline does not stall the pool.
// A stop string matched in text is reported back to the scheduler with high
// priority so the sequence stops within a step.
#pragma once

#include <memory>

#include "actors/messages.hpp"
#include "actors/scheduler_actor.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm {
class chat_template;
}
namespace actorlm::multimodal {
class image_preprocessor;
}  // namespace actorlm::multimodal

namespace actorlm::actors {

/// The model facts the detokenizer needs besides the tokenizer.
struct detokenizer_config {
    std::vector<int32_t> eos_token_ids;
    int32_t max_model_len = 0;
    /// A vision-language model's image step (decode, preprocess, processor cache); null
    /// for text models, which refuse images.
    std::shared_ptr<multimodal::image_preprocessor> images;
};

detokenizer_actor spawn_detokenizer(caf::actor_system& sys, std::shared_ptr<const tokenizer> tok,
                                    std::shared_ptr<const chat_template> chat,
                                    detokenizer_config cfg, scheduler_actor scheduler);

}  // namespace actorlm::actors
