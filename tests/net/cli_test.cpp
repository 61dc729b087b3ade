// The `actorlm bench-serve` and `actorlm serve` commands as a user runs them:
// bench-serve against a live server (scripted backend) writing vLLM's result
// JSON, and clear errors for bad flags. Skips when the CLI is not built.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "support/shell.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

const std::string k_cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";

// Runs a shell command, returning its exit status and combined output.
int run_command(const std::string& cmd, std::string* output) {
    auto r = test::run_shell(cmd);
    *output += r.output;
    return r.status;
}

/// What one `actorlm bench-serve` run against a scripted server printed and wrote.
struct bench_serve_run {
    int rc = -1;
    std::string out;
    std::string result_json;
};

/// Runs `actorlm bench-serve <args>` against a scripted server (API key `key`, empty:
/// none) and reads back its --result-file.
bench_serve_run run_bench_serve(const std::string& key, const std::string& args) {
    auto backend = std::make_unique<test::scripted_backend>(std::chrono::microseconds(500));
    server_metrics metrics("scripted");
    api_router router(*backend, metrics, {key, {"scripted"}, ""});
    server_options opts;
    opts.port = 0;
    auto server = std::make_unique<http_server>(opts, router);
    REQUIRE(server->start().ok());
    const std::string result_file = (std::filesystem::temp_directory_path() /
                                     ("bench_serve_" + std::to_string(getpid()) + ".json"))
                                        .string();
    bench_serve_run r;
    r.rc = run_command(
        k_cli + " bench-serve --base-url http://127.0.0.1:" + std::to_string(server->port()) + " " +
            args + " --result-file " + result_file,
        &r.out);
    server->request_shutdown();
    server->wait();
    backend.reset();
    server.reset();
    std::ifstream f(result_file);
    std::stringstream ss;
    ss << f.rdbuf();
    r.result_json = ss.str();
    std::filesystem::remove(result_file);
    return r;
}

}  // namespace

TEST_CASE("cli: bench-serve measures a live server and writes vLLM's result keys") {
    if (!std::filesystem::exists(k_cli)) {
        MESSAGE("skipped: " << k_cli << " is not built");
        return;
    }
    const bench_serve_run run = run_bench_serve(
        "k",
        "--model scripted --api-key k --input-len 8 --output-len 6 --num-prompts 20"
        " --max-concurrency 4 --request-rate 200 --token-id-range 1:200 --goodput ttft:10000");
    INFO(run.out);
    CHECK(run.rc == 0);
    CHECK(run.out.find("Successful requests:                    20") != std::string::npos);
    // Progress off a terminal: plain lines, the last one at 100%.
    CHECK(run.out.find("bench-serve: 100% (20 of 20 requests, ") != std::string::npos);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(run.result_json).get(doc) == simdjson::SUCCESS);
    CHECK(doc["completed"].get_int64().value() == 20);
    CHECK(doc["failed"].get_int64().value() == 0);
    CHECK(doc["total_input_tokens"].get_int64().value() == 160);
    CHECK(doc["total_output_tokens"].get_int64().value() == 120);
    CHECK(doc["max_concurrent_requests"].get_double().value() <= 4.0);
    CHECK(doc["mean_ttft_ms"].get_double().value() > 0.0);
    CHECK(doc["request_goodput"].get_double().value() ==
          doctest::Approx(doc["request_throughput"].get_double().value()));
}

TEST_CASE("cli: bench-serve doc-qa runs conversations of follow-ups and splits TTFT by turn") {
    if (!std::filesystem::exists(k_cli)) {
        MESSAGE("skipped: " << k_cli << " is not built");
        return;
    }
    const bench_serve_run run = run_bench_serve(
        "",
        "--model scripted --dataset-name doc-qa --docqa-num-documents 2 --docqa-document-len 20"
        " --docqa-question-len 4 --docqa-turns 2 --num-prompts 5 --output-len 3"
        " --max-concurrency 2 --token-id-range 10:200");
    INFO(run.out);
    CHECK(run.rc == 0);
    CHECK(run.out.find("Follow-ups completed:                   5") != std::string::npos);
    CHECK(run.out.find("bench-serve: 100% (10 of 10 requests, ") != std::string::npos);
    CHECK(run.out.find("Median follow-up TTFT (ms):") != std::string::npos);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(run.result_json).get(doc) == simdjson::SUCCESS);
    CHECK(doc["completed"].get_int64().value() == 10);
    CHECK(doc["completed_follow_ups"].get_int64().value() == 5);
    CHECK(doc["first_turn_input_tokens"].get_int64().value() == 5 * 24);
    // Each follow-up: document + question 1 + the answer " w0 w1 w2" (9 ids) + question 2.
    CHECK(doc["follow_up_input_tokens"].get_int64().value() == 5 * (24 + 9 + 4));
    CHECK(doc["total_input_tokens"].get_int64().value() == 5 * (24 + 37));
    CHECK(doc["max_concurrent_requests"].get_double().value() <= 2.0);
    CHECK(doc["p99_ttft_follow_up_ms"].get_double().value() > 0.0);
    CHECK(doc["prefix_cache_queries"].get_double().value() == 0.0);
    CHECK(doc["docqa_turns"].get_int64().value() == 2);
    CHECK(std::string(doc["dataset"].get_string().value()) == "doc-qa");
}

TEST_CASE("cli: bad flags get a clear message and a non-zero exit") {
    if (!std::filesystem::exists(k_cli)) {
        MESSAGE("skipped: " << k_cli << " is not built");
        return;
    }
    struct bad {
        std::string args;
        std::string says;
    };
    const bad cases[] = {
        {"bench-serve --request-rate -2", "--request-rate"},
        {"bench-serve --goodput ttft", "invalid SLO"},
        {"bench-serve --base-url https://x:1", "http://"},
        {"bench-serve --token-id-range 5:5", "--token-id-range"},
        {"bench-serve --dataset sharegpt", "--dataset"},
        {"bench-serve --dataset-name doc-qa --docqa-turns 0", "--docqa-turns"},
        {"bench-serve --docqa-document-len x", "--docqa-document-len"},
        {"serve --block-size 7 --model m", "--block-size"},
        {"serve --device tpu --model m", "--device"},
        {"serve --model m --worker nocolon", "HOST:PORT"},
        {"serve --model m --kv-cache-memory-bytes lots", "--kv-cache-memory-bytes"},
        {"serve", "model"},
        {"serve --model m --enable-auto-tool-choice", "--tool-call-parser"},
        {"serve --model m --tool-call-parser qwen", "--tool-call-parser"},
        {"serve --model m --reasoning-parser r1", "--reasoning-parser"},
    };
    for (const auto& c : cases) {
        std::string out;
        const int rc = run_command(k_cli + " " + c.args, &out);
        INFO(c.args << " -> " << out);
        CHECK(rc != 0);
        CHECK(out.find(c.says) != std::string::npos);
    }
}

TEST_CASE("cli: admin lists, adds and removes a router's members and asks for migrations") {
    auto backend = std::make_unique<test::scripted_backend>();
    server_metrics metrics("scripted");
    api_router router(*backend, metrics, {"", {"scripted"}, ""});
    server_options opts;
    opts.port = 0;
    auto server = std::make_unique<http_server>(opts, router);
    REQUIRE(server->start().ok());
    const std::string at = " --router 127.0.0.1:" + std::to_string(server->port());
    std::string out;
    CHECK(run_command(k_cli + " admin members" + at + " --add 10.0.0.2:9001", &out) == 0);
    CHECK(run_command(k_cli + " admin members" + at + " --add 10.0.0.3:9001 --role decode", &out) ==
          0);
    REQUIRE(backend->cluster_members().size() == 2);
    CHECK(backend->cluster_members()[1].role == "decode");
    out.clear();
    CHECK(run_command(k_cli + " admin members" + at, &out) == 0);
    CHECK(out.find("10.0.0.3:9001") != std::string::npos);
    out.clear();
    CHECK(run_command(k_cli + " admin migrate" + at +
                          " --engine 10.0.0.2:9001 --to 10.0.0.3:9001 --all",
                      &out) == 0);
    CHECK(out.find("\"migrated\":0") != std::string::npos);
    // The router's refusals come back as exit 1 with its message; usage errors as 2.
    out.clear();
    CHECK(run_command(k_cli + " admin migrate" + at + " --engine 10.0.0.2:9001 --to 10.9.9.9:1 --all",
                      &out) == 1);
    CHECK(out.find("no cluster member 10.9.9.9:1") != std::string::npos);
    out.clear();
    CHECK(run_command(k_cli + " admin migrate" + at + " --engine 10.0.0.2:9001 --to 10.0.0.3:9001",
                      &out) == 2);
    CHECK(out.find("--request ID or --all") != std::string::npos);
    CHECK(run_command(k_cli + " admin members" + at + " --remove 10.0.0.2:9001", &out) == 0);
    CHECK(backend->cluster_members().size() == 1);
    out.clear();
    CHECK(run_command(k_cli + " admin members --router 127.0.0.1:1", &out) == 1);
    CHECK(out.find("cannot reach the router") != std::string::npos);
    server->request_shutdown();
    server->wait();
    backend.reset();
    server.reset();
}
