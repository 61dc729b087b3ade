// prompt_builder: from a public generate_request to what the scheduler takes —
// the prompt's token ids (text, token ids, or chat messages through the model's
// chat template) and one request_spec per sequence of a parent_request (its
// children share the prompt's KV blocks via the prefix cache).
// Pure functions over an immutable tokenizer/template: safe on any thread (the image
// preprocessor is thread-safe too).
#pragma once

#include <string>
#include <vector>

#include "actorlm/engine.hpp"
#include "chat/chat_template.hpp"
#include "core/parent_request.hpp"
#include "core/scheduler.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::multimodal {
class image_preprocessor;
}  // namespace actorlm::multimodal

namespace actorlm::core {

/// Renders chat messages (and tools) with the template; the tokenizer supplies
/// bos/eos token strings; `template_kwargs_json` (a JSON object, or empty) adds
/// variables such as enable_thinking. Assistant tool calls reach the template with
/// their JSON-text arguments as mappings, as vLLM passes them. Errors name the
/// template problem.
result<std::string> render_chat_prompt(const chat_template& tmpl, const tokenizer& tok,
                                       const std::vector<actorlm::chat_message>& messages,
                                       const std::string& tools_json, bool add_generation_prompt,
                                       const std::string& template_kwargs_json = {});

/// The prompt's token ids. Prompt text is encoded as HF tokenizers (and so vLLM)
/// encode it: special tokens written in it are parsed (unless
/// req.parse_special_tokens is false) and BOS is added unless
/// req.add_special_tokens says no. A rendered chat prompt already has its special
/// tokens as text, so they are always parsed and BOS is added only on request.
/// `chat` may be null (then messages are an error).
result<std::vector<int32_t>> build_prompt_tokens(const actorlm::generate_request& req,
                                                 const tokenizer& tok, const chat_template* chat);

/// A prompt with its multimodal inputs.
struct prompt_inputs {
    std::vector<int32_t> token_ids;
    std::vector<mm_feature> mm_features;  ///< in prompt order, each with its encoder input
};

/// build_prompt_tokens for a model that may take images: with `images` (a vision-language
/// model's preprocessor) a chat request's images are prepared (or found in its cache), the
/// template renders their parts, each image marker expands to its placeholder tokens as the
/// HF processor expands it, and every image becomes an mm_feature over its placeholder
/// range. Without `images`, a request with images is refused naming the model's lack.
/// `for_generation` false (a /tokenize-style check) keeps the image lookups out of the
/// processor cache's statistics. A request carrying what this `tok` and `images` prepared
/// for it (engine::prepare_prompt, `req.prepared`) gets that back without any new work;
/// another engine's preparation is ignored.
result<prompt_inputs> build_prompt(const actorlm::generate_request& req, const tokenizer& tok,
                                   const chat_template* chat,
                                   multimodal::image_preprocessor* images,
                                   bool for_generation = true);

/// One spec per sequence of `parent`, with its child id and child params
/// (sequence k of a seeded request draws from seed + k).
std::vector<request_spec> expand_sequences(const parent_request& parent,
                                           const actorlm::generate_request& req,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& eos_token_ids,
                                           const std::vector<mm_feature>& mm_features = {});

}  // namespace actorlm::core

namespace actorlm {

/// engine::prepare_prompt's result (opaque in the public API): the prompt and the engine
/// parts that prepared it, so that only that engine takes it as it is.
struct prepared_prompt {
    core::prompt_inputs inputs;
    const tokenizer* tok = nullptr;
    const multimodal::image_preprocessor* images = nullptr;
};

}  // namespace actorlm
