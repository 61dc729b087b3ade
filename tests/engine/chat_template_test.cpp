// chat_template: the render context HF builds (tools/documents None when absent, special
// tokens from tokenizer_config.json, extra kwargs), exact prompts for the shared Qwen3 and
// Llama-3 templates, input errors, and the `actorlm chat-template` CLI.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chat/chat_template.hpp"
#include "support/shared_data.hpp"

using actorlm::chat_template;
using actorlm::chat_template_inputs;

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::string render(const std::string& tmpl, const chat_template_inputs& in) {
    auto out = actorlm::render_chat_template(tmpl, in);
    return out.ok() ? out.value() : "ERROR: " + out.message();
}

}  // namespace

TEST_CASE("chat_template passes tools and documents as None and special tokens only when known") {
    chat_template_inputs in;
    in.messages_json = R"([{"role":"user","content":"Hi"}])";
    CHECK(render("{{ tools is none }} {{ documents is none }} {{ bos_token is defined }} {{ "
                 "add_generation_prompt }}",
                 in) == "True True False True");
    in.tools_json = R"([{"type":"function","function":{"name":"f"}}])";
    in.bos_token = "<s>";
    in.add_generation_prompt = false;
    in.extra_kwargs_json = R"({"enable_thinking": false, "custom": [1, 2]})";
    CHECK(render("{{ tools[0].function.name }} {{ bos_token }} {{ add_generation_prompt }} {{ "
                 "enable_thinking }} {{ custom }}",
                 in) == "f <s> False False [1, 2]");
    CHECK(render("{{ messages[0].content }} {{ messages | length }}", in) == "Hi 1");
}

TEST_CASE("chat_template reports bad inputs as errors naming the input") {
    chat_template_inputs in;
    in.messages_json = "[{\"role\": ";
    CHECK(render("x", in).find("messages: invalid JSON") != std::string::npos);
    in.messages_json = R"({"role":"user"})";
    CHECK(render("x", in).find("messages: expected a JSON list") != std::string::npos);
    in.messages_json = R"(["just a string"])";
    CHECK(render("x", in).find("every message must be a JSON object") != std::string::npos);
    in.messages_json = "[]";
    in.tools_json = "{\"not\": \"a list\"}";
    CHECK(render("x", in).find("tools: expected a JSON list") != std::string::npos);
    in.tools_json.reset();
    in.extra_kwargs_json = "[1]";
    CHECK(render("x", in).find("template kwargs: expected a JSON object") != std::string::npos);
    in.extra_kwargs_json.clear();
    CHECK(render("{% if %}", in).find("line 1, column 7") != std::string::npos);
    CHECK(!chat_template::from_tokenizer_config(R"({"bos_token": "<s>"})").ok());
    CHECK(!chat_template::from_tokenizer_config("not json").ok());
}

TEST_CASE("chat_template reads chat_template and special tokens from tokenizer_config.json") {
    auto t = chat_template::from_tokenizer_config(
        R"({"bos_token": {"content": "<B>", "lstrip": false}, "eos_token": "<E>",
            "chat_template": [{"name": "tool_use", "template": "tools"},
                              {"name": "default", "template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}"}]})");
    REQUIRE(t.ok());
    CHECK(t->bos_token() == std::optional<std::string>("<B>"));
    chat_template_inputs in;
    in.messages_json = R"([{"role":"user","content":"x"}])";
    CHECK(t->render(in).value() == "<B>x<E>");
    in.eos_token = "<override>";
    CHECK(t->render(in).value() == "<B>x<override>");
}

TEST_CASE("chat_template renders the shared Qwen3 and Llama-3 templates exactly") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer_config.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer_config.json");
    chat_template_inputs in;
    in.messages_json =
        R"([{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}])";
    auto qwen = chat_template::from_tokenizer_config(
        read_text(actorlm::test::shared_path("tokenizers/qwen3/tokenizer_config.json")));
    REQUIRE(qwen.ok());
    CHECK(qwen->render(in).value() ==
          "<|im_start|>system\nBe "
          "brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    in.extra_kwargs_json = R"({"enable_thinking": false})";
    CHECK(qwen->render(in).value() ==
          "<|im_start|>system\nBe "
          "brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
          "<think>\n\n</think>\n\n");
    auto llama = chat_template::from_tokenizer_config(
        read_text(actorlm::test::shared_path("tokenizers/llama3/tokenizer_config.json")));
    REQUIRE(llama.ok());
    in.extra_kwargs_json.clear();
    in.add_generation_prompt = false;
    CHECK(llama->render(in).value() ==
          "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
          "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
          "<|start_header_id|>assistant<|end_header_id|>\n\n");  // this template always adds it
}

TEST_CASE("actorlm chat-template prints the rendered prompt and rejects bad arguments") {
    const std::string bin = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    if (!std::filesystem::exists(bin)) {
        MESSAGE("skipped: " << bin << " is not built");
        return;
    }
    namespace fs = std::filesystem;
    fs::path dir = fs::temp_directory_path() / ("actorlm_cli_chat_" + std::to_string(getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / "t.jinja")
        << "{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}"
           "{% if add_generation_prompt %}>{% endif %}{{ eos_token }}\n";
    std::ofstream(dir / "m.json") << R"([{"role":"user","content":"héllo"}])";
    auto run = [](const std::string& cmd, std::string& out) {
        FILE* p = popen(cmd.c_str(), "r");
        out.clear();
        char buf[1024];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
        int st = pclose(p);
        return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    };
    std::string out;
    std::string base = bin + " chat-template --template " + (dir / "t.jinja").string() +
                       " --messages " + (dir / "m.json").string();
    CHECK(run(base + " --eos-token '</s>'", out) == 0);
    CHECK(out == "[user:héllo]></s>");
    CHECK(run(base + " --no-generation-prompt", out) == 0);
    CHECK(out == "[user:héllo]");
    CHECK(run(bin + " chat-template --messages " + (dir / "m.json").string() + " 2>/dev/null",
              out) == 2);
    std::ofstream(dir / "bad.jinja") << "{% for x in y %}";
    CHECK(run(bin + " chat-template --template " + (dir / "bad.jinja").string() + " --messages " +
                  (dir / "m.json").string() + " 2>&1",
              out) == 1);
    CHECK(out.find("expected 'endfor'") != std::string::npos);
    fs::remove_all(dir);
}
