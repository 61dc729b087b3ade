// Byte-exactness against Python Jinja2: every template in ../shared/templates (and the
// Llama-3 / Qwen3 tokenizer configs) x a set of conversations, with and without the
// generation prompt, rendered by tools/render_chat_template.py (HF's environment, one
// batch run) and by the C++ engine. A pair passes when the texts are identical, or when both refuse
// the conversation (a template's raise_exception, a type error).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "chat/chat_template.hpp"
#include "chat/jinja_json.hpp"
#include "support/shared_data.hpp"

namespace fs = std::filesystem;

namespace {

struct conversation {
    const char* name;
    const char* messages;
    bool with_tools;
    const char* kwargs;
    const char* documents = nullptr;  ///< JSON list of RAG documents, or none
};

const char* k_tools =
    R"([{"type":"function","function":{"name":"get_weather","description":"Get the current weather for a location","parameters":{"type":"object","properties":{"location":{"type":"string","description":"The city name"},"unit":{"type":"string","enum":["celsius","fahrenheit"],"description":"Temperature unit"},"days":{"type":"integer","description":"Forecast days"},"tags":{"type":"array","items":{"type":"string"},"description":"Extra tags"}},"required":["location"]}}},{"type":"function","function":{"name":"search","description":"Search the web","parameters":{"type":"object","properties":{"query":{"type":"string","description":"What to look for"}},"required":["query"]}}}])";

const conversation k_conversations[] = {
    {"single_turn", R"([{"role":"user","content":"Hello!"}])", false, ""},
    {"system_multi_turn",
     R"([{"role":"system","content":"You are a helpful assistant."},{"role":"user","content":"Hello, how are you?"},{"role":"assistant","content":"I'm doing great. How can I help you today?"},{"role":"user","content":"Tell me a joke about \"quotes\" and 'apostrophes' — ünïcödé 日本語 🎉."}])",
     false, ""},
    {"no_system_multi_turn",
     R"([{"role":"user","content":"  What is 2+2?  "},{"role":"assistant","content":"4"},{"role":"user","content":"And 3+3?\n"},{"role":"assistant","content":"6"}])",
     false, ""},
    {"tool_calls",
     R"([{"role":"system","content":"Use tools when needed."},{"role":"user","content":"What's the weather in Paris?"},{"role":"assistant","content":"","tool_calls":[{"id":"call12345","type":"function","function":{"name":"get_weather","arguments":{"location":"Paris","unit":"celsius","days":2.0}}}]},{"role":"tool","tool_call_id":"call12345","name":"get_weather","content":"{\"temperature\": 22.5, \"condition\": \"sunny\"}"},{"role":"assistant","content":"It is 22.5°C and sunny in Paris."},{"role":"user","content":"Thanks!"}])",
     true, ""},
    {"tool_calls_string_args",
     R"([{"role":"user","content":"Search for jinja"},{"role":"assistant","content":null,"tool_calls":[{"id":"abcdefghi","type":"function","function":{"name":"search","arguments":"{\"query\": \"jinja\"}"}}]},{"role":"tool","tool_call_id":"abcdefghi","content":"Jinja is a template engine."}])",
     true, ""},
    {"tools_no_calls", R"([{"role":"user","content":"Hi there"}])", true, ""},
    {"thinking",
     R"([{"role":"user","content":"What is 2+2?"},{"role":"assistant","content":"<think>\nSimple arithmetic.\n</think>\n\nThe answer is 4."},{"role":"user","content":"Are you sure?"}])",
     false, R"({"enable_thinking": false})"},
    {"special_text",
     R"([{"role":"system","content":"Keep {{ braces }} and {% tags %} literal.\tTabs\\backslashes\u0001"},{"role":"user","content":"Line one\nLine two\r\n  indented"}])",
     false, ""},
    {"parallel_tool_calls",
     R"([{"role":"user","content":"Weather in Oslo and Rome?"},{"role":"assistant","content":"Let me check both.","tool_calls":[{"id":"call00001","type":"function","function":{"name":"get_weather","arguments":{"location":"Oslo"}}},{"id":"call00002","type":"function","function":{"name":"get_weather","arguments":{"location":"Rome","tags":["a","b"]}}}]},{"role":"tool","tool_call_id":"call00001","name":"get_weather","content":"-3"},{"role":"tool","tool_call_id":"call00002","name":"get_weather","content":"18"},{"role":"assistant","content":"Oslo is -3, Rome is 18."}])",
     true, ""},
    {"reasoning_content",
     R"([{"role":"user","content":"Why?"},{"role":"assistant","content":"Because.","reasoning_content":"The user asks why."},{"role":"user","content":"OK"}])",
     false, ""},
    {"documents", R"([{"role":"user","content":"Summarize the document."}])", false, "",
     R"([{"doc_id": 1, "title": "Doc", "text": "Jinja renders templates."}, {"doc_id": "b", "text": "Second."}])"},
    {"content_parts",
     R"([{"role":"user","content":[{"type":"text","text":"Describe this."},{"type":"image"}]}])",
     false, ""},
};

struct template_source {
    std::string name;
    std::string path;
    bool tokenizer_config;
};

void write_file(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// Runs a command; returns its exit status and stdout.
int run_capture(const std::string& cmd, std::string& out) {
    out.clear();
    FILE* p = popen(cmd.c_str(), "r");
    if (!p) return -1;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
    int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool python_jinja_available() {
    if (!fs::exists("/usr/bin/python3")) return false;
    std::string out;
    return run_capture("/usr/bin/python3 -c 'import jinja2' 2>/dev/null", out) == 0;
}

}  // namespace

TEST_CASE("chat templates render byte-identically to Python Jinja2 (HF environment)") {
    ACTORLM_REQUIRE_SHARED("templates");
    if (!python_jinja_available()) {
        MESSAGE("skipped: /usr/bin/python3 with jinja2 is absent (apt-get install python3-jinja2)");
        return;
    }
    const std::string script = std::string(ACTORLM_SOURCE_DIR) + "/tools/render_chat_template.py";
    std::vector<template_source> sources;
    for (const auto& entry : fs::directory_iterator(actorlm::test::shared_path("templates")))
        if (entry.path().extension() == ".jinja")
            sources.push_back({entry.path().filename().string(), entry.path().string(), false});
    for (const char* tok : {"llama3", "qwen3"}) {
        std::string p =
            actorlm::test::shared_path(std::string("tokenizers/") + tok + "/tokenizer_config.json");
        if (fs::exists(p))
            sources.push_back({std::string(tok) + "/tokenizer_config.json", p, true});
    }
    std::sort(sources.begin(), sources.end(), [](auto& a, auto& b) { return a.name < b.name; });
    REQUIRE(sources.size() >= 11);

    fs::path dir = fs::temp_directory_path() / ("actorlm_chat_ref_" + std::to_string(getpid()));
    fs::create_directories(dir);
    const std::time_t now = 1700000000;  // strftime_now's fixed time in both renderers
    auto quoted = [](const std::string& s) {
        return actorlm::jinja::to_json(actorlm::jinja::value(s));
    };

    // One job per template x conversation x generation prompt, rendered by Python in a
    // single batch (one interpreter start instead of hundreds).
    struct job {
        const template_source* src;
        const conversation* conv;
        bool gen;
    };
    std::vector<job> jobs;
    std::string batch = "[";
    for (const auto& src : sources)
        for (const auto& conv : k_conversations)
            for (bool gen : {true, false}) {
                jobs.push_back({&src, &conv, gen});
                if (batch.size() > 1) batch += ",\n";
                for (const std::string& part :
                     {std::string("{"),
                      quoted(src.tokenizer_config ? "tokenizer_config" : "template"),
                      std::string(": "), quoted(src.path), std::string(", \"messages\": "),
                      std::string(conv.messages), std::string(", \"tools\": "),
                      std::string(conv.with_tools ? k_tools : "null"),
                      std::string(", \"documents\": "),
                      std::string(conv.documents ? conv.documents : "null"),
                      std::string(", \"kwargs\": "), std::string(*conv.kwargs ? conv.kwargs : "{}"),
                      std::string(", \"add_generation_prompt\": "),
                      std::string(gen ? "true" : "false"), std::string(", \"now\": "),
                      std::to_string(now)})
                    batch += part;
                if (!src.tokenizer_config) batch += R"(, "bos_token": "<s>", "eos_token": "</s>")";
                batch += "}";
            }
    batch += "]";
    write_file(dir / "jobs.json", batch);
    std::string out;
    int rc = run_capture(
        "/usr/bin/python3 '" + script + "' --batch '" + (dir / "jobs.json").string() + "'", out);
    REQUIRE(rc == 0);
    auto expected = actorlm::jinja::value_from_json(out);
    REQUIRE(expected.ok());
    REQUIRE(expected->as_list().items.size() == jobs.size());

    std::map<std::string, actorlm::result<actorlm::chat_template>> parsed;
    for (const auto& src : sources) {
        std::string text = actorlm::test::read_file(src.path);
        auto tmpl = src.tokenizer_config ? actorlm::chat_template::from_tokenizer_config(text)
                                         : actorlm::chat_template::parse(text);
        REQUIRE_MESSAGE(tmpl.ok(), src.name << ": " << (tmpl.ok() ? "" : tmpl.message()));
        parsed.emplace(src.name, std::move(tmpl));
    }
    int identical = 0, both_refused = 0;
    const int total = static_cast<int>(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        const job& j = jobs[i];
        actorlm::chat_template_inputs in;
        in.messages_json = j.conv->messages;
        if (j.conv->with_tools) in.tools_json = k_tools;
        if (j.conv->documents) in.documents_json = j.conv->documents;
        in.add_generation_prompt = j.gen;
        in.extra_kwargs_json = j.conv->kwargs;
        in.now = now;
        if (!j.src->tokenizer_config) {
            in.bos_token = "<s>";
            in.eos_token = "</s>";
        }
        auto got = parsed.at(j.src->name)->render(in);
        const auto& result = expected->as_list().items[i].as_list().items;
        bool py_ok = result[0].as_bool();
        const std::string& py_text = result[1].str();
        INFO(j.src->name << " x " << j.conv->name << (j.gen ? " (generation prompt)" : ""));
        if (!py_ok) {
            CHECK_MESSAGE(!got.ok(), "Python refused (" << py_text << ") but C++ rendered:\n"
                                                        << got.value());
            if (!got.ok()) ++both_refused;
            continue;
        }
        CHECK_MESSAGE(got.ok(), (got.ok() ? "" : got.message()));
        if (!got.ok()) continue;
        CHECK(got.value() == py_text);
        if (got.value() == py_text) ++identical;
    }
    fs::remove_all(dir);
    MESSAGE(identical << " identical renderings and " << both_refused << " agreed refusals out of "
                      << total << " template x conversation pairs");
    CHECK(identical + both_refused == total);
    CHECK(identical > total / 2);
}
