// The soak (issue 20) against the real stack on stories260K: every request kind of
// the mix, and every bad body, gets the answer the soak expects (so a soak's
// "unexpected" count means a server fault, not a workload bug), the engine holds
// nothing afterwards; and `tools/soak` itself drives `actorlm serve` for a short run
// with preemption, no unexpected answer and no leak, as CI runs it.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "bench/http_client.hpp"
#include "bench/server_counters.hpp"
#include "bench/soak_workload.hpp"
#include "stories_server.hpp"
#include "support/shared_data.hpp"
#include "support/shell.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace e2e_soak_test {

// The server's token pool and context, as `actorlm soak` learns them.
soak_model_facts learn_facts(http_client& c) {
    auto r = c.request("POST", "/tokenize",
                       R"({"prompt": "the cat sat on a mat and the dog ran to the big red house )"
                       R"(under the sun and the little girl saw the moon at night"})");
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(r->body).get(doc) == simdjson::SUCCESS);
    simdjson::dom::array tokens;
    int64_t max_model_len = 0;
    REQUIRE(doc["tokens"].get(tokens) == simdjson::SUCCESS);
    REQUIRE(doc["max_model_len"].get(max_model_len) == simdjson::SUCCESS);
    soak_model_facts facts;
    for (auto t : tokens) facts.token_pool.push_back(static_cast<int32_t>(int64_t(t)));
    facts.max_model_len = static_cast<int32_t>(max_model_len);
    facts.chat = true;  // the server renders chat through a real template
    return facts;
}


}  // namespace e2e_soak_test

using namespace e2e_soak_test;

TEST_CASE("soak workload: every kind and every bad body gets the answer the soak expects") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    test::stories_server s({{}, false, "templates/Qwen-Qwen2.5-7B-Instruct.jinja", 256, 16, 2});
    auto c = s.client();
    const soak_model_facts facts = learn_facts(c);
    std::mt19937_64 rng(7);
    const auto prefixes = make_shared_prefixes(facts, 2, 64, rng);
    for (int k = 0; k < k_soak_kind_count; ++k) {
        for (int i = 0; i < 4; ++i) {
            const auto request =
                make_soak_request_of_kind(static_cast<soak_kind>(k), facts, prefixes, rng);
            const auto fault = run_soak_request(c, request, {});
            INFO(soak_kind_name(request.kind), " ", request.body);
            CHECK_MESSAGE(!fault, fault.value_or(""));
        }
    }
    for (const auto& bad : soak_bad_bodies()) {
        soak_request request;
        request.kind = soak_kind::bad_request;
        request.target = "/v1/completions";
        request.body = bad.body;
        request.expected_statuses = {bad.status};
        const auto fault = run_soak_request(c, request, {});
        INFO(bad.body);
        CHECK_MESSAGE(!fault, fault.value_or(""));
    }
    // Hung-up requests are aborted: nothing stays running and no block stays held.
    std::optional<server_load> load;
    for (int i = 0; i < 100; ++i) {
        load = fetch_server_load(c, "");
        REQUIRE(load);
        if (load->running == 0 && load->waiting == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(load->running == 0);
    CHECK(load->waiting == 0);
    CHECK(load->kv_cache_usage == 0);
}

TEST_CASE("soak workload: a wrong answer of each sort is a fault") {
    soak_request stream;
    stream.kind = soak_kind::completion_stream;
    stream.stream = true;
    const std::string usage = R"(data: {"choices":[],"usage":{"prompt_tokens":1}})" "\n\n";
    const std::string finished =
        R"(data: {"choices":[{"index":0,"text":"a","finish_reason":"stop"}]})" "\n\n";
    CHECK_FALSE(soak_fault(stream, 200, finished + usage + "data: [DONE]\n\n"));
    CHECK(soak_fault(stream, 200, finished + usage));  // cut short
    CHECK(soak_fault(stream, 200, usage + "data: [DONE]\n\n"));  // no finished choice
    CHECK(soak_fault(stream, 200,
                     finished + R"(data: {"error":{"message":"boom"}})" "\n\n" + usage +
                         "data: [DONE]\n\n"));
    CHECK(soak_fault(stream, 500, R"({"error":{"message":"boom"}})"));

    soak_request bad;
    bad.kind = soak_kind::bad_request;
    bad.expected_statuses = {400};
    CHECK_FALSE(soak_fault(bad, 400, R"({"error":{"message":"max_tokens must be >= 1"}})"));
    CHECK(soak_fault(bad, 400, "Bad Request"));  // not an OpenAI error object
    CHECK(soak_fault(bad, 200, R"({"choices":[]})"));

    soak_request structured;
    structured.kind = soak_kind::structured;
    const std::string tail = R"(],"usage":{"prompt_tokens":1}})";
    CHECK_FALSE(soak_fault(structured, 200,
                           R"({"choices":[{"index":0,"text":"maybe, 12","finish_reason":"stop"})" +
                               tail));
    CHECK_FALSE(soak_fault(structured, 200,  // cut by max_tokens: a prefix is fine
                           R"({"choices":[{"index":0,"text":"ma","finish_reason":"length"})" +
                               tail));
    CHECK(soak_fault(structured, 200,
                     R"({"choices":[{"index":0,"text":"perhaps","finish_reason":"stop"})" + tail));

    soak_request two;
    two.kind = soak_kind::parallel_samples;
    two.choices = 2;
    CHECK(soak_fault(two, 200,
                     R"({"choices":[{"index":0,"text":"a","finish_reason":"stop"})" + tail));
}

TEST_CASE("soak: tools/soak drives actorlm serve with preemption, no unexpected answer, no leak") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string output = (std::filesystem::temp_directory_path() /
                                ("soak_" + std::to_string(getpid()) + ".json"))
                                   .string();
    // RSS growth is left to the hour-long run: ASan's quarantine grows it by design.
    const auto run = test::run_shell("ACTORLM_SOAK_BUILD=" + std::string(ACTORLM_BINARY_DIR) + " " +
                                   std::string(ACTORLM_SOURCE_DIR) +
                                   "/tools/soak --duration 12 --warmup 3 --clients 8 "
                                   "--sample-interval 1 --max-rss-growth 0 --output " + output);
    INFO(run.output);
    REQUIRE(run.status == 0);
    std::ifstream f(output);
    std::stringstream text;
    text << f.rdbuf();
    std::filesystem::remove(output);
    const std::string json = text.str();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    CHECK(doc["pass"].get_bool().value());
    CHECK(doc["requests"].get_int64().value() > 100);
    CHECK(doc["preemptions"].get_double().value() > 0);
    for (const char* kind : {"completion", "completion_stream", "long_prompt", "bad_request",
                             "hang_up_mid_stream", "hang_up_at_once", "structured"})
        CHECK_MESSAGE(doc["by_kind"][kind]["sent"].get_int64().value() > 0, kind);
    CHECK(doc["end"]["open_fds"].get_int64().value() <= doc["before"]["open_fds"].get_int64().value());
    CHECK(doc["end"]["kv_cache_usage"].get_double().value() == 0.0);
}
