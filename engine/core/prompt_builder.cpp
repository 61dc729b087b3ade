// prompt_builder implementation.
#include "core/prompt_builder.hpp"

#include "chat/jinja_json.hpp"
#include "chat/jinja_value.hpp"
#include "multimodal/encoder_input.hpp"
#include "multimodal/image_preprocessor.hpp"
#include "multimodal/image_processor_prompt.hpp"
#include "multimodal/prompt_images.hpp"

namespace actorlm::core {

namespace {

/// An assistant turn's tool calls as the templates read them: OpenAI sends each call's
/// `function.arguments` as JSON text, while most templates iterate it as a mapping
/// (`arguments | items`, `arguments | tojson`), so text that parses to an object becomes
/// one, as vLLM does before rendering (empty text: an empty mapping). Text that is not
/// JSON stays as sent.
jinja::value calls_with_mapping_arguments(const jinja::value& calls) {
    using jinja::value;
    if (!calls.is_list()) return calls;
    std::vector<value> out;
    for (const value& call : calls.as_list().items) {
        const value* fn = call.is_dict() ? call.as_dict().find(std::string("function")) : nullptr;
        const value* args =
            fn && fn->is_dict() ? fn->as_dict().find(std::string("arguments")) : nullptr;
        if (!args || !args->is_string()) {
            out.push_back(call);
            continue;
        }
        // vLLM: empty arguments are an empty mapping; any JSON text is parsed.
        auto parsed = args->str().empty() ? result<value>(value(jinja::dict_t{}))
                                          : jinja::value_from_json(args->str());
        if (!parsed.ok()) {
            out.push_back(call);
            continue;
        }
        jinja::dict_t new_fn;
        for (const auto& [k, v] : fn->as_dict().items)
            new_fn.set(k, k.is_string() && k.str() == "arguments" ? parsed.value() : v);
        jinja::dict_t new_call;
        for (const auto& [k, v] : call.as_dict().items)
            new_call.set(k, k.is_string() && k.str() == "function" ? value(std::move(new_fn)) : v);
        out.emplace_back(std::move(new_call));
    }
    return value::list(std::move(out));
}

/// OpenAI messages as the JSON list HF's apply_chat_template receives.
result<std::string> messages_to_json(const std::vector<actorlm::chat_message>& messages) {
    using jinja::value;
    std::vector<value> list;
    for (const auto& m : messages) {
        jinja::dict_t d;
        d.set(value("role"), value(m.role));
        if (m.parts.empty()) {
            d.set(value("content"), value(m.content));
        } else {
            // Content with images goes to the template as OpenAI parts, as HF's
            // apply_chat_template receives them: {"type": "image"} renders the marker.
            std::vector<value> parts;
            for (const auto& p : m.parts) {
                jinja::dict_t part;
                if (p.type == actorlm::content_part::kind::image) {
                    part.set(value("type"), value("image"));
                } else {
                    part.set(value("type"), value("text"));
                    part.set(value("text"), value(p.text));
                }
                parts.emplace_back(std::move(part));
            }
            d.set(value("content"), value::list(std::move(parts)));
        }
        if (!m.name.empty()) d.set(value("name"), value(m.name));
        if (!m.tool_call_id.empty()) d.set(value("tool_call_id"), value(m.tool_call_id));
        if (!m.tool_calls_json.empty()) {
            auto calls = jinja::value_from_json(m.tool_calls_json);
            if (!calls) return make_error("message tool_calls: %s", calls.message().c_str());
            d.set(value("tool_calls"), calls_with_mapping_arguments(calls.value()));
        }
        list.emplace_back(std::move(d));
    }
    return jinja::to_json(value::list(std::move(list)));
}

}  // namespace

result<std::string> render_chat_prompt(const chat_template& tmpl, const tokenizer& tok,
                                       const std::vector<actorlm::chat_message>& messages,
                                       const std::string& tools_json, bool add_generation_prompt,
                                       const std::string& template_kwargs_json) {
    if (messages.empty()) return make_error("'messages' must not be empty");
    auto json = messages_to_json(messages);
    if (!json) return json.err();
    chat_template_inputs in;
    in.messages_json = std::move(json.value());
    if (!tools_json.empty()) in.tools_json = tools_json;
    in.add_generation_prompt = add_generation_prompt;
    in.extra_kwargs_json = template_kwargs_json;
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
        auto text = render_chat_prompt(*chat, tok, req.messages, req.tools_json,
                                       req.add_generation_prompt, req.chat_template_kwargs_json);
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

result<prompt_inputs> build_prompt(const actorlm::generate_request& req, const tokenizer& tok,
                                   const chat_template* chat,
                                   multimodal::image_preprocessor* images, bool for_generation) {
    // Prepared by this tokenizer and preprocessor before submission (engine::prepare_prompt).
    if (const actorlm::prepared_prompt* p = req.prepared.get();
        p != nullptr && p->tok == &tok && p->images == images)
        return p->inputs;
    if (images == nullptr || req.messages.empty() || multimodal::count_prompt_images(req) == 0) {
        auto ids = build_prompt_tokens(req, tok, chat);
        if (!ids) return ids.err();
        return prompt_inputs{std::move(ids).value(), {}};
    }
    auto prepared = images->prepare(req, for_generation);
    if (!prepared) return prepared.err();
    if (chat == nullptr)
        return make_error("this model has no chat template; images need one to place them");
    auto text = render_chat_prompt(*chat, tok, req.messages, req.tools_json,
                                   req.add_generation_prompt, req.chat_template_kwargs_json);
    if (!text) return make_error("chat template: %s", text.message().c_str());
    // The expansion reads only each image's sizes and token counts, not its pixels.
    std::vector<multimodal::processed_image> shapes;
    for (const auto& p : *prepared) shapes.push_back(multimodal::layout_of(*p.image));
    const auto& config = images->model().processor;
    auto expanded = multimodal::expand_image_markers(config, *text, shapes);
    if (!expanded)
        return make_error(error_kind::invalid_argument, "%s (the chat template wrote %s)",
                          expanded.message().c_str(), multimodal::image_marker(config).c_str());
    prompt_inputs out;
    out.token_ids = tok.encode(*expanded, req.add_special_tokens.value_or(false),
                               /*parse_special=*/true);
    auto ranges = multimodal::find_placeholder_ranges(
        config, out.token_ids, shapes, [&tok](std::string_view t) { return tok.token_id(t); });
    if (!ranges) return ranges.err();
    for (size_t i = 0; i < ranges->size(); ++i) {
        const auto& r = (*ranges)[i];
        auto input = std::make_shared<multimodal::encoder_input>();
        input->image = (*prepared)[i].image;
        input->is_embed = r.is_embed;
        out.mm_features.push_back(mm_feature{(*prepared)[i].mm_hash, static_cast<int32_t>(r.offset),
                                             static_cast<int32_t>(r.length), std::move(input)});
    }
    return out;
}

std::vector<request_spec> expand_sequences(const parent_request& parent,
                                           const actorlm::generate_request& req,
                                           const std::vector<int32_t>& prompt,
                                           const std::vector<int32_t>& eos_token_ids,
                                           const std::vector<mm_feature>& mm_features) {
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
        spec.mm_features = mm_features;
        specs.push_back(std::move(spec));
    }
    return specs;
}

}  // namespace actorlm::core
