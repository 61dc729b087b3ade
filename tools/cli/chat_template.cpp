// `actorlm chat-template`: renders a conversation with a model's chat template (from a
// tokenizer_config.json) or a .jinja file, and prints the prompt text exactly.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/chat_template.hpp"
#include "command_registry.hpp"

namespace {

const char* k_usage =
    "usage: actorlm chat-template (--model DIR|tokenizer_config.json | --template FILE.jinja)\n"
    "           --messages conv.json [--tools tools.json] [--documents docs.json]\n"
    "           [--kwargs vars.json] [--no-generation-prompt] [--bos-token T] [--eos-token T]\n"
    "           [--now UNIX_SECONDS]\n"
    "Prints the rendered prompt to stdout (no newline added).\n";

bool read_file(const std::string& path, std::string& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return false;
    std::ostringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
}

int run_chat_template(const std::vector<std::string>& args) {
    std::string model, template_path, messages_path, tools_path, documents_path, kwargs_path;
    actorlm::chat_template_inputs inputs;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        auto next = [&](std::string& dst) {
            if (i + 1 >= args.size()) {
                std::fprintf(stderr, "chat-template: %s needs a value\n", a.c_str());
                return false;
            }
            dst = args[++i];
            return true;
        };
        std::string tmp;
        bool ok = true;
        if (a == "--help" || a == "-h") {
            std::fputs(k_usage, stdout);
            return 0;
        } else if (a == "--model") ok = next(model);
        else if (a == "--template") ok = next(template_path);
        else if (a == "--messages") ok = next(messages_path);
        else if (a == "--tools") ok = next(tools_path);
        else if (a == "--documents") ok = next(documents_path);
        else if (a == "--kwargs") ok = next(kwargs_path);
        else if (a == "--no-generation-prompt") inputs.add_generation_prompt = false;
        else if (a == "--bos-token") { ok = next(tmp); inputs.bos_token = tmp; }
        else if (a == "--eos-token") { ok = next(tmp); inputs.eos_token = tmp; }
        else if (a == "--now") { ok = next(tmp); inputs.now = static_cast<std::time_t>(std::stoll(tmp)); }
        else {
            std::fprintf(stderr, "chat-template: unknown option '%s'\n%s", a.c_str(), k_usage);
            return 2;
        }
        if (!ok) return 2;
    }
    if ((model.empty() == template_path.empty()) || messages_path.empty()) {
        std::fputs(k_usage, stderr);
        return 2;
    }
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

actorlm::cli::command_registration reg("chat-template",
                                       "render a conversation with a model's chat template",
                                       run_chat_template);

}  // namespace
