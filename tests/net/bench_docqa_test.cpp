// bench-serve's doc-qa workload: the dataset is deterministic for a seed,
// documents repeat across conversations, follow-ups extend the previous turn
// (prompt + answer + question), and run_conversations sends a conversation's
// turns in order against a live server (scripted backend), tokenizing answers
// for token-id follow-ups; a failed turn or tokenize call ends its conversation.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <algorithm>
#include <map>

#include "bench/bench_summary.hpp"
#include "bench/docqa_dataset.hpp"
#include "bench/load_generator.hpp"
#include "bench/server_counters.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

docqa_options small_options(const std::string& endpoint = "/v1/completions") {
    docqa_options o;
    o.num_documents = 4;
    o.document_len = 40;
    o.question_len = 5;
    o.num_turns = 3;
    o.num_conversations = 16;
    o.output_len = 5;
    o.endpoint = endpoint;
    o.token_lo = 10;
    o.token_hi = 200;  // the scripted backend's vocabulary is 256 (one id per byte)
    o.seed = 7;
    return o;
}

// The "prompt" ids of a completions body.
std::vector<int32_t> prompt_ids(const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
    simdjson::dom::array prompt;
    REQUIRE(doc["prompt"].get(prompt) == simdjson::SUCCESS);
    std::vector<int32_t> ids;
    for (simdjson::dom::element e : prompt) {
        int64_t id = 0;
        REQUIRE(e.get(id) == simdjson::SUCCESS);
        ids.push_back(static_cast<int32_t>(id));
    }
    return ids;
}

// The (role, content) pairs of a chat body.
std::vector<std::pair<std::string, std::string>> messages(const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(body).get(doc) == simdjson::SUCCESS);
    simdjson::dom::array list;
    REQUIRE(doc["messages"].get(list) == simdjson::SUCCESS);
    std::vector<std::pair<std::string, std::string>> out;
    for (simdjson::dom::element m : list) {
        std::string_view role, content;
        REQUIRE(m["role"].get(role) == simdjson::SUCCESS);
        REQUIRE(m["content"].get(content) == simdjson::SUCCESS);
        out.emplace_back(std::string(role), std::string(content));
    }
    return out;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

request_result answer(std::string text, std::vector<int32_t> ids) {
    request_result r;
    r.success = true;
    r.text = std::move(text);
    r.text_token_ids = std::move(ids);
    return r;
}

// A loopback server over the scripted backend (drained and stopped in teardown order).
struct scripted_server {
    scripted_server()
        : backend(std::make_unique<test::scripted_backend>(std::chrono::microseconds(300))),
          metrics("scripted"),
          router(*backend, metrics, {"", {"scripted"}, ""}) {
        server_options opts;
        opts.port = 0;
        server = std::make_unique<http_server>(opts, router);
        REQUIRE(server->start().ok());
    }
    ~scripted_server() {
        server->request_shutdown();
        server->wait();
        backend.reset();
        server.reset();
    }
    load_options load() const {
        load_options lo;
        lo.port = server->port();
        lo.timeout_s = 60;
        return lo;
    }

    std::unique_ptr<test::scripted_backend> backend;
    server_metrics metrics;
    api_router router;
    std::unique_ptr<http_server> server;
};

}  // namespace

TEST_CASE("bench doc-qa: the dataset is deterministic for a seed") {
    docqa_dataset a(small_options()), b(small_options());
    auto other_options = small_options();
    other_options.seed = 8;
    docqa_dataset other(other_options);
    REQUIRE(a.token_ids());
    for (int32_t d = 0; d < 4; ++d) {
        CHECK(a.document(d).ids == b.document(d).ids);
        CHECK(a.document(d).ids.size() == 40);
        CHECK(a.document(d).ids != other.document(d).ids);
        for (int32_t id : a.document(d).ids) CHECK((id >= 10 && id < 200));
    }
    CHECK(a.document(0).ids != a.document(1).ids);
    bool picks_differ = false;
    for (size_t c = 0; c < 16; ++c) {
        CHECK(a.document_of(c) == b.document_of(c));
        picks_differ = picks_differ || a.document_of(c) != other.document_of(c);
        CHECK(a.question(c, 1).ids == b.question(c, 1).ids);
        CHECK(a.question(c, 1).ids.size() == 5);
        CHECK(a.build(c, 0, nullptr).body == b.build(c, 0, nullptr).body);
    }
    CHECK(picks_differ);
    CHECK(a.question(0, 0).ids != a.question(0, 1).ids);
    CHECK(a.question(0, 0).ids != a.question(1, 0).ids);
    // Document d does not depend on how many documents or conversations there are.
    auto more = small_options();
    more.num_documents = 9;
    more.num_conversations = 3;
    CHECK(docqa_dataset(more).document(2).ids == a.document(2).ids);
}

TEST_CASE("bench doc-qa: documents repeat across conversations as shared prefixes") {
    docqa_dataset ds(small_options());
    std::map<int32_t, int> uses;
    for (size_t c = 0; c < 16; ++c) {
        const int32_t d = ds.document_of(c);
        REQUIRE((d >= 0 && d < 4));
        ++uses[d];
        const auto ids = prompt_ids(ds.build(c, 0, nullptr).body);
        // The prompt starts with the whole document, then the question.
        CHECK(ids == concat(ds.document(d).ids, ds.question(c, 0).ids));
        CHECK(ds.prompt_len(c) == 45);
    }
    CHECK(uses.size() >= 3);  // the picks spread over the documents...
    int repeated = 0;
    for (const auto& [d, n] : uses) repeated += n - 1;
    CHECK(repeated == 16 - static_cast<int>(uses.size()));  // ...and repeat
    CHECK(repeated > 0);
}

TEST_CASE("bench doc-qa: a follow-up is the previous prompt + its answer + a new question") {
    SUBCASE("token ids (completions)") {
        docqa_dataset ds(small_options());
        const auto turn0 = prompt_ids(ds.build(3, 0, nullptr).body);
        const auto a0 = answer(" w0 w1", {32, 119, 48, 32, 119, 49});
        const auto turn1 = prompt_ids(ds.build(3, 1, &a0).body);
        CHECK(turn1 == concat(concat(turn0, a0.text_token_ids), ds.question(3, 1).ids));
        CHECK(ds.prompt_len(3) == 45 + 6 + 5);
        const auto a1 = answer(" x", {32, 120});
        const auto turn2 = prompt_ids(ds.build(3, 2, &a1).body);
        CHECK(turn2 == concat(concat(turn1, a1.text_token_ids), ds.question(3, 2).ids));
        CHECK(ds.plan().tokenize_answers);
    }
    SUBCASE("messages (chat)") {
        docqa_dataset ds(small_options("/v1/chat/completions"));
        REQUIRE_FALSE(ds.token_ids());
        const int32_t d = ds.document_of(5);
        CHECK(ds.document(d).text.find(' ') != std::string::npos);  // words
        const auto turn0 = messages(ds.build(5, 0, nullptr).body);
        REQUIRE(turn0.size() == 1);
        CHECK(turn0[0].second == ds.document(d).text + "\n\n" + ds.question(5, 0).text);
        const auto a0 = answer("the answer", {});
        const auto turn1 = messages(ds.build(5, 1, &a0).body);
        REQUIRE(turn1.size() == 3);
        CHECK(turn1[0] == turn0[0]);
        CHECK(turn1[1] == std::make_pair(std::string("assistant"), std::string("the answer")));
        CHECK(turn1[2] == std::make_pair(std::string("user"), ds.question(5, 1).text));
        CHECK(ds.prompt_len(5) == -1);  // the server's usage counts chat prompts
        CHECK_FALSE(ds.plan().tokenize_answers);
    }
}

TEST_CASE("bench doc-qa: turns run in order against a live server, answers tokenized") {
    scripted_server s;
    auto o = small_options();
    o.num_conversations = 6;
    docqa_dataset ds(o);
    conversation_plan plan = ds.plan();
    std::vector<std::string> bodies(6 * 3);
    const auto build = plan.build;
    plan.build = [&](size_t c, int32_t t, const request_result* previous) {
        auto r = build(c, t, previous);
        bodies[c * 3 + static_cast<size_t>(t)] = r.body;
        return r;
    };
    load_options lo = s.load();
    lo.max_concurrency = 2;
    double duration_s = 0.0;
    const auto results = run_conversations(lo, plan, &duration_s);
    REQUIRE(results.size() == 18);
    for (size_t c = 0; c < 6; ++c) {
        for (size_t t = 0; t < 3; ++t) {
            const auto& r = results[c * 3 + t];
            INFO("conversation " << c << " turn " << t << ": " << r.error);
            REQUIRE(r.success);
            CHECK(r.turn == static_cast<int32_t>(t));
            CHECK(r.text == " w0 w1 w2 w3 w4");
            CHECK(r.output_tokens == 5);
            const auto ids = prompt_ids(bodies[c * 3 + t]);
            CHECK(r.prompt_tokens == static_cast<int64_t>(ids.size()));
            if (t == 0) {
                CHECK(r.prompt_tokens == 45);
                continue;
            }
            const auto& prev = results[c * 3 + t - 1];
            // Sent only after the previous turn's stream ended.
            CHECK(r.start_s >= prev.start_s + prev.e2e_s);
            // The server's ids of the answer: one per byte, no BOS.
            std::vector<int32_t> answer_ids(prev.text.begin(), prev.text.end());
            CHECK(prev.text_token_ids == answer_ids);
            CHECK(ids == concat(concat(prompt_ids(bodies[c * 3 + t - 1]), answer_ids),
                                ds.question(c, static_cast<int32_t>(t)).ids));
        }
        CHECK(results[c * 3 + 2].text_token_ids.empty());  // the last answer needs no ids
    }
    const auto summary = summarize(results, {}, duration_s, {}, {50, 99});
    CHECK(summary.completed == 18);
    CHECK(summary.max_concurrent_requests <= 2.0);
    CHECK(summary.completed_first_turns == 6);
    CHECK(summary.completed_follow_ups == 12);
    CHECK(summary.first_turn_input_tokens == 6 * 45);
    CHECK(summary.follow_up_input_tokens == 6 * ((45 + 15 + 5) + (65 + 15 + 5)));
}

TEST_CASE("bench doc-qa: a failed turn or tokenize call ends its conversation") {
    scripted_server s;
    conversation_plan plan;
    plan.num_conversations = 2;
    plan.num_turns = 3;
    std::vector<std::pair<size_t, int32_t>> built;
    plan.build = [&](size_t c, int32_t t, const request_result*) {
        built.emplace_back(c, t);
        // Conversation 0's first turn fails like a prompt over max_model_len.
        const std::string prompt = c == 0 ? "TOO_LONG" : "fine";
        return load_request{"/v1/completions",
                            R"({"prompt":")" + prompt + R"(","max_tokens":3,"stream":true})"};
    };
    SUBCASE("a failed turn") {
        const auto results = run_conversations(s.load(), plan);
        REQUIRE(results.size() == 6);
        CHECK_FALSE(results[0].success);
        CHECK(results[0].error.find("HTTP 400") != std::string::npos);
        for (size_t i : {1, 2}) {
            CHECK_FALSE(results[i].success);
            CHECK(results[i].error.find("not sent: turn 0") != std::string::npos);
        }
        for (size_t i : {3, 4, 5}) CHECK(results[i].success);
        CHECK(std::count(built.begin(), built.end(), std::make_pair(size_t{0}, 1)) == 0);
    }
    SUBCASE("a failed tokenize call") {
        plan.tokenize_answers = true;
        plan.tokenize_target = "/no-such-route";
        const auto results = run_conversations(s.load(), plan);
        REQUIRE(results.size() == 6);
        CHECK(results[3].success);
        CHECK_FALSE(results[4].success);
        CHECK(results[4].error.find("tokenize the answer of turn 0: HTTP 404") !=
              std::string::npos);
        CHECK(results[5].error.find("not sent") != std::string::npos);
        CHECK(built.size() == 2);  // only the two first turns were built
    }
}

TEST_CASE("bench doc-qa: the summary splits TTFT by turn, single-turn results keep the old keys") {
    std::vector<request_result> results(4);
    const double ttfts[] = {0.4, 0.1, 0.6, 0.2};
    for (size_t i = 0; i < 4; ++i) {
        results[i].success = true;
        results[i].turn = static_cast<int32_t>(i % 2);
        results[i].ttft_s = ttfts[i];
        results[i].e2e_s = 1.0;
        results[i].output_tokens = 2;
    }
    results[1].prompt_tokens = 77;  // used where input_lens says -1
    auto s = summarize(results, {100, -1, 100, 130}, 2.0, {}, {50, 99});
    CHECK(s.multi_turn);
    CHECK(s.total_input_tokens == 407);
    CHECK(s.first_turn_input_tokens == 200);
    CHECK(s.follow_up_input_tokens == 207);
    CHECK(s.ttft_first_turn.mean_ms == doctest::Approx(500));
    CHECK(s.ttft_follow_up.mean_ms == doctest::Approx(150));
    s.prefix_cache = {1000, 250, -1, -1};
    const std::string json = summary_json(s, "");
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(json).get(doc) == simdjson::SUCCESS);
    CHECK(doc["mean_ttft_ms"].get_double().value() == doctest::Approx(325));
    CHECK(doc["p99_ttft_first_turn_ms"].get_double().value() == doctest::Approx(598));
    CHECK(doc["median_ttft_follow_up_ms"].get_double().value() == doctest::Approx(150));
    CHECK(doc["completed_follow_ups"].get_int64().value() == 2);
    CHECK(doc["prefix_cache_hit_rate"].get_double().value() == doctest::Approx(0.25));
    CHECK(doc["external_prefix_cache_hits"].error() == simdjson::NO_SUCH_FIELD);
    const std::string table = summary_table(s);
    CHECK(table.find("Mean follow-up TTFT (ms):") != std::string::npos);
    const size_t rate_row = table.find("Prefix cache hit rate (%):");
    REQUIRE(rate_row != std::string::npos);
    CHECK(table.substr(rate_row + 40, 5) == "25.00");

    for (auto& r : results) r.turn = 0;
    const auto single = summarize(results, {}, 2.0, {}, {99});
    CHECK_FALSE(single.multi_turn);
    REQUIRE(parser.parse(summary_json(single, "")).get(doc) == simdjson::SUCCESS);
    CHECK(doc["mean_ttft_first_turn_ms"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(doc["prefix_cache_hits"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(summary_table(single).find("follow-up") == std::string::npos);
}

TEST_CASE("bench doc-qa: Prometheus counters are summed over label sets") {
    const std::string text =
        "# HELP vllm:prefix_cache_hits Prefix cache hits, in terms of number of cached tokens.\n"
        "# TYPE vllm:prefix_cache_hits counter\n"
        "vllm:prefix_cache_hits_total{model_name=\"a\"} 12.0\n"
        "vllm:prefix_cache_hits_total{model_name=\"b\",engine=\"1\"} 30\n"
        "vllm:prefix_cache_hits_total_other 99\n"
        "vllm:prefix_cache_queries_total 50.5\n";
    CHECK(prometheus_sum(text, "vllm:prefix_cache_hits_total").value() == doctest::Approx(42));
    CHECK(prometheus_sum(text, "vllm:prefix_cache_queries_total").value() == doctest::Approx(50.5));
    CHECK_FALSE(prometheus_sum(text, "vllm:prefix_cache_hits").has_value());
    CHECK_FALSE(prometheus_sum(text, "vllm:external_prefix_cache_hits_total").has_value());
    const auto d = counter_increase({10, 4, -1, 3}, {30, 9, 5, 7});
    CHECK(d.queries == 20);
    CHECK(d.hits == 5);
    CHECK(d.external_queries == -1);
    CHECK(d.external_hits == 4);
}

TEST_CASE("bench doc-qa: /metrics counters of a live server") {
    scripted_server s;
    const auto c = fetch_prefix_cache_counters("127.0.0.1", s.server->port(), "");
    REQUIRE(c.has_value());
    CHECK(c->queries == 0);  // exported (the scripted engine has no prefix cache)
    CHECK(c->hits == 0);
}
