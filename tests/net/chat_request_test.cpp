// /v1/chat/completions body parsing: messages, content parts, tools, chat-style
// logprobs, max_completion_tokens, and their errors.
#include <doctest/doctest.h>

#include "net/openai_protocol.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

std::optional<api_error> parse(const std::string& body, openai_request& r) {
    INFO(body);
    return parse_chat_request(body, r);
}

}  // namespace

TEST_CASE("chat request: messages with roles, names, tool calls and text parts") {
    openai_request r;
    const auto err = parse(R"({"model":"m","messages":[
        {"role":"system","content":"be brief"},
        {"role":"user","name":"ann","content":[{"type":"text","text":"a"},{"type":"text","text":"b"}]},
        {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"f","arguments":"{}"}}]},
        {"role":"tool","tool_call_id":"c1","content":"42"}],
        "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],
        "max_tokens":9,"add_generation_prompt":false})",
                           r);
    REQUIRE_FALSE(err.has_value());
    CHECK(r.kind == endpoint_kind::chat);
    REQUIRE(r.prompts.size() == 1);
    const auto& msgs = r.prompts[0].messages;
    REQUIRE(msgs.size() == 4);
    CHECK(msgs[0].role == "system");
    CHECK(msgs[0].content == "be brief");
    CHECK(msgs[1].name == "ann");
    CHECK(msgs[1].content == "a\nb");
    CHECK(msgs[2].content.empty());
    CHECK(msgs[2].tool_calls_json.find("\"c1\"") != std::string::npos);
    CHECK(msgs[3].tool_call_id == "c1");
    CHECK(r.prompts[0].tools_json.find("\"parameters\"") != std::string::npos);
    CHECK_FALSE(r.prompts[0].add_generation_prompt);
    CHECK(r.prompts[0].params.max_tokens == 9);
}

TEST_CASE("chat request: defaults and max_completion_tokens precedence") {
    openai_request r;
    REQUIRE_FALSE(parse(R"({"messages":[{"role":"user","content":"hi"}]})", r).has_value());
    CHECK(r.prompts[0].params.max_tokens == -1);  // up to the model length
    CHECK(r.prompts[0].add_generation_prompt);
    REQUIRE_FALSE(parse(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":5,
                           "max_completion_tokens":3})",
                        r)
                      .has_value());
    CHECK(r.prompts[0].params.max_tokens == 3);
}

TEST_CASE("chat request: logprobs is a boolean with top_logprobs") {
    openai_request r;
    REQUIRE_FALSE(parse(R"({"messages":[{"role":"user","content":"hi"}],"logprobs":true,
                           "top_logprobs":5})",
                        r)
                      .has_value());
    CHECK(r.want_logprobs);
    CHECK(r.top_logprobs == 5);
    CHECK(r.prompts[0].params.logprobs == 5);
    REQUIRE_FALSE(
        parse(R"({"messages":[{"role":"user","content":"hi"}],"logprobs":true})", r).has_value());
    CHECK(r.prompts[0].params.logprobs == 0);
    REQUIRE_FALSE(
        parse(R"({"messages":[{"role":"user","content":"hi"}],"logprobs":false})", r).has_value());
    CHECK(r.prompts[0].params.logprobs == -1);
    CHECK_FALSE(r.want_logprobs);
}

TEST_CASE("chat request: errors name the field") {
    struct bad {
        const char* body;
        const char* param;
        const char* code;
    };
    const bad cases[] = {
        {R"({"model":"m"})", "messages", "missing_required_parameter"},
        {R"({"messages":[]})", "messages", "invalid_value"},
        {R"({"messages":"hi"})", "messages", "invalid_type"},
        {R"({"messages":[5]})", "messages[0]", "invalid_type"},
        {R"({"messages":[{"content":"x"}]})", "messages[0].role", "missing_required_parameter"},
        {R"({"messages":[{"role":"wizard","content":"x"}]})", "messages[0].role", "invalid_value"},
        {R"({"messages":[{"role":"user","content":5}]})", "messages[0].content", "invalid_type"},
        {R"({"messages":[{"role":"user","content":[{"type":"image_url","image_url":{}}]}]})",
         "messages[0].content[0].image_url.url", "missing_required_parameter"},
        {R"({"messages":[{"role":"user","content":[{"type":"text"}]}]})",
         "messages[0].content[0].text", "missing_required_parameter"},
        {R"({"messages":[{"role":"user","content":"x","tool_calls":{}}]})",
         "messages[0].tool_calls", "invalid_type"},
        {R"({"messages":[{"role":"user","content":"x"}],"tools":{}})", "tools", "invalid_type"},
        {R"({"messages":[{"role":"user","content":"x"}],"logprobs":1})", "logprobs",
         "invalid_type"},
        {R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})", "top_logprobs",
         "invalid_value"},
        {R"({"messages":[{"role":"user","content":"x"}],"logprobs":true,"top_logprobs":21})",
         "top_logprobs", "invalid_value"},
        {R"({"messages":[{"role":"user","content":"x"}],"max_completion_tokens":0})",
         "max_completion_tokens", "invalid_value"},
        {R"({"messages":[{"role":"user","content":"x"}],"temperature":-1})", "temperature",
         "invalid_value"},
        {R"({"messages":[{"role":"user","content":"x"}],"n":0})", "n", "invalid_value"},
    };
    for (const auto& c : cases) {
        openai_request r;
        const auto e = parse(c.body, r);
        REQUIRE(e.has_value());
        CHECK(e->http_status == 400);
        CHECK(e->param == c.param);
        CHECK(e->code == c.code);
    }
}

TEST_CASE("chat request: a message needs content unless it is an assistant calling tools") {
    const char* missing[] = {
        R"({"messages":[{"role":"user"}]})",
        R"({"messages":[{"role":"user","content":null}]})",
        R"({"messages":[{"role":"system","content":"s"},{"role":"tool","tool_call_id":"c1"}]})",
        R"({"messages":[{"role":"assistant"}]})",
        R"({"messages":[{"role":"user","tool_calls":[]}]})",
    };
    for (const char* body : missing) {
        openai_request r;
        const auto e = parse(body, r);
        REQUIRE(e.has_value());
        CHECK(e->http_status == 400);
        CHECK(e->code == "missing_required_parameter");
        CHECK(e->param.find(".content") != std::string::npos);
        CHECK(e->message.find("content") != std::string::npos);
    }
    const char* fine[] = {
        R"({"messages":[{"role":"user","content":""}]})",
        R"({"messages":[{"role":"assistant","tool_calls":[{"id":"c","type":"function",
            "function":{"name":"f","arguments":"{}"}}]}]})",
        R"({"messages":[{"role":"assistant","content":null,"tool_calls":[]}]})",
        R"({"messages":[{"role":"user","content":[{"type":"text","text":"a"}]}]})",
    };
    for (const char* body : fine) {
        openai_request r;
        CHECK_FALSE(parse(body, r).has_value());
    }
}
