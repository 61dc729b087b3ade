// Chat-template rendering: turns a conversation (OpenAI-style JSON messages, optional
// tools) into the prompt text a model expects, byte-identical to HF transformers'
// apply_chat_template(tokenize=False). Threading: a chat_template is immutable after
// parse; render() may run on many threads at once.
#pragma once

#include <ctime>
#include <optional>
#include <string>

#include "chat/jinja_template.hpp"
#include "base/result.hpp"

namespace actorlm {

/// What a chat template is rendered with. JSON fields are text, parsed on render.
struct chat_template_inputs {
    std::string messages_json = "[]";           ///< list of {role, content, tool_calls, ...}
    std::optional<std::string> tools_json;      ///< list of tool schemas; absent = None
    std::optional<std::string> documents_json;  ///< RAG documents; absent = None
    bool add_generation_prompt = true;
    std::optional<std::string> bos_token;  ///< absent = undefined in the template
    std::optional<std::string> eos_token;
    std::string extra_kwargs_json;  ///< optional JSON object of more variables
                                    ///< (enable_thinking, date_string, ...)
    std::time_t now = 0;            ///< strftime_now's time; 0 = the clock
    jinja::render_limits limits;    ///< steps, sizes and time a render may take
};

/// A parsed chat template with the special tokens its tokenizer declares.
class chat_template {
public:
    /// Parses template text; the error names line and column.
    static result<chat_template> parse(const std::string& source);

    /// Reads `chat_template` (a string, or a list of {name, template}: the "default" one)
    /// and bos/eos tokens from a tokenizer_config.json's text.
    static result<chat_template> from_tokenizer_config(const std::string& config_json);

    /// Renders a conversation as HF does: messages, tools, documents,
    /// add_generation_prompt, the special tokens, then the extra kwargs.
    /// bos/eos in `inputs` override the tokenizer config's.
    result<std::string> render(const chat_template_inputs& inputs) const;

    const std::optional<std::string>& bos_token() const { return bos_token_; }
    const std::optional<std::string>& eos_token() const { return eos_token_; }

private:
    jinja::compiled_template template_;
    std::optional<std::string> bos_token_;
    std::optional<std::string> eos_token_;
};

/// One-shot convenience: parse `template_text` and render `inputs`.
result<std::string> render_chat_template(const std::string& template_text,
                                         const chat_template_inputs& inputs);

}  // namespace actorlm
