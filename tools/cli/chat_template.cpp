// `actorlm chat-template`: renders a conversation with a model's chat template (from a
// tokenizer_config.json) or a .jinja file, and prints the prompt text exactly.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "chat/chat_template.hpp"
#include "cli_values.hpp"
#include "command_registry.hpp"

namespace chat_template_command {

struct options {
    std::string model, template_path, messages_path, tools_path, documents_path, kwargs_path;
    actorlm::chat_template_inputs inputs;
    int64_t now = 0;
};

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

int run_chat_template(const options& o) {
    const std::string &model = o.model, &template_path = o.template_path;
    const std::string &messages_path = o.messages_path, &tools_path = o.tools_path;
    const std::string &documents_path = o.documents_path, &kwargs_path = o.kwargs_path;
    actorlm::chat_template_inputs inputs = o.inputs;
    inputs.now = static_cast<std::time_t>(o.now);
    auto load = [](const std::string& path, std::string& out) {
        if (read_file(path, out)) return true;
        std::fprintf(stderr, "chat-template: cannot read %s\n", path.c_str());
        return false;
    };
    if (!load(messages_path, inputs.messages_json)) return 1;
    std::string text;
    if (!tools_path.empty()) {
        if (!load(tools_path, text)) return 1;
        inputs.tools_json = text;
    }
    if (!documents_path.empty()) {
        if (!load(documents_path, text)) return 1;
        inputs.documents_json = text;
    }
    if (!kwargs_path.empty() && !load(kwargs_path, inputs.extra_kwargs_json)) return 1;

    actorlm::result<actorlm::chat_template> tmpl = actorlm::make_error("no template");
    if (!model.empty()) {
        std::string path = model;
        if (std::filesystem::is_directory(path)) path += "/tokenizer_config.json";
        if (!load(path, text)) return 1;
        tmpl = actorlm::chat_template::from_tokenizer_config(text);
    } else {
        if (!load(template_path, text)) return 1;
        tmpl = actorlm::chat_template::parse(text);
    }
    if (!tmpl.ok()) {
        std::fprintf(stderr, "chat-template: %s\n", tmpl.message().c_str());
        return 1;
    }
    auto out = tmpl->render(inputs);
    if (!out.ok()) {
        std::fprintf(stderr, "chat-template: %s\n", out.message().c_str());
        return 1;
    }
    std::fwrite(out->data(), 1, out->size(), stdout);
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.footer("Prints the rendered prompt to stdout (no newline added).");
    CLI::App* source = app.add_option_group("Template", "give exactly one of these");
    source->add_option("--model", o->model, "model directory or its tokenizer_config.json");
    source->add_option("--template", o->template_path, "a .jinja file");
    source->require_option(1);
    app.add_option("--messages", o->messages_path, "conversation (JSON array)")->required();
    app.add_option("--tools", o->tools_path, "tool definitions (JSON array)");
    app.add_option("--documents", o->documents_path, "documents (JSON array)");
    app.add_option("--kwargs", o->kwargs_path, "extra template variables (JSON object)");
    app.add_flag("!--no-generation-prompt", o->inputs.add_generation_prompt,
                 "do not open the assistant's turn");
    app.add_option("--bos-token", o->inputs.bos_token, "bos_token (overrides the model's)");
    app.add_option("--eos-token", o->inputs.eos_token, "eos_token (overrides the model's)");
    app.add_option("--now", o->now, "strftime_now's time in UNIX seconds (0 = the clock)")
        ->check(actorlm::cli::non_negative());
    return [o] { return run_chat_template(*o); };
}

actorlm::cli::command_registration reg("chat-template",
                                       "render a conversation with a model's chat template", setup);

}  // namespace chat_template_command
