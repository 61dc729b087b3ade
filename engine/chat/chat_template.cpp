// Chat-template rendering on top of the Jinja interpreter: builds the render context
// the way transformers' apply_chat_template does (tools/documents passed as None when
// absent, special tokens, extra kwargs last). Immutable after parse; thread-safe render.
#include "chat/chat_template.hpp"

#include "chat/jinja_json.hpp"

namespace actorlm {

using jinja::value;

result<chat_template> chat_template::parse(const std::string& source) {
    auto t = jinja::compiled_template::parse(source);
    if (!t.ok()) return t.err();
    chat_template c;
    c.template_ = std::move(t.value());
    return c;
}

namespace {

// A special token in tokenizer_config.json is a string or an AddedToken {"content": ...}.
std::optional<std::string> token_text(const jinja::dict_t& config, const char* key) {
    const value* v = config.find(std::string(key));
    if (!v) return std::nullopt;
    if (v->is_string()) return v->str();
    if (v->is_dict())
        if (const value* c = v->as_dict().find(std::string("content")); c && c->is_string())
            return c->str();
    return std::nullopt;
}

}  // namespace

result<chat_template> chat_template::from_tokenizer_config(const std::string& config_json) {
    auto parsed = jinja::value_from_json(config_json);
    if (!parsed.ok()) return make_error("tokenizer_config.json: %s", parsed.message().c_str());
    if (!parsed->is_dict()) return make_error("tokenizer_config.json: expected a JSON object");
    const auto& config = parsed->as_dict();
    const value* tmpl = config.find(std::string("chat_template"));
    if (!tmpl) return make_error("tokenizer_config.json has no chat_template");
    std::string source;
    if (tmpl->is_string()) {
        source = tmpl->str();
    } else if (tmpl->is_list()) {
        for (const auto& entry : tmpl->as_list().items) {
            if (!entry.is_dict()) continue;
            const value* name = entry.as_dict().find(std::string("name"));
            const value* text = entry.as_dict().find(std::string("template"));
            if (name && text && name->is_string() && text->is_string() && name->str() == "default")
                source = text->str();
        }
        if (source.empty())
            return make_error("tokenizer_config.json: no chat_template named 'default'");
    } else {
        return make_error("tokenizer_config.json: chat_template must be a string or a list");
    }
    auto c = parse(source);
    if (!c.ok()) return c;
    c->bos_token_ = token_text(config, "bos_token");
    c->eos_token_ = token_text(config, "eos_token");
    return c;
}

result<std::string> chat_template::render(const chat_template_inputs& inputs) const {
    jinja::render_context ctx;
    ctx.now = inputs.now;
    ctx.limits = inputs.limits;
    auto messages = jinja::value_from_json(inputs.messages_json);
    if (!messages.ok()) return make_error("messages: %s", messages.message().c_str());
    if (!messages->is_list())
        return make_error("messages: expected a JSON list of message objects");
    for (const auto& m : messages->as_list().items)
        if (!m.is_dict()) return make_error("messages: every message must be a JSON object");
    ctx.variables.set(value("messages"), messages.value());
    value tools = value::none();
    if (inputs.tools_json) {
        auto t = jinja::value_from_json(*inputs.tools_json);
        if (!t.ok()) return make_error("tools: %s", t.message().c_str());
        if (!t->is_list() && !t->is_none())
            return make_error("tools: expected a JSON list of tool schemas");
        tools = t.value();
    }
    ctx.variables.set(value("tools"), tools);
    value documents = value::none();
    if (inputs.documents_json) {
        auto d = jinja::value_from_json(*inputs.documents_json);
        if (!d.ok()) return make_error("documents: %s", d.message().c_str());
        documents = d.value();
    }
    ctx.variables.set(value("documents"), documents);
    ctx.variables.set(value("add_generation_prompt"), value(inputs.add_generation_prompt));
    auto bos = inputs.bos_token ? inputs.bos_token : bos_token_;
    auto eos = inputs.eos_token ? inputs.eos_token : eos_token_;
    if (bos) ctx.variables.set(value("bos_token"), value(*bos));
    if (eos) ctx.variables.set(value("eos_token"), value(*eos));
    if (!inputs.extra_kwargs_json.empty()) {
        auto extra = jinja::value_from_json(inputs.extra_kwargs_json);
        if (!extra.ok()) return make_error("template kwargs: %s", extra.message().c_str());
        if (!extra->is_dict()) return make_error("template kwargs: expected a JSON object");
        for (const auto& [k, v] : extra->as_dict().items) ctx.variables.set(k, v);
    }
    return template_.render(ctx);
}

result<std::string> render_chat_template(const std::string& template_text,
                                         const chat_template_inputs& inputs) {
    auto t = chat_template::parse(template_text);
    if (!t.ok()) return t.err();
    return t->render(inputs);
}

}  // namespace actorlm
