// End-to-end structured outputs: `actorlm serve`'s stack (http_server + api_router + the
// actor runtime, whose worker builds the vocabulary from the GGUF's own tokenizer) on
// stories260K. Chat with response_format json_schema and n = 2 answers JSON valid under the
// schema in every choice; a streamed completion with guided_choice concatenates to one of
// the choices; an unsupported schema keyword is a 400 naming response_format.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "net/sse.hpp"
#include "stories_server.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace e2e_structured_test {

// A 512-token context (schemas make long outputs), 16 sequences, one thread.
struct structured_server : test::stories_server {
    structured_server()
        : stories_server({{}, false, "templates/Qwen-Qwen2.5-7B-Instruct.jinja", 512, 16, 1}) {}
};

}  // namespace e2e_structured_test

using namespace e2e_structured_test;

TEST_CASE("e2e structured: json_schema chat with n=2, streamed guided_choice, 400 on bad schema") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    structured_server s;
    auto c = s.client();
    auto r = c.request("POST", "/v1/chat/completions", R"({"model":"stories","n":2,"seed":3,
        "temperature":1.0,"max_tokens":300,"messages":[{"role":"user","content":"Tell me"}],
        "response_format":{"type":"json_schema","json_schema":{"name":"pet","strict":true,
          "schema":{"type":"object","properties":{"kind":{"enum":["cat","dog"]},
            "name":{"type":"string","maxLength":6},"good":{"type":"boolean"}},
            "required":["kind","name","good"],"additionalProperties":false}}}})",
                       {});
    REQUIRE(r.ok());
    INFO(r->body);
    REQUIRE(r->status == 200);
    simdjson::dom::parser parser, inner;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(r->body).get(doc) == simdjson::SUCCESS);
    auto choices = doc["choices"].get_array().value();
    REQUIRE(choices.size() == 2);
    for (auto choice : choices) {
        CHECK(std::string_view(choice["finish_reason"].get_string().value()) == "stop");
        const std::string content(choice["message"]["content"].get_string().value());
        INFO(content);
        simdjson::dom::element v;
        REQUIRE(inner.parse(content).get(v) == simdjson::SUCCESS);
        const std::string_view kind = v["kind"].get_string().value();
        CHECK((kind == "cat" || kind == "dog"));
        CHECK(v["good"].is_bool());
        CHECK(v["name"].get_string().value().size() <= 6 * 4);
    }

    const std::vector<std::string> options{"yes", "no", "perhaps"};
    std::string text;
    sse_decoder dec;
    auto st = c.stream("POST", "/v1/completions",
                       R"({"model":"stories","prompt":"Is it?","stream":true,"seed":5,
                           "temperature":1.0,"max_tokens":20,"guided_choice":["yes","no","perhaps"]})",
                       [&](std::string_view bytes) {
                           dec.feed(bytes, [&](const std::string& e) {
                               if (e == "[DONE]") return;
                               simdjson::dom::parser p;
                               simdjson::dom::element ev;
                               if (p.parse(e).get(ev) != simdjson::SUCCESS) return;
                               std::string_view t;
                               if (ev["choices"].at(0)["text"].get(t) == simdjson::SUCCESS) text += t;
                           });
                           return true;
                       });
    REQUIRE(st.ok());
    CHECK(st->status == 200);
    INFO(text);
    CHECK(std::find(options.begin(), options.end(), text) != options.end());

    auto bad = c.request("POST", "/v1/chat/completions", R"({"model":"stories",
        "messages":[{"role":"user","content":"x"}],
        "response_format":{"type":"json_schema","json_schema":{"name":"n",
          "schema":{"type":"integer","multipleOf":3}}}})",
                         {});
    REQUIRE(bad.ok());
    CHECK(bad->status == 400);
    CHECK(bad->body.find("multipleOf") != std::string::npos);
    CHECK(bad->body.find("\"param\":\"response_format\"") != std::string::npos);
}

TEST_CASE("e2e structured: with a reasoning parser the grammar starts after </think>") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    // A template that leaves the think block open (the model is to reason first), and
    // one that closes it in the prompt (Qwen3's enable_thinking=false).
    const std::string open_block =
        "{% for m in messages %}{{ m.content }}{% endfor %} Answer: <think>";
    const std::string closed_block =
        "{% for m in messages %}{{ m.content }}{% endfor %} Answer: <think> </think>";
    const std::string body = R"({"model":"stories","temperature":0,"max_tokens":12,
        "messages":[{"role":"user","content":"Once upon a time"}],
        "structured_outputs":{"choice":["yes","no"]}})";
    auto message_of = [&](const std::string& chat_template, const std::string& parser) {
        test::stories_server_options o;
        o.chat_template = chat_template;
        o.num_threads = 1;
        o.reasoning_parser = parser;
        test::stories_server s(o);
        auto c = s.client();
        auto r = c.request("POST", "/v1/chat/completions", body);
        REQUIRE(r.ok());
        INFO(r->body);
        REQUIRE(r->status == 200);
        simdjson::dom::parser json;
        simdjson::dom::element message;
        REQUIRE(json.parse(r->body)["choices"].at(0)["message"].get(message) ==
                simdjson::SUCCESS);
        std::pair<std::string, std::string> out;  // reasoning, content
        std::string_view text;
        if (!message["reasoning_content"].get_string().get(text)) out.first = text;
        if (!message["content"].get_string().get(text)) out.second = text;
        return out;
    };
    // Open: stories260K never writes </think>, so all 12 tokens are free reasoning and no
    // content was constrained (vLLM's behaviour: the grammar waits for the end).
    const auto [reasoning, content] = message_of(open_block, "deepseek_r1");
    CHECK(reasoning.size() > 12);
    CHECK(content.empty());
    // Closed in the prompt: the answer is constrained from the first token (qwen3: an
    // output that opens no block is content).
    const auto [no_reasoning, answer] = message_of(closed_block, "qwen3");
    CHECK(no_reasoning.empty());
    CHECK((answer == "yes" || answer == "no"));
}
