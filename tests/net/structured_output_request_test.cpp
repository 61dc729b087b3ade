// Structured-output request keys on /v1/completions and /v1/chat/completions: OpenAI's
// response_format, vLLM's structured_outputs and the guided_* spellings all reach
// sampling_params.structured_output, and bad or conflicting values are 400s naming the key.
#include <doctest/doctest.h>

#include "net/openai_protocol.hpp"

using namespace actorlm;
using namespace actorlm::net;
using kind = structured_output_params::kind;

namespace structured_output_request_test {

structured_output_params parsed(const std::string& body, bool chat = false) {
    openai_request r;
    auto err = chat ? parse_chat_request(body, r) : parse_completion_request(body, r);
    INFO(body);
    if (err) INFO(err->message);
    REQUIRE_FALSE(err.has_value());
    REQUIRE(!r.prompts.empty());
    return r.prompts[0].params.structured_output;
}

api_error refused(const std::string& body, bool chat = false) {
    openai_request r;
    auto err = chat ? parse_chat_request(body, r) : parse_completion_request(body, r);
    INFO(body);
    REQUIRE(err.has_value());
    CHECK(err->http_status == 400);
    return *err;
}

const std::string k_chat = R"("messages":[{"role":"user","content":"hi"}])";

}  // namespace structured_output_request_test

using namespace structured_output_request_test;

TEST_CASE("structured output request: OpenAI response_format on chat and completions") {
    auto so = parsed("{" + k_chat + R"(,"response_format":{"type":"json_schema",
        "json_schema":{"name":"person","strict":true,"schema":{"type":"object",
        "properties":{"a":{"type":"integer"}},"required":["a"],"additionalProperties":false}}}})",
                     true);
    CHECK(so.type == kind::json_schema);
    CHECK(so.spec.find("\"additionalProperties\":false") != std::string::npos);
    CHECK(parsed("{" + k_chat + R"(,"response_format":{"type":"json_object"}})", true).type ==
          kind::json_object);
    CHECK(parsed("{" + k_chat + R"(,"response_format":{"type":"text"}})", true).type == kind::none);
    CHECK(parsed(R"({"prompt":"x","response_format":{"type":"json_object"}})").type ==
          kind::json_object);
}

TEST_CASE("structured output request: vLLM structured_outputs and guided_* spellings") {
    auto so = parsed(R"({"prompt":"x","structured_outputs":{"regex":"[a-z]+"}})");
    CHECK(so.type == kind::regex);
    CHECK(so.spec == "[a-z]+");
    so = parsed(R"({"prompt":"x","structured_outputs":{"choice":["a","b"],"disable_fallback":true}})");
    CHECK(so.type == kind::choice);
    CHECK(so.choices == std::vector<std::string>{"a", "b"});
    so = parsed(R"({"prompt":"x","structured_outputs":{"json":{"type":"integer"}}})");
    CHECK(so.type == kind::json_schema);
    CHECK(so.spec == R"({"type":"integer"})");
    so = parsed(R"({"prompt":"x","structured_outputs":{"grammar":"root ::= \"a\""}})");
    CHECK(so.type == kind::grammar);
    CHECK(parsed(R"({"prompt":"x","structured_outputs":{"json_object":true}})").type ==
          kind::json_object);
    CHECK(parsed(R"({"prompt":"x","guided_json":"{\"type\":\"string\"}"})").spec ==
          R"({"type":"string"})");
    CHECK(parsed(R"({"prompt":"x","guided_regex":"\\d+","guided_decoding_backend":"xgrammar"})")
              .type == kind::regex);
    CHECK(parsed("{" + k_chat + R"(,"guided_choice":["yes","no"]})", true).choices.size() == 2);
    CHECK(parsed(R"({"prompt":"x","guided_grammar":"root ::= [0-9]+"})").type == kind::grammar);
    CHECK(parsed(R"({"prompt":"x","guided_json":null,"structured_outputs":null})").type == kind::none);
}

TEST_CASE("structured output request: bad values and conflicts are 400s naming the key") {
    api_error e = refused(R"({"prompt":"x","response_format":{"type":"json_schema",
        "json_schema":{"name":"n","schema":{"type":"object","patternProperties":{}}}}})");
    CHECK(e.param == "response_format");
    CHECK(e.message.find("patternProperties") != std::string::npos);
    e = refused(R"({"prompt":"x","guided_regex":"(a"})");
    CHECK(e.param == "guided_regex");
    e = refused(R"({"prompt":"x","structured_outputs":{"grammar":"start ::= \"a\""}})");
    CHECK(e.param == "structured_outputs");
    CHECK(e.message.find("root") != std::string::npos);
    e = refused(R"({"prompt":"x","response_format":{"type":"json_object"},"guided_regex":"a"})");
    CHECK(e.message.find("only one") != std::string::npos);
    e = refused(R"({"prompt":"x","structured_outputs":{"regex":"a","choice":["a"]}})");
    CHECK(e.message.find("only one") != std::string::npos);
    e = refused(R"({"prompt":"x","response_format":{"type":"xml"}})");
    CHECK(e.param == "response_format.type");
    e = refused(R"({"prompt":"x","response_format":{"type":"json_schema"}})");
    CHECK(e.param == "response_format.json_schema");
    e = refused(R"({"prompt":"x","guided_choice":[]})");
    CHECK(e.param == "guided_choice");
    e = refused(R"({"prompt":"x","structured_outputs":{"whitespace_pattern":" *"}})");
    CHECK(e.param == "structured_outputs.whitespace_pattern");
    e = refused(R"({"prompt":"x","structured_outputs":{"jsonn":{}}})");
    CHECK(e.param == "structured_outputs.jsonn");
    e = refused(R"({"prompt":"x","guided_json":{"type":"integer","multipleOf":2}})");
    CHECK(e.message.find("'multipleOf'") != std::string::npos);
}
