// api_router without sockets: API key, routing, model checks, the small
// endpoints, and generation requests end to end against the scripted backend
// (non-streamed objects, streamed chunks, n, stop, logprobs, error mapping).
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

struct fixture {
    scripted_backend backend;
    server_metrics metrics{"scripted"};
    api_router router{backend, metrics, {"", {"scripted", "alias"}, "/models/x.gguf"}};

    std::shared_ptr<recording_sink> call(const std::string& method, const std::string& target,
                                         const std::string& body = {},
                                         const std::string& auth = {}) {
        auto sink = std::make_shared<recording_sink>();
        router.handle({method, target, auth, body}, sink);
        REQUIRE(sink->wait_done());
        return sink;
    }
};

simdjson::dom::element parse_json(simdjson::dom::parser& parser, const std::string& text) {
    simdjson::dom::element e;
    INFO(text);
    REQUIRE(parser.parse(text).get(e) == simdjson::SUCCESS);
    return e;
}

std::string str(simdjson::dom::element e) { return std::string(e.get_string().value()); }

std::string expected_text(int32_t n, int32_t seq) {
    std::string s;
    for (int32_t j = 0; j < n; ++j) s += scripted_backend::token_text(j, seq);
    return s;
}

}  // namespace

TEST_CASE("router: API key guards /v1 routes only") {
    scripted_backend backend;
    server_metrics metrics("m");
    api_router router(backend, metrics, {"sekret", {"m"}, ""});
    CHECK(router.authorized("Bearer sekret"));
    CHECK_FALSE(router.authorized("Bearer wrong"));
    CHECK_FALSE(router.authorized("Bearer sekre"));
    CHECK_FALSE(router.authorized("sekret"));
    CHECK_FALSE(router.authorized(""));
    for (const char* auth : {"", "Bearer nope"}) {
        auto sink = std::make_shared<recording_sink>();
        router.handle({"GET", "/v1/models", auth, ""}, sink);
        REQUIRE(sink->done);
        CHECK(sink->status == 401);
        simdjson::dom::parser parser;
        CHECK(str(parse_json(parser, sink->body)["error"]["code"]) == "invalid_api_key");
    }
    auto ok = std::make_shared<recording_sink>();
    router.handle({"GET", "/v1/models", "Bearer sekret", ""}, ok);
    CHECK(ok->status == 200);
    auto health = std::make_shared<recording_sink>();
    router.handle({"GET", "/health", "", ""}, health);
    CHECK(health->status == 200);  // probes need no key
}

TEST_CASE("router: unknown paths are 404, wrong methods 405") {
    fixture f;
    CHECK(f.call("GET", "/nope")->status == 404);
    CHECK(f.call("GET", "/v1/completions")->status == 405);
    CHECK(f.call("POST", "/v1/models")->status == 405);
    CHECK(f.call("GET", "/health?x=1")->status == 200);
}

TEST_CASE("router: /v1/models, /version, /health") {
    fixture f;
    simdjson::dom::parser parser;
    auto models = parse_json(parser, f.call("GET", "/v1/models")->body);
    CHECK(str(models["object"]) == "list");
    auto data = models["data"].get_array().value();
    REQUIRE(data.size() == 2);
    CHECK(str(data.at(0)["id"]) == "scripted");
    CHECK(str(data.at(1)["id"]) == "alias");
    CHECK(str(data.at(0)["object"]) == "model");
    CHECK(str(data.at(0)["root"]) == "/models/x.gguf");
    CHECK(data.at(0)["max_model_len"].get_int64().value() == 4096);
    CHECK(str(parse_json(parser, f.call("GET", "/version")->body)["version"]) == "0.1.0");
    f.backend.healthy = false;
    auto sick = f.call("GET", "/health");
    CHECK(sick->status == 503);
    CHECK(f.call("POST", "/v1/completions", R"({"prompt":"x"})")->status == 503);
}

TEST_CASE("router: /tokenize and /detokenize in vLLM's shapes") {
    fixture f;
    simdjson::dom::parser parser;
    auto tok = parse_json(parser, f.call("POST", "/tokenize", R"({"prompt":"ab"})")->body);
    auto tokens = tok["tokens"].get_array().value();
    REQUIRE(tokens.size() == 3);  // BOS + 2 bytes
    CHECK(tokens.at(1).get_int64().value() == 'a');
    CHECK(tok["count"].get_int64().value() == 3);
    CHECK(tok["max_model_len"].get_int64().value() == 4096);
    auto chat = parse_json(
        parser,
        f.call("POST", "/tokenize", R"({"messages":[{"role":"user","content":"q"}]})")->body);
    // "<|user|>q\n<|assistant|>" without BOS: the template owns special tokens.
    CHECK(chat["count"].get_int64().value() == 23);
    auto detok = parse_json(parser, f.call("POST", "/detokenize", R"({"tokens":[104,105]})")->body);
    CHECK(str(detok["prompt"]) == "hi");
    CHECK(f.call("POST", "/detokenize", R"({"tokens":[999]})")->status == 400);
    CHECK(f.call("POST", "/tokenize", R"({"model":"other","prompt":"x"})")->status == 404);
}

TEST_CASE("router: completion returns a text_completion with n choices and usage") {
    fixture f;
    auto sink = f.call("POST", "/v1/completions",
                       R"({"model":"alias","prompt":"abcd","max_tokens":3,"n":2})");
    CHECK(sink->status == 200);
    CHECK(sink->content_type == "application/json");
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, sink->body);
    CHECK(str(doc["object"]) == "text_completion");
    CHECK(str(doc["model"]) == "alias");
    CHECK(str(doc["id"]).rfind("cmpl-", 0) == 0);
    auto choices = doc["choices"].get_array().value();
    REQUIRE(choices.size() == 2);
    CHECK(str(choices.at(0)["text"]) == expected_text(3, 0));
    CHECK(str(choices.at(1)["text"]) == expected_text(3, 1));
    CHECK(str(choices.at(1)["finish_reason"]) == "length");
    CHECK(doc["usage"]["prompt_tokens"].get_int64().value() == 5);  // BOS + 4 bytes
    CHECK(doc["usage"]["completion_tokens"].get_int64().value() == 6);
}

TEST_CASE("router: a list of prompts gives choices indexed prompt * n + seq") {
    fixture f;
    auto sink = f.call("POST", "/v1/completions",
                       R"({"prompt":["a","bb"],"max_tokens":1,"n":2,"echo":true})");
    simdjson::dom::parser parser;
    auto choices = parse_json(parser, sink->body)["choices"].get_array().value();
    REQUIRE(choices.size() == 4);
    CHECK(choices.at(3)["index"].get_int64().value() == 3);
    CHECK(str(choices.at(2)["text"]) == "bb" + scripted_backend::token_text(0, 0));
    CHECK(str(choices.at(3)["text"]) == "bb" + scripted_backend::token_text(0, 1));
}

TEST_CASE("router: stop strings end with finish_reason stop") {
    fixture f;
    auto sink =
        f.call("POST", "/v1/completions", R"({"prompt":"a","max_tokens":10,"stop":[" w2"]})");
    simdjson::dom::parser parser;
    auto choice = parse_json(parser, sink->body)["choices"].at(0);
    CHECK(str(choice["text"]) == " w0 w1");
    CHECK(str(choice["finish_reason"]) == "stop");
    CHECK(str(choice["stop_reason"]) == " w2");
}

TEST_CASE("router: streamed completion concatenates to the non-streamed text") {
    fixture f;
    auto full =
        f.call("POST", "/v1/completions", R"({"prompt":"a","max_tokens":5,"temperature":0})");
    auto streamed = f.call("POST", "/v1/completions",
                           R"({"prompt":"a","max_tokens":5,"temperature":0,"stream":true,
                               "stream_options":{"include_usage":true}})");
    CHECK(streamed->streamed);
    CHECK(streamed->content_type == "text/event-stream");
    simdjson::dom::parser parser;
    const std::string expected = str(parse_json(parser, full->body)["choices"].at(0)["text"]);
    std::string text;
    std::vector<std::string> events;
    sse_decoder dec;
    dec.feed(streamed->body, [&](const std::string& e) { events.push_back(e); });
    REQUIRE(events.size() >= 3);
    CHECK(events.back() == "[DONE]");
    for (size_t i = 0; i + 2 < events.size(); ++i) {
        auto chunk = parse_json(parser, events[i]);
        CHECK(str(chunk["object"]) == "text_completion");
        text += str(chunk["choices"].at(0)["text"]);
    }
    CHECK(text == expected);
    auto usage = parse_json(parser, events[events.size() - 2]);
    CHECK(usage["choices"].get_array().value().size() == 0);
    CHECK(usage["usage"]["completion_tokens"].get_int64().value() == 5);
}

TEST_CASE("router: streamed chat starts with the assistant role, then content") {
    fixture f;
    auto sink =
        f.call("POST", "/v1/chat/completions",
               R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true})");
    std::vector<std::string> events;
    sse_decoder dec;
    dec.feed(sink->body, [&](const std::string& e) { events.push_back(e); });
    REQUIRE(events.size() == 4);  // role, 2 tokens (the last with finish_reason), [DONE]
    simdjson::dom::parser parser;
    auto first = parse_json(parser, events[0]);
    CHECK(str(first["object"]) == "chat.completion.chunk");
    CHECK(str(first["choices"].at(0)["delta"]["role"]) == "assistant");
    CHECK(str(parse_json(parser, events[1])["choices"].at(0)["delta"]["content"]) ==
          scripted_backend::token_text(0, 0));
    auto last = parse_json(parser, events[2]);
    CHECK(str(last["choices"].at(0)["finish_reason"]) == "length");
    CHECK(events[3] == "[DONE]");
}

TEST_CASE("router: chat response with logprobs") {
    fixture f;
    auto sink = f.call("POST", "/v1/chat/completions",
                       R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2,
                           "logprobs":true,"top_logprobs":2})");
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, sink->body);
    CHECK(str(doc["object"]) == "chat.completion");
    CHECK(str(doc["id"]).rfind("chatcmpl-", 0) == 0);
    auto content = doc["choices"].at(0)["logprobs"]["content"].get_array().value();
    REQUIRE(content.size() == 2);
    CHECK(str(content.at(1)["token"]) == scripted_backend::token_text(1, 0));
    CHECK(content.at(1)["logprob"].get_double().value() == doctest::Approx(-0.5));
    CHECK(content.at(1)["top_logprobs"].get_array().value().size() == 2);
}

TEST_CASE("router: completion logprobs") {
    fixture f;
    auto sink = f.call("POST", "/v1/completions", R"({"prompt":"a","max_tokens":3,"logprobs":1})");
    simdjson::dom::parser parser;
    auto lp = parse_json(parser, sink->body)["choices"].at(0)["logprobs"];
    CHECK(lp["tokens"].get_array().value().size() == 3);
    CHECK(lp["token_logprobs"].at(2).get_double().value() == doctest::Approx(-0.75));
    CHECK(lp["text_offset"].at(1).get_int64().value() == 3);
    CHECK(lp["top_logprobs"].at(0)[" alt0"].get_double().value() == doctest::Approx(-1.0));
}

TEST_CASE("router: every error case maps to its OpenAI status and code") {
    fixture f;
    simdjson::dom::parser parser;
    struct expect {
        const char* path;
        const char* body;
        int status;
        const char* code;
    };
    const expect cases[] = {
        {"/v1/completions", "{", 400, "invalid_json"},
        {"/v1/completions", R"({"model":"gpt-4","prompt":"x"})", 404, "model_not_found"},
        {"/v1/chat/completions", R"({"model":"nope","messages":[{"role":"user","content":"x"}]})",
         404, "model_not_found"},
        {"/v1/completions", R"({"max_tokens":3})", 400, "missing_required_parameter"},
        {"/v1/completions", R"({"prompt":"x","temperature":-1})", 400, "invalid_value"},
        {"/v1/completions", R"({"prompt":[1,256]})", 400, "invalid_value"},  // out of vocabulary
        {"/v1/completions", R"({"prompt":"TOO_LONG"})", 400, "invalid_request"},
        {"/v1/completions", R"({"prompt":"TOO_LONG","stream":true})", 400, "invalid_request"},
        {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"TOO_LONG"}]})", 400,
         "invalid_request"},
        // An engine failure before any output is the server's, not the request's.
        {"/v1/completions", R"({"prompt":"ENGINE_FAIL"})", 500, "internal_error"},
    };
    for (const auto& c : cases) {
        INFO(c.body);
        auto sink = f.call("POST", c.path, c.body);
        CHECK(sink->status == c.status);
        CHECK_FALSE(sink->streamed);
        auto err = parse_json(parser, sink->body)["error"];
        CHECK(str(err["code"]) == c.code);
        CHECK_FALSE(str(err["message"]).empty());
    }
}

TEST_CASE("router: a client hang-up aborts the engine request") {
    scripted_backend backend(std::chrono::milliseconds(5));
    server_metrics metrics("m");
    api_router router(backend, metrics, {"", {"m"}, ""});
    auto sink = std::make_shared<recording_sink>();
    router.handle(
        {"POST", "/v1/completions", "", R"({"prompt":"a","max_tokens":4000,"stream":true})"}, sink);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    sink->hang_up();
    REQUIRE(sink->wait_done());
    CHECK(backend.num_aborts() == 1);
    for (int i = 0; i < 200 && backend.num_active() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    CHECK(backend.num_active() == 0);
    CHECK(metrics.exposition({}).find("finished_reason=\"abort\",model_name=\"m\"} 1.0") !=
          std::string::npos);
}

TEST_CASE("router: metrics after traffic") {
    fixture f;
    f.call("POST", "/v1/completions", R"({"prompt":"abc","max_tokens":4})");
    f.call("POST", "/v1/completions", R"({"prompt":"a","max_tokens":10,"stop":" w1"})");
    const std::string text = f.call("GET", "/metrics")->body;
    CHECK(
        text.find(
            "vllm:request_success_total{finished_reason=\"length\",model_name=\"scripted\"} 1.0") !=
        std::string::npos);
    CHECK(text.find(
              "vllm:request_success_total{finished_reason=\"stop\",model_name=\"scripted\"} 1.0") !=
          std::string::npos);
    CHECK(text.find("vllm:time_to_first_token_seconds_count{model_name=\"scripted\"} 2.0") !=
          std::string::npos);
    CHECK(text.find("vllm:inter_token_latency_seconds_count{model_name=\"scripted\"} 4.0") !=
          std::string::npos);  // 3 gaps + 1 gap
    CHECK(text.find("vllm:e2e_request_latency_seconds_count{model_name=\"scripted\"} 2.0") !=
          std::string::npos);
    CHECK(text.find("vllm:prompt_tokens_total{model_name=\"scripted\"} 6.0") != std::string::npos);
}

TEST_CASE("router: GET /v1/models/{id} retrieves one model, an unknown id is OpenAI's 404") {
    fixture f;
    simdjson::dom::parser parser;
    auto found = f.call("GET", "/v1/models/alias");
    CHECK(found->status == 200);
    auto card = parse_json(parser, found->body);
    CHECK(str(card["id"]) == "alias");
    CHECK(str(card["object"]) == "model");
    CHECK(str(card["owned_by"]) == "actorlm");
    CHECK(str(card["root"]) == "/models/x.gguf");
    CHECK(card["max_model_len"].get_int64().value() == 4096);
    CHECK(card["created"].get_int64().value() > 0);
    for (const char* target : {"/v1/models/gpt-4", "/v1/models/scripted/extra"}) {
        INFO(target);
        auto missing = f.call("GET", target);
        CHECK(missing->status == 404);
        auto err = parse_json(parser, missing->body)["error"];
        CHECK(str(err["type"]) == "invalid_request_error");
        CHECK(str(err["param"]) == "model");
        CHECK(str(err["code"]) == "model_not_found");
        CHECK(str(err["message"]).find(std::string(target).substr(11)) != std::string::npos);
    }
    CHECK(f.call("POST", "/v1/models/alias")->status == 405);

    // Hugging Face style names hold a '/', sent raw by the SDK or percent-encoded.
    scripted_backend backend;
    server_metrics metrics("m");
    api_router router(backend, metrics, {"", {"org/model"}, ""});
    for (const char* target : {"/v1/models/org/model", "/v1/models/org%2Fmodel"}) {
        INFO(target);
        auto sink = std::make_shared<recording_sink>();
        router.handle({"GET", target, "", ""}, sink);
        REQUIRE(sink->wait_done());
        CHECK(sink->status == 200);
        CHECK(str(parse_json(parser, sink->body)["id"]) == "org/model");
    }
}

TEST_CASE("router: add_special_tokens is honoured, /tokenize counts what generation runs") {
    fixture f;
    simdjson::dom::parser parser;
    auto usage = [&](const std::string& path, const std::string& body) {
        auto sink = f.call("POST", path, body);
        INFO(sink->body);
        REQUIRE(sink->status == 200);
        return parse_json(parser, sink->body)["usage"]["prompt_tokens"].get_int64().value();
    };
    auto count = [&](const std::string& body) {
        auto sink = f.call("POST", "/tokenize", body);
        INFO(sink->body);
        REQUIRE(sink->status == 200);
        return parse_json(parser, sink->body)["count"].get_int64().value();
    };
    // completions: BOS by default, none when the client says so
    CHECK(usage("/v1/completions", R"({"prompt":"abcd","max_tokens":1})") == 5);
    CHECK(usage("/v1/completions",
                R"({"prompt":"abcd","max_tokens":1,"add_special_tokens":false})") == 4);
    CHECK(count(R"({"prompt":"abcd","add_special_tokens":false})") == 4);
    // chat: the template carries BOS, so none by default; a client may still ask for one
    const std::string msgs = R"("messages":[{"role":"user","content":"q"}])";
    CHECK(usage("/v1/chat/completions", "{" + msgs + R"(,"max_tokens":1})") ==
          count("{" + msgs + "}"));
    CHECK(usage("/v1/chat/completions",
                "{" + msgs + R"(,"max_tokens":1,"add_special_tokens":true})") ==
          count("{" + msgs + R"(,"add_special_tokens":true})"));
    CHECK(count("{" + msgs + R"(,"add_special_tokens":true})") == count("{" + msgs + "}") + 1);
    CHECK(count("{" + msgs + R"(,"add_generation_prompt":false})") == 10);  // "<|user|>q\n"
    // a template that fails is a 400 naming the messages, before anything streams
    for (const char* stream : {"false", "true"}) {
        auto bad = f.call(
            "POST", "/v1/chat/completions",
            std::string(R"({"messages":[{"role":"user","content":"TEMPLATE_FAIL"}],"stream":)") +
                stream + "}");
        CHECK(bad->status == 400);
        CHECK_FALSE(bad->streamed);
        CHECK(str(parse_json(parser, bad->body)["error"]["param"]) == "messages");
    }
}

TEST_CASE("router: max_tokens beyond the context is vLLM's 400, streamed or not") {
    fixture f;  // max_model_len 4096; the prompt "abcd" is 5 tokens with BOS
    simdjson::dom::parser parser;
    struct over {
        const char* path;
        std::string body;
        const char* message;
    };
    const std::string chat = R"("messages":[{"role":"user","content":"q"}])";  // 23 tokens
    const std::string huge(4096, 'x');
    const over cases[] = {
        {"/v1/completions", R"({"prompt":"abcd","max_tokens":4092)",
         "This model's maximum context length is 4096 tokens. However, you requested 4097 tokens "
         "(5 in the messages, 4092 in the completion). Please reduce the length of the messages "
         "or completion."},
        {"/v1/chat/completions", "{" + chat + R"(,"max_tokens":4074)",
         "This model's maximum context length is 4096 tokens. However, you requested 4097 tokens "
         "(23 in the messages, 4074 in the completion). Please reduce the length of the messages "
         "or completion."},
        {"/v1/chat/completions", "{" + chat + R"(,"max_completion_tokens":5000)",
         "This model's maximum context length is 4096 tokens. However, you requested 5023 tokens "
         "(23 in the messages, 5000 in the completion). Please reduce the length of the messages "
         "or completion."},
        // without max_tokens the prompt alone must leave room for a token
        {"/v1/completions", R"({"prompt":")" + huge + R"(")",
         "This model's maximum context length is 4096 tokens. However, you requested 4097 tokens "
         "in the messages, Please reduce the length of the messages."},
        // one prompt of a list over the limit fails the whole request before any stream
        {"/v1/completions", R"({"prompt":["a",")" + huge.substr(100) + R"("],"max_tokens":200)",
         "This model's maximum context length is 4096 tokens. However, you requested 4197 tokens "
         "(3997 in the messages, 200 in the completion). Please reduce the length of the messages "
         "or completion."},
    };
    for (const auto& c : cases) {
        for (const char* stream : {"}", R"(,"stream":true})"}) {
            INFO(c.body.substr(0, 80) << stream);
            auto sink = f.call("POST", c.path, c.body + stream);
            CHECK(sink->status == 400);
            CHECK_FALSE(sink->streamed);
            CHECK(sink->content_type == "application/json");
            auto err = parse_json(parser, sink->body)["error"];
            CHECK(str(err["message"]) == c.message);
            CHECK(str(err["type"]) == "invalid_request_error");
            CHECK(str(err["code"]) == "context_length_exceeded");
        }
    }
    // exactly full is fine, and without max_tokens the rest of the context is used
    auto fits =
        f.call("POST", "/v1/completions", R"({"prompt":"abcd","max_tokens":4091,"stop":" w2"})");
    CHECK(fits->status == 200);
    auto open = f.call("POST", "/v1/chat/completions", "{" + chat + "}");
    CHECK(open->status == 200);
    CHECK(f.call("POST", "/v1/completions", R"({"prompt":")" + huge.substr(2) + R"("})")->status ==
          200);
}

TEST_CASE("router: POST /reset_prefix_cache resets when idle, is 503 while busy, needs the key") {
    fixture f;
    CHECK(f.call("GET", "/reset_prefix_cache")->status == 405);
    auto ok = f.call("POST", "/reset_prefix_cache");
    CHECK(ok->status == 200);
    CHECK(ok->body == R"({"reset":true})");
    CHECK(f.backend.num_resets() == 1);

    scripted_backend slow(std::chrono::milliseconds(5));
    server_metrics metrics("m");
    api_router router(slow, metrics, {"sekret", {"m"}, ""});
    auto stream = std::make_shared<recording_sink>();
    router.handle({"POST", "/v1/completions", "Bearer sekret",
                   R"({"prompt":"a","max_tokens":4000,"stream":true})"},
                  stream);
    for (int i = 0; i < 200 && slow.num_active() == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    auto unauthorized = std::make_shared<recording_sink>();
    router.handle({"POST", "/reset_prefix_cache", "", ""}, unauthorized);
    REQUIRE(unauthorized->wait_done());
    CHECK(unauthorized->status == 401);
    auto busy = std::make_shared<recording_sink>();
    router.handle({"POST", "/reset_prefix_cache", "Bearer sekret", ""}, busy);
    REQUIRE(busy->wait_done());
    CHECK(busy->status == 503);
    CHECK(busy->body.find("requests hold KV blocks") != std::string::npos);
    CHECK(slow.num_resets() == 0);
    stream->hang_up();
    REQUIRE(stream->wait_done());
}

TEST_CASE("router: /metrics carries the external prefix cache and KV connector counters") {
    engine_stats s;
    s.external_prefix_cache_queries_total = 640;
    s.external_prefix_cache_hits_total = 512;
    s.num_requests_waiting_for_remote_kvs = 2;
    s.kv_connector_bytes_loaded_total = 4096;
    s.kv_connector_evictions_total = 3;
    s.kv_connector_blocks_stored = 7;
    server_metrics metrics("m");
    const std::string text = metrics.exposition(s);
    for (const char* line : {"vllm:external_prefix_cache_queries_total{model_name=\"m\"} 640.0",
                             "vllm:external_prefix_cache_hits_total{model_name=\"m\"} 512.0",
                             "vllm:num_requests_waiting_for_remote_kvs{model_name=\"m\"} 2.0",
                             "actorlm:kv_connector_bytes_loaded_total{model_name=\"m\"} 4096.0",
                             "actorlm:kv_connector_evictions_total{model_name=\"m\"} 3.0",
                             "actorlm:kv_connector_blocks_stored{model_name=\"m\"} 7.0",
                             "# TYPE actorlm:kv_connector_blocks_stored gauge"}) {
        INFO(line);
        CHECK(text.find(line) != std::string::npos);
    }
}

TEST_CASE("router: /cluster/members lists, adds and removes a router's members") {
    fixture f;
    simdjson::dom::parser parser;
    auto list = [&] {
        auto r = f.call("GET", "/cluster/members");
        REQUIRE(r->status == 200);
        return std::string(r->body);
    };
    CHECK(parse_json(parser, list())["data"].get_array().value().size() == 0);
    auto added = f.call("POST", "/cluster/members", R"({"address":"10.0.0.2:9001"})");
    CHECK(added->status == 200);
    CHECK(parse_json(parser, added->body)["added"].get_bool().value());
    CHECK(f.call("POST", "/cluster/members", R"({"address":"10.0.0.3:9001","role":"decode"})")
              ->status == 200);
    {
        const std::string body = list();
        auto data = parse_json(parser, body)["data"].get_array().value();
        REQUIRE(data.size() == 2);
        CHECK(str(data.at(0)["address"]) == "10.0.0.2:9001");
        CHECK(str(data.at(0)["role"]) == "replica");
        CHECK(str(data.at(1)["role"]) == "decode");
        CHECK(data.at(1)["healthy"].get_bool().value());
    }
    // Removing names the member in the path (percent-encoding allowed).
    CHECK(f.call("DELETE", "/cluster/members/10.0.0.2%3A9001")->status == 200);
    CHECK(parse_json(parser, list())["data"].get_array().value().size() == 1);

    // Errors: OpenAI-style 400s naming the problem, 405 for other methods.
    auto dup = f.call("POST", "/cluster/members", R"({"address":"10.0.0.3:9001"})");
    CHECK(dup->status == 400);
    CHECK(dup->body.find("member already") != std::string::npos);
    auto missing = f.call("POST", "/cluster/members", R"({"role":"replica"})");
    CHECK(missing->status == 400);
    CHECK(missing->body.find("address") != std::string::npos);
    CHECK(f.call("POST", "/cluster/members", R"({"address":5})")->status == 400);
    CHECK(f.call("POST", "/cluster/members", "not json")->status == 400);
    auto unknown = f.call("DELETE", "/cluster/members/10.9.9.9:1");
    CHECK(unknown->status == 400);
    CHECK(unknown->body.find("no cluster member") != std::string::npos);
    CHECK(f.call("PUT", "/cluster/members")->status == 405);

    // Live migration: both members must exist; 400s name what is wrong.
    CHECK(f.call("POST", "/cluster/members", R"({"address":"10.0.0.4:9001"})")->status == 200);
    auto moved = f.call("POST", "/cluster/migrate", R"({"from":"10.0.0.3:9001","to":"10.0.0.4:9001"})");
    CHECK(moved->status == 200);
    CHECK(parse_json(parser, moved->body)["migrated"].get_int64().value() == 0);
    auto nowhere = f.call("POST", "/cluster/migrate", R"({"from":"10.0.0.3:9001","to":"10.9.9.9:1"})");
    CHECK(nowhere->status == 400);
    CHECK(nowhere->body.find("10.9.9.9:1") != std::string::npos);
    CHECK(f.call("POST", "/cluster/migrate", R"({"from":"10.0.0.3:9001"})")->status == 400);
    CHECK(f.call("GET", "/cluster/migrate")->status == 405);
    CHECK(f.call("DELETE", "/cluster/members/10.0.0.4:9001")->status == 200);

    // /metrics carries a gauge per member.
    const std::string metrics = f.call("GET", "/metrics")->body;
    CHECK(metrics.find("actorlm:cluster_member_healthy{member=\"10.0.0.3:9001\",role=\"decode\"") !=
          std::string::npos);
    CHECK(metrics.find("10.0.0.2:9001") == std::string::npos);
}

TEST_CASE("router: /cluster/members needs the API key") {
    scripted_backend backend;
    server_metrics metrics("m");
    api_router router(backend, metrics, {"sekret", {"m"}, ""});
    auto sink = std::make_shared<recording_sink>();
    router.handle({"GET", "/cluster/members", "", ""}, sink);
    REQUIRE(sink->wait_done());
    CHECK(sink->status == 401);
}
