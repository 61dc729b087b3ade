// End-to-end: `actorlm serve`'s stack (http_server + api_router + the real
// actorlm::engine on stories260K) over loopback sockets. Built only when the
// engine facade (actorlm_actors) exists. Covers completions, chat through a real
// template, streamed == non-streamed greedy text, n=2, stop strings, logprobs,
// the error cases, a hang-up aborting its request, /metrics after traffic, 512
// concurrent streams, and SIGTERM draining.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <future>
#include <thread>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "bench/load_generator.hpp"
#include "net/sse.hpp"
#include "stories_server.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

constexpr int32_t k_max_model_len = 256;

// The suite's server: a 256-token context, up to 512 sequences.
struct e2e_server : test::stories_server {
    explicit e2e_server(
        std::string api_key = {}, bool handle_signals = false,
        const std::string& chat_template = "templates/Qwen-Qwen2.5-7B-Instruct.jinja")
        : stories_server({std::move(api_key), handle_signals, chat_template, k_max_model_len}) {}
};

struct json_doc {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    explicit json_doc(const std::string& text) {
        INFO(text);
        REQUIRE(parser.parse(text).get(root) == simdjson::SUCCESS);
    }
};

std::string str(simdjson::dom::element e) { return std::string(e.get_string().value()); }

client_response post(http_client& c, const std::string& path, const std::string& body,
                     const std::map<std::string, std::string>& headers = {}) {
    auto r = c.request("POST", path, body, headers);
    const std::string what = r.ok() ? r->body : r.message();
    INFO(what);
    REQUIRE(r.ok());
    return std::move(r.value());
}

// Streams `body`, returning the data payloads of every event.
std::vector<std::string> stream_events(http_client& c, const std::string& path,
                                       const std::string& body) {
    std::vector<std::string> events;
    sse_decoder dec;
    auto r = c.stream("POST", path, body, [&](std::string_view bytes) {
        dec.feed(bytes, [&](const std::string& e) { events.push_back(e); });
        return true;
    });
    REQUIRE(r.ok());
    CHECK(r->status == 200);
    return events;
}

}  // namespace

TEST_CASE("e2e: greedy completion, and the stream concatenates to the same text") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    auto c = s.client();
    const std::string req = R"({"model":"stories","prompt":"Once upon a time","max_tokens":24,
                                "temperature":0,"ignore_eos":true)";
    auto full = post(c, "/v1/completions", req + "}");
    CHECK(full.status == 200);
    json_doc doc(full.body);
    CHECK(str(doc.root["object"]) == "text_completion");
    const std::string text = str(doc.root["choices"].at(0)["text"]);
    CHECK_FALSE(text.empty());
    CHECK(str(doc.root["choices"].at(0)["finish_reason"]) == "length");
    CHECK(doc.root["usage"]["completion_tokens"].get_int64().value() == 24);
    CHECK(doc.root["usage"]["prompt_tokens"].get_int64().value() > 1);

    const auto events = stream_events(
        c, "/v1/completions", req + R"(,"stream":true,"stream_options":{"include_usage":true}})");
    REQUIRE(events.size() >= 3);
    CHECK(events.back() == "[DONE]");
    std::string streamed;
    for (size_t i = 0; i + 2 < events.size(); ++i) {
        json_doc chunk(events[i]);
        streamed += str(chunk.root["choices"].at(0)["text"]);
    }
    CHECK(streamed == text);
    json_doc usage(events[events.size() - 2]);
    CHECK(usage.root["usage"]["completion_tokens"].get_int64().value() == 24);
}

TEST_CASE("e2e: chat through a real template, usage counts the rendered prompt") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    e2e_server s;
    auto c = s.client();
    const std::string messages =
        R"([{"role":"system","content":"Tell stories."},{"role":"user","content":"Lily had a cat."}])";
    auto r = post(c, "/v1/chat/completions",
                  R"({"messages":)" + messages + R"(,"max_tokens":12,"temperature":0})");
    CHECK(r.status == 200);
    json_doc doc(r.body);
    CHECK(str(doc.root["object"]) == "chat.completion");
    CHECK(str(doc.root["id"]).rfind("chatcmpl-", 0) == 0);
    CHECK(str(doc.root["choices"].at(0)["message"]["role"]) == "assistant");
    auto tok = post(c, "/tokenize", R"({"messages":)" + messages + "}");
    json_doc tdoc(tok.body);
    CHECK(doc.root["usage"]["prompt_tokens"].get_int64().value() ==
          tdoc.root["count"].get_int64().value());
    CHECK(tdoc.root["max_model_len"].get_int64().value() == k_max_model_len);

    const auto events = stream_events(
        c, "/v1/chat/completions",
        R"({"messages":)" + messages + R"(,"max_tokens":12,"temperature":0,"stream":true})");
    json_doc first(events.front());
    CHECK(str(first.root["choices"].at(0)["delta"]["role"]) == "assistant");
    std::string streamed;
    for (size_t i = 1; i + 1 < events.size(); ++i) {
        json_doc chunk(events[i]);
        std::string_view piece;
        if (!chunk.root["choices"].at(0)["delta"]["content"].get(piece)) streamed += piece;
    }
    CHECK(streamed == str(doc.root["choices"].at(0)["message"]["content"]));
}

TEST_CASE("e2e: n=2 gives two choices, stop strings cut the text") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    auto c = s.client();
    json_doc two(post(c, "/v1/completions",
                      R"({"prompt":"The dog","max_tokens":8,"n":2,"temperature":1.0,"seed":7})")
                     .body);
    auto choices = two.root["choices"].get_array().value();
    REQUIRE(choices.size() == 2);
    CHECK(choices.at(1)["index"].get_int64().value() == 1);
    CHECK(two.root["usage"]["completion_tokens"].get_int64().value() <= 16);

    json_doc greedy(
        post(c, "/v1/completions",
             R"({"prompt":"Once upon a time","max_tokens":40,"temperature":0,"ignore_eos":true})")
            .body);
    const std::string text = str(greedy.root["choices"].at(0)["text"]);
    REQUIRE(text.size() > 12);
    const std::string stop = text.substr(text.size() / 2, 3);
    const size_t cut = text.find(stop);
    json_doc stopped(
        post(
            c, "/v1/completions",
            R"({"prompt":"Once upon a time","max_tokens":40,"temperature":0,"ignore_eos":true,"stop":[")" +
                stop + R"("]})")
            .body);
    CHECK(str(stopped.root["choices"].at(0)["text"]) == text.substr(0, cut));
    CHECK(str(stopped.root["choices"].at(0)["finish_reason"]) == "stop");
}

TEST_CASE("e2e: logprobs in completions and chat") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    auto c = s.client();
    json_doc comp(
        post(c, "/v1/completions",
             R"({"prompt":"Once","max_tokens":5,"temperature":0,"logprobs":3,"ignore_eos":true})")
            .body);
    auto lp = comp.root["choices"].at(0)["logprobs"];
    CHECK(lp["tokens"].get_array().value().size() == 5);
    const simdjson::dom::array token_logprobs = lp["token_logprobs"].get_array().value();
    for (auto v : token_logprobs) CHECK(v.get_double().value() <= 0.0);
    const simdjson::dom::array top_logprobs = lp["top_logprobs"].get_array().value();
    for (auto top : top_logprobs) {
        const size_t n = top.get_object().value().size();
        CHECK(n >= 1);
        CHECK(n <= 4);  // top 3, plus the sampled token when it is not among them
    }
    json_doc chat(
        post(c, "/v1/chat/completions",
             R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":4,"temperature":0,
                           "logprobs":true,"top_logprobs":2})")
            .body);
    auto content = chat.root["choices"].at(0)["logprobs"]["content"].get_array().value();
    REQUIRE(content.size() >= 1);
    CHECK(content.at(0)["top_logprobs"].get_array().value().size() == 2);
    CHECK(content.at(0)["bytes"].get_array().value().size() == str(content.at(0)["token"]).size());
}

TEST_CASE("e2e: every error case") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s("key1");
    auto c = s.client();
    const std::map<std::string, std::string> auth = {{"Authorization", "Bearer key1"}};
    struct expect {
        const char* path;
        std::string body;
        int status;
        const char* code;
    };
    std::string too_long = R"({"prompt":[)";
    for (int i = 0; i < k_max_model_len + 10; ++i) too_long += (i ? ",5" : "5");
    too_long += "]}";
    const expect cases[] = {
        {"/v1/completions", "{", 400, "invalid_json"},
        {"/v1/completions", R"({"model":"gpt-4","prompt":"x"})", 404, "model_not_found"},
        {"/v1/completions", R"({"prompt":"x","temperature":-1})", 400, "invalid_value"},
        {"/v1/completions", R"({"prompt":"x","top_p":0})", 400, "invalid_value"},
        {"/v1/completions", R"({"prompt":"x","n":0})", 400, "invalid_value"},
        {"/v1/completions", R"({"prompt":"x","logprobs":21})", 400, "invalid_value"},
        {"/v1/completions", R"({"prompt":"x","max_tokens":0})", 400, "invalid_value"},
        {"/v1/completions", R"({"max_tokens":3})", 400, "missing_required_parameter"},
        {"/v1/completions", R"({"prompt":[1,100000]})", 400, "invalid_value"},
        {"/v1/completions", too_long, 400, "context_length_exceeded"},
        {"/v1/chat/completions", R"({"messages":[{"role":"user"}]})", 400,
         "missing_required_parameter"},
        {"/v1/chat/completions", R"({"messages":[]})", 400, "invalid_value"},
        {"/v1/chat/completions", R"({"messages":[{"role":"user","content":"x"}],"top_logprobs":2})",
         400, "invalid_value"},
    };
    for (const auto& e : cases) {
        INFO(e.body.substr(0, 120));
        auto r = post(c, e.path, e.body, auth);
        CHECK(r.status == e.status);
        json_doc doc(r.body);
        CHECK(str(doc.root["error"]["code"]) == e.code);
        CHECK_FALSE(str(doc.root["error"]["message"]).empty());
    }
    CHECK(post(c, "/v1/completions", R"({"prompt":"x"})").status == 401);
    CHECK(
        post(c, "/v1/completions", R"({"prompt":"x"})", {{"Authorization", "Bearer no"}}).status ==
        401);
    CHECK(c.request("GET", "/v1/completions", {}, auth)->status == 405);
    CHECK(c.request("GET", "/nope")->status == 404);
    auto model = c.request("GET", "/v1/models/stories", {}, auth);
    REQUIRE(model.ok());
    CHECK(model->status == 200);
    CHECK(str(json_doc(model->body).root["id"]) == "stories");
    auto unknown = c.request("GET", "/v1/models/gpt-4", {}, auth);
    REQUIRE(unknown.ok());
    CHECK(unknown->status == 404);
    CHECK(str(json_doc(unknown->body).root["error"]["code"]) == "model_not_found");
    CHECK(c.request("GET", "/health")->status == 200);
}

TEST_CASE("e2e: a runaway chat template fails its request with a 400 naming the limit") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    // Templates come with downloaded models: this one would loop 10^10 times.
    e2e_server s({}, false,
                 "{% for m in messages %}{% for i in range(100000) %}{% for j in range(100000) %}"
                 "{% endfor %}{% endfor %}{{ m.content }}{% endfor %}");
    auto c = s.client();
    const auto t0 = std::chrono::steady_clock::now();
    auto r = post(c, "/v1/chat/completions",
                  R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})");
    CHECK(r.status == 400);
    json_doc doc(r.body);
    CHECK(str(doc.root["error"]["message"]).find("render limit") != std::string::npos);
    CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(15));
    // The server still serves what does not need the template.
    CHECK(post(c, "/v1/completions", R"({"prompt":"Once","max_tokens":2})").status == 200);
    CHECK(c.request("GET", "/health")->status == 200);
}

TEST_CASE("e2e: a client hang-up mid-stream aborts its request, /metrics reflects traffic") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    {
        auto c = s.client();
        int events = 0;
        sse_decoder dec;
        auto r = c.stream("POST", "/v1/completions",
                          R"({"prompt":"Once","max_tokens":200,"ignore_eos":true,"stream":true})",
                          [&](std::string_view bytes) {
                              dec.feed(bytes, [&](const std::string&) { ++events; });
                              return events < 2;
                          });
        REQUIRE(r.ok());
    }
    for (int i = 0; i < 500 && s.eng->stats().num_requests_running > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    CHECK(s.eng->stats().num_requests_running == 0);
    auto c = s.client();
    post(c, "/v1/completions", R"({"prompt":"Once","max_tokens":4,"ignore_eos":true})");
    // The running gauge is the scheduler's last report, which may follow the response's
    // final bytes by one step (vLLM's gauges lag the same way): wait for it to settle.
    const std::string idle = "vllm:num_requests_running{model_name=\"stories\"} 0.0";
    std::string text = c.request("GET", "/metrics")->body;
    for (int i = 0; i < 250 && text.find(idle) == std::string::npos; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        text = c.request("GET", "/metrics")->body;
    }
    CHECK(text.find(
              "vllm:request_success_total{finished_reason=\"abort\",model_name=\"stories\"} 1.0") !=
          std::string::npos);
    CHECK(
        text.find(
            "vllm:request_success_total{finished_reason=\"length\",model_name=\"stories\"} 1.0") !=
        std::string::npos);
    CHECK(text.find("vllm:generation_tokens_total{model_name=\"stories\"} 0.0") ==
          std::string::npos);
    CHECK(text.find("vllm:time_to_first_token_seconds_count{model_name=\"stories\"} 2.0") !=
          std::string::npos);
    CHECK(text.find("vllm:request_queue_time_seconds_count{model_name=\"stories\"} 2.0") !=
          std::string::npos);
    CHECK(text.find(idle) != std::string::npos);
}

TEST_CASE("e2e: 512 concurrent streams") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    std::vector<load_request> requests(512);
    for (size_t i = 0; i < requests.size(); ++i)
        requests[i].body =
            R"({"prompt":"Once upon a time )" + std::to_string(i) +
            R"(","max_tokens":8,"ignore_eos":true,"stream":true,"stream_options":{"include_usage":true}})";
    load_options lo;
    lo.port = s.server->port();
    lo.max_concurrency = 512;
    lo.timeout_s = 300;
    const auto results = run_load(lo, requests);
    int ok = 0;
    for (const auto& r : results) {
        if (!r.success) MESSAGE(r.error);
        ok += r.success && r.output_tokens == 8 ? 1 : 0;
    }
    CHECK(ok == 512);
}

TEST_CASE("e2e: SIGTERM finishes the in-flight stream, then the server stops") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s({}, true);
    std::promise<void> started;
    auto stream = std::async(std::launch::async, [&] {
        auto c = s.client();
        std::vector<std::string> events;
        sse_decoder dec;
        bool signalled = false;
        auto r = c.stream("POST", "/v1/completions",
                          R"({"prompt":"Once","max_tokens":64,"ignore_eos":true,"stream":true})",
                          [&](std::string_view bytes) {
                              dec.feed(bytes, [&](const std::string& e) { events.push_back(e); });
                              if (!signalled && !events.empty()) {
                                  signalled = true;
                                  started.set_value();
                              }
                              return true;
                          });
        return r.ok() ? events : std::vector<std::string>{};
    });
    started.get_future().wait();
    std::raise(SIGTERM);
    s.server->wait();
    const auto events = stream.get();
    REQUIRE_FALSE(events.empty());
    CHECK(events.back() == "[DONE]");
    // The fixture's destructor releases the engine (and the callbacks that hold the
    // connections) before the server, as http_server.hpp requires.
}

namespace {

std::vector<int64_t> tokenize(http_client& c, const std::string& body) {
    auto r = post(c, "/tokenize", body);
    CHECK(r.status == 200);
    json_doc doc(r.body);
    std::vector<int64_t> ids;
    const simdjson::dom::array tokens = doc.root["tokens"].get_array().value();
    for (auto id : tokens) ids.push_back(id.get_int64().value());
    CHECK(doc.root["count"].get_int64().value() == static_cast<int64_t>(ids.size()));
    return ids;
}

int64_t prompt_tokens(http_client& c, const std::string& path, const std::string& body) {
    auto r = post(c, path, body);
    CHECK(r.status == 200);
    return json_doc(r.body).root["usage"]["prompt_tokens"].get_int64().value();
}

}  // namespace

TEST_CASE("e2e: /tokenize counts what generation runs: special tokens, BOS, templates") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("templates/google-gemma-2-2b-it.jinja");
    // Gemma's template writes {{ bos_token }} ("<s>" for stories260K) as text.
    e2e_server s({}, false, "templates/google-gemma-2-2b-it.jinja");
    auto c = s.client();
    const auto plain = tokenize(c, R"({"prompt":"Once"})");
    REQUIRE(plain.size() >= 2);
    const int64_t bos = plain.front();

    // A special token written in a prompt is that token (HF, vLLM), in /tokenize and in
    // the prompt a completion runs.
    const auto written = tokenize(c, R"({"prompt":"<s>Once"})");
    CHECK(written == std::vector<int64_t>{bos, bos, plain[1]});
    CHECK(prompt_tokens(c, "/v1/completions", R"({"prompt":"<s>Once","max_tokens":1})") == 3);

    // add_special_tokens: false drops BOS from completions and /tokenize alike.
    CHECK(tokenize(c, R"({"prompt":"Once","add_special_tokens":false})").front() != bos);
    const int64_t with_bos =
        prompt_tokens(c, "/v1/completions", R"({"prompt":"Once upon a time","max_tokens":1})");
    CHECK(prompt_tokens(
              c, "/v1/completions",
              R"({"prompt":"Once upon a time","max_tokens":1,"add_special_tokens":false})") ==
          with_bos - 1);

    // /tokenize with messages renders and parses like /v1/chat/completions: one BOS,
    // from the template, and the same count as usage.prompt_tokens.
    const std::string msgs = R"("messages":[{"role":"user","content":"Lily had a cat."}])";
    const auto chat_ids = tokenize(c, "{" + msgs + "}");
    CHECK(chat_ids.front() == bos);
    CHECK(std::count(chat_ids.begin(), chat_ids.end(), bos) == 1);
    CHECK(prompt_tokens(c, "/v1/chat/completions", "{" + msgs + R"(,"max_tokens":2})") ==
          static_cast<int64_t>(chat_ids.size()));
    CHECK(tokenize(c, "{" + msgs + R"(,"add_special_tokens":true})").size() == chat_ids.size() + 1);
}

TEST_CASE("e2e: max_tokens beyond the context is a 400 naming the limit, streamed or not") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    e2e_server s;
    auto c = s.client();
    const auto n = static_cast<int64_t>(tokenize(c, R"({"prompt":"Once upon a time"})").size());
    const std::string expected =
        "This model's maximum context length is 256 tokens. However, you requested " +
        std::to_string(n + 256) + " tokens (" + std::to_string(n) +
        " in the messages, 256 in the completion). Please reduce the length of the messages or "
        "completion.";
    for (const char* stream : {"false", "true"}) {
        INFO("stream " << stream);
        auto r = post(c, "/v1/completions",
                      std::string(R"({"prompt":"Once upon a time","max_tokens":256,"stream":)") +
                          stream + "}");
        CHECK(r.status == 400);
        json_doc doc(r.body);
        CHECK(str(doc.root["error"]["message"]) == expected);
        CHECK(str(doc.root["error"]["code"]) == "context_length_exceeded");
        auto chat = post(c, "/v1/chat/completions",
                         std::string(R"({"messages":[{"role":"user","content":"hi"}],)"
                                     R"("max_completion_tokens":300,"stream":)") +
                             stream + "}");
        CHECK(chat.status == 400);
        CHECK(str(json_doc(chat.body).root["error"]["code"]) == "context_length_exceeded");
    }
    // The exact rest of the context is allowed and generated in full.
    auto fits =
        post(c, "/v1/completions",
             R"({"prompt":"Once upon a time","temperature":0,"ignore_eos":true,"max_tokens":)" +
                 std::to_string(256 - n) + "}");
    CHECK(fits.status == 200);
    json_doc doc(fits.body);
    CHECK(doc.root["usage"]["completion_tokens"].get_int64().value() == 256 - n);
    CHECK(str(doc.root["choices"].at(0)["finish_reason"]) == "length");
}
