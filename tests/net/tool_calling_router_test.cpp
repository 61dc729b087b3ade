// Tool calling and reasoning through the router, on scripted model outputs: vLLM's
// request checks (tool_choice needs tools, "auto" needs --enable-auto-tool-choice, a
// named function must be a tool), the constraint a forced call sets, and the message
// and stream shapes OpenAI clients read (tool_calls, finish_reason "tool_calls",
// reasoning_content, deltas with index/id/name first and argument fragments after).
#include <doctest/doctest.h>
#include <simdjson.h>

#include "net/api_router.hpp"
#include "net/sse.hpp"
#include "recording_sink.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::recording_sink;
using actorlm::test::scripted_backend;

namespace {

router_options tool_options(bool auto_choice, std::string tool_parser, std::string reasoning) {
    router_options o{"", {"scripted"}, ""};
    o.enable_auto_tool_choice = auto_choice;
    o.tool_call_parser = std::move(tool_parser);
    o.reasoning_parser = std::move(reasoning);
    return o;
}

struct tool_fixture {
    explicit tool_fixture(router_options o) : router(backend, metrics, std::move(o)) {}
    scripted_backend backend;
    server_metrics metrics{"scripted"};
    api_router router;

    std::shared_ptr<recording_sink> post(const std::string& body) {
        auto sink = std::make_shared<recording_sink>();
        router.handle({"POST", "/v1/chat/completions", "", body}, sink);
        REQUIRE(sink->wait_done());
        return sink;
    }
};

const char* const k_weather_tools =
    R"("tools":[{"type":"function","function":{"name":"get_weather","description":"d",
        "parameters":{"type":"object","properties":{"city":{"type":"string"}},
        "required":["city"]}}},{"type":"function","function":{"name":"get_time"}}])";

std::string chat_body(const std::string& extra) {
    return std::string(R"({"messages":[{"role":"user","content":"Weather?"}],)") + k_weather_tools +
           (extra.empty() ? "" : "," + extra) + "}";
}

simdjson::dom::element body_json(simdjson::dom::parser& parser, const std::string& text) {
    simdjson::dom::element e;
    INFO(text);
    REQUIRE(parser.parse(text).get(e) == simdjson::SUCCESS);
    return e;
}

std::string text_of(simdjson::dom::element e) { return std::string(e.get_string().value()); }

std::vector<std::string> sse_events(const std::string& body) {
    sse_decoder dec;
    std::vector<std::string> events;
    dec.feed(body, [&](const std::string& e) { events.push_back(e); });
    return events;
}

const std::vector<std::string> k_hermes_script = {
    "Let me check.", "<tool", "_call>\n{\"name\": \"get_weather\", ", "\"arguments\": {\"city\": ",
    "\"Paris\"}}\n</tool_call>"};

}  // namespace

TEST_CASE("tool calling: requests that break vLLM's rules get a 400 naming the field") {
    tool_fixture f(tool_options(false, "", ""));
    simdjson::dom::parser p;
    struct bad {
        std::string body;
        std::string param;
        std::string says;
    };
    const std::vector<bad> cases = {
        {chat_body(""), "tool_choice", "--enable-auto-tool-choice"},  // tools default to auto
        {chat_body(R"("tool_choice":"auto")"), "tool_choice", "--tool-call-parser"},
        {R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required"})", "tool_choice",
         "`tools` must be set"},
        {chat_body(R"("tool_choice":{"type":"function","function":{"name":"nope"}})"),
         "tool_choice", "does not match"},
        {chat_body(R"("tool_choice":"sometimes")"), "tool_choice", "sometimes"},
        {chat_body(R"("tool_choice":{"type":"function"})"), "tool_choice.function", "name"},
        {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{}}]})",
         "tools[0].function.name", "tools[0].function.name"},
        {R"({"messages":[{"role":"user","content":"x"}],"tools":[{"type":"retrieval"}]})",
         "tools[0].type", "function"},
        {chat_body(R"("tool_choice":"required","response_format":{"type":"json_object"})"),
         "tool_choice", "response_format"},
        {chat_body(R"("chat_template_kwargs":[1])"), "chat_template_kwargs", "object"},
    };
    for (const auto& c : cases) {
        INFO(c.body);
        auto s = f.post(c.body);
        CHECK(s->status == 400);
        auto err = body_json(p, s->body)["error"];
        CHECK(text_of(err["param"]) == c.param);
        CHECK(text_of(err["message"]).find(c.says) != std::string::npos);
    }
    // tool_choice "none" needs no flag: the output is plain content.
    auto none = f.post(chat_body(R"("tool_choice":"none","max_tokens":2)"));
    CHECK(none->status == 200);
}

TEST_CASE("tool calling: auto with hermes returns tool_calls and finish_reason tool_calls") {
    tool_fixture f(tool_options(true, "hermes", ""));
    f.backend.set_script(k_hermes_script);
    auto s = f.post(chat_body(R"("chat_template_kwargs":{"enable_thinking":false})"));
    REQUIRE(s->status == 200);
    simdjson::dom::parser p;
    auto choice = body_json(p, s->body)["choices"].at(0);
    CHECK(text_of(choice["finish_reason"]) == "tool_calls");
    CHECK(text_of(choice["message"]["content"]) == "Let me check.");
    auto calls = choice["message"]["tool_calls"];
    REQUIRE(calls.get_array().size() == 1);
    CHECK(text_of(calls.at(0)["id"]).starts_with("chatcmpl-tool-"));
    CHECK(text_of(calls.at(0)["type"]) == "function");
    CHECK(text_of(calls.at(0)["function"]["name"]) == "get_weather");
    CHECK(text_of(calls.at(0)["function"]["arguments"]) == R"({"city": "Paris"})");
    const generate_request sent = f.backend.last_request();
    CHECK_FALSE(sent.params.skip_special_tokens);  // markers may be special tokens
    CHECK(sent.chat_template_kwargs_json == R"({"enable_thinking":false})");
    CHECK(sent.tools_json.find("get_weather") != std::string::npos);
}

TEST_CASE("tool calling: streamed calls arrive as index, id and name, then argument fragments") {
    tool_fixture f(tool_options(true, "hermes", ""));
    f.backend.set_script(k_hermes_script);
    auto s = f.post(chat_body(R"("stream":true)"));
    REQUIRE(s->streamed);
    simdjson::dom::parser p;
    std::string content, name, id, arguments, finish;
    for (const auto& e : sse_events(s->body)) {
        if (e == "[DONE]") continue;
        auto choice = body_json(p, e)["choices"].at(0);
        auto delta = choice["delta"];
        std::string_view text;
        if (!delta["content"].get_string().get(text)) {
            CHECK(text.find('<') == std::string_view::npos);  // no marker text leaks
            content += text;
        }
        simdjson::dom::array calls;
        if (!delta["tool_calls"].get_array().get(calls)) {
            REQUIRE(calls.size() == 1);
            auto c = calls.at(0);
            CHECK(c["index"].get_int64().value() == 0);
            std::string_view call_id;
            if (!c["id"].get_string().get(call_id)) {
                CHECK(id.empty());
                id = std::string(call_id);
                CHECK(text_of(c["type"]) == "function");
                name = text_of(c["function"]["name"]);
            } else {
                CHECK_FALSE(id.empty());  // fragments only after the header
            }
            arguments += text_of(c["function"]["arguments"]);
        }
        std::string_view fr;
        if (!choice["finish_reason"].get_string().get(fr)) finish = std::string(fr);
    }
    CHECK(content == "Let me check.");
    CHECK(name == "get_weather");
    CHECK(id.starts_with("chatcmpl-tool-"));
    CHECK(arguments == R"({"city": "Paris"})");
    CHECK(finish == "tool_calls");
}

TEST_CASE("tool calling: required forces the call array through a JSON schema") {
    tool_fixture f(tool_options(false, "", ""));
    f.backend.set_script({"[{\"name\": \"get_time\", ", "\"parameters\": {}}]"});
    auto s = f.post(chat_body(R"("tool_choice":"required","parallel_tool_calls":false)"));
    REQUIRE(s->status == 200);
    const auto& so = f.backend.last_request().params.structured_output;
    CHECK(so.type == structured_output_params::kind::json_schema);
    CHECK(so.spec.find(R"("maxItems":1)") != std::string::npos);
    CHECK(so.spec.find(R"("enum":["get_weather"])") != std::string::npos);
    CHECK(check_sampling_params(f.backend.last_request().params) == std::nullopt);
    simdjson::dom::parser p;
    auto choice = body_json(p, s->body)["choices"].at(0);
    CHECK(text_of(choice["finish_reason"]) == "tool_calls");
    CHECK(choice["message"]["content"].is_null());
    CHECK(text_of(choice["message"]["tool_calls"].at(0)["function"]["name"]) == "get_time");
    CHECK(text_of(choice["message"]["tool_calls"].at(0)["function"]["arguments"]) == "{}");
}

TEST_CASE("tool calling: required hoists the tools' $defs so their references resolve") {
    // Each tool's parameters sit inside the array schema, so "#/$defs/place" must find
    // its target at the array's root (vLLM hoists the definitions the same way).
    tool_fixture f(tool_options(false, "", ""));
    f.backend.set_script({R"([{"name": "get_time", "parameters": {}}])"});
    const std::string place = R"({"type":"object","properties":{"city":{"type":"string"}}})";
    auto tools = [&](const std::string& second_place) {
        return R"("tools":[{"type":"function","function":{"name":"get_weather","parameters":
            {"type":"object","properties":{"at":{"$ref":"#/$defs/place"}},
             "$defs":{"place":)" + place + R"(}}}},
            {"type":"function","function":{"name":"get_time","parameters":
            {"type":"object","properties":{"where":{"$ref":"#/$defs/place"},
             "list":{"type":"array","items":{"$ref":"#/definitions/item"}}},
             "$defs":{"place":)" + second_place + R"(},"definitions":{"item":{"type":"integer"}}}}}])";
    };
    auto s = f.post(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required",)" +
                    tools(place) + "}");
    REQUIRE(s->status == 200);
    const generate_request sent = f.backend.last_request();
    const std::string& spec = sent.params.structured_output.spec;
    INFO(spec);
    CHECK(spec.find(R"("$defs":{"place":{"type":"object")") != std::string::npos);
    CHECK(spec.find(R"("definitions":{"item":{"type":"integer"}})") != std::string::npos);
    CHECK(check_sampling_params(sent.params) == std::nullopt);  // every $ref resolves

    // The same name defined differently by two tools cannot share the root: a 400.
    auto clash = f.post(R"({"messages":[{"role":"user","content":"x"}],"tool_choice":"required",)" +
                        tools(R"({"type":"string"})") + "}");
    CHECK(clash->status == 400);
    CHECK(clash->body.find("tools[1].function.parameters") != std::string::npos);
    CHECK(clash->body.find("$defs/place") != std::string::npos);
}

TEST_CASE("tool calling: a named function forces its parameters schema and finishes with stop") {
    tool_fixture f(tool_options(false, "", ""));
    f.backend.set_script({"{\"city\": ", "\"Oslo\"}"});
    auto s = f.post(chat_body(
        R"("tool_choice":{"type":"function","function":{"name":"get_weather"}})"));
    REQUIRE(s->status == 200);
    const auto& so = f.backend.last_request().params.structured_output;
    CHECK(so.spec ==
          R"({"type":"object","properties":{"city":{"type":"string"}},"required":["city"]})");
    simdjson::dom::parser p;
    auto choice = body_json(p, s->body)["choices"].at(0);
    CHECK(text_of(choice["finish_reason"]) == "stop");
    CHECK(text_of(choice["message"]["tool_calls"].at(0)["function"]["arguments"]) ==
          R"({"city": "Oslo"})");
}

TEST_CASE("reasoning: qwen3 puts the think block in reasoning_content, message and stream") {
    tool_fixture f(tool_options(false, "", "qwen3"));
    f.backend.set_script({"<think>", "\nWhy?", "</think>", "\n\nBecause."});
    simdjson::dom::parser p;
    const std::string body = R"({"messages":[{"role":"user","content":"Why?"}])";
    auto s = f.post(body + "}");
    REQUIRE(s->status == 200);
    auto msg = body_json(p, s->body)["choices"].at(0)["message"];
    CHECK(text_of(msg["reasoning_content"]) == "\nWhy?");
    CHECK(text_of(msg["content"]) == "\n\nBecause.");

    auto streamed = f.post(body + R"(,"stream":true})");
    std::string reasoning, content;
    for (const auto& e : sse_events(streamed->body)) {
        if (e == "[DONE]") continue;
        auto delta = body_json(p, e)["choices"].at(0)["delta"];
        std::string_view t;
        if (!delta["reasoning_content"].get_string().get(t)) reasoning += t;
        if (!delta["content"].get_string().get(t)) content += t;
    }
    CHECK(reasoning == "\nWhy?");
    CHECK(content == "\n\nBecause.");

    auto hidden = f.post(body + R"(,"include_reasoning":false})");
    auto hidden_msg = body_json(p, hidden->body)["choices"].at(0)["message"];
    CHECK(hidden_msg["reasoning_content"].is_null());
    CHECK(text_of(hidden_msg["content"]) == "\n\nBecause.");
}

TEST_CASE("reasoning: a structured output is constrained after the think block, split as usual") {
    // The engine gets the parser's markers with the structured output (its grammar waits
    // for </think>); the reasoning still goes to reasoning_content, the answer to content.
    tool_fixture f(tool_options(false, "", "qwen3"));
    f.backend.set_script({"<think>", "\nhm", "</think>", "yes"});
    simdjson::dom::parser p;
    auto s = f.post(R"({"messages":[{"role":"user","content":"Ok?"}],
                        "structured_outputs":{"choice":["yes","no"]}})");
    REQUIRE(s->status == 200);
    const generate_request sent = f.backend.last_request();
    CHECK(sent.params.structured_output.reasoning_start == "<think>");
    CHECK(sent.params.structured_output.reasoning_end == "</think>");
    auto msg = body_json(p, s->body)["choices"].at(0)["message"];
    CHECK(text_of(msg["reasoning_content"]) == "\nhm");
    CHECK(text_of(msg["content"]) == "yes");

    // Without a reasoning parser the engine constrains from the first token.
    tool_fixture plain(tool_options(false, "", ""));
    plain.backend.set_script({"yes"});
    REQUIRE(plain.post(R"({"messages":[{"role":"user","content":"Ok?"}],
                           "structured_outputs":{"choice":["yes","no"]}})")
                ->status == 200);
    CHECK(plain.backend.last_request().params.structured_output.reasoning_end.empty());
}
