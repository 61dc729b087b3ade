// prompt_builder implementation.
#include "core/prompt_builder.hpp"

#include "chat/jinja_json.hpp"
#include "chat/jinja_value.hpp"
#include "multimodal/prompt_images.hpp"

namespace actorlm::core {

namespace {

/// OpenAI messages as the JSON list HF's apply_chat_template receives.
result<std::string> messages_to_json(const std::vector<actorlm::chat_message>& messages) {
    using jinja::value;
    std::vector<value> list;
    for (const auto& m : messages) {
        jinja::dict_t d;
        d.set(value("role"), value(m.role));
        d.set(value("content"), value(m.content));
        if (!m.name.empty()) d.set(value("name"), value(m.name));
        if (!m.tool_call_id.empty()) d.set(value("tool_call_id"), value(m.tool_call_id));
        if (!m.tool_calls_json.empty()) {
            auto calls = jinja::value_from_json(m.tool_calls_json);
            if (!calls) return make_error("message tool_calls: %s", calls.message().c_str());
            d.set(value("tool_calls"), calls.value());
        }
        list.emplace_back(std::move(d));
    }
    return jinja::to_json(value::list(std::move(list)));
}

}  // namespace

result<std::string> render_chat_prompt(const chat_template& tmpl, const tokenizer& tok,
                                       const std::vector<actorlm::chat_message>& messages,
                                       const std::string& tools_json, bool add_generation_prompt) {
    if (messages.empty()) return make_error("'messages' must not be empty");
    auto json = messages_to_json(messages);
    if (!json) return json.err();
    chat_template_inputs in;
    in.messages_json = std::move(json.value());
    if (!tools_json.empty()) in.tools_json = tools_json;
    in.add_generation_prompt = add_generation_prompt;
    if (!tmpl.bos_token()) in.bos_token = tok.bos_token();
    if (!tmpl.eos_token()) in.eos_token = tok.eos_token();
    return tmpl.render(in);
}

result<std::vector<int32_t>> build_prompt_tokens(const actorlm::generate_request& req,
                                                 const tokenizer& tok, const chat_template* chat) {
    if (!req.prompt_token_ids.empty()) {
        for (int32_t id : req.prompt_token_ids)
            if (id < 0 || id >= tok.vocab_size())
                return make_error("prompt token id %d is outside the vocabulary (size %d)", id,
                                  tok.vocab_size());
        return req.prompt_token_ids;
    }
    if (!req.messages.empty()) {
        // Images first: a request a text model cannot take gets that answer, whatever
        // its template would say (the server has already refused it before fetching).
        if (multimodal::count_prompt_images(req) > 0)
            ACTORLM_TRY(multimodal::attach_prompt_images(req));
        if (chat == nullptr)
            return make_error("this model has no chat template; send a plain prompt instead");
        auto text =
            render_chat_prompt(*chat, tok, req.messages, req.tools_json, req.add_generation_prompt);
        if (!text) return make_error("chat template: %s", text.message().c_str());
        // The template writes the control tokens as text, so they are always parsed.
        return tok.encode(text.value(), req.add_special_tokens.value_or(false),
                          /*parse_special=*/true);
    }
    std::vector<int32_t> ids =
        tok.encode(req.prompt, req.add_special_tokens.value_or(true), req.parse_special_tokens);
    if (ids.empty()) return make_error("the prompt is empty");
    return ids;
}

std::vector<request_spec> expand_sequences(const parent_request& parent,
                                           const actorlm::generate_request& req,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& eos_token_ids) {
    std::vector<request_spec> specs;
    for (int32_t k = 0; k < parent.n(); ++k) {
        request_spec spec;
        spec.req_id = parent.child_id(k);
        spec.prompt_token_ids = prompt;
        spec.params = parent.child_params(k);
        spec.eos_token_ids = eos_token_ids;
        spec.priority = req.priority;
        spec.cache_salt = req.cache_salt;
        spec.output_token_ids = req.resume_output_token_ids;
        specs.push_back(std::move(spec));
    }
    return specs;
}

}  // namespace actorlm::core
