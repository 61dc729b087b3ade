// Workers in other processes: the model split by layers over two `actorlm
// worker` processes on loopback gives the same greedy ids as one process, and
// a worker that dies (SIGKILL) or freezes (SIGSTOP) fails the in-flight
// requests with an error instead of hanging, makes the engine unhealthy, and
// the engine serves again once the worker is back.
#include <doctest/doctest.h>

#include <thread>

#include "engine_fixture.hpp"
#include "worker_process.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

bool wait_healthy(engine& eng, bool want, std::chrono::seconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
        if (eng.stats().healthy == want) return true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return false;
}

/// Starts a long generation, breaks a worker with `sig`, checks the failure path,
/// brings the worker back and checks that the engine serves golden output again.
void check_worker_fault(int sig) {
    const std::string model = shared_path("models/stories260K.gguf");
    worker_process w0(model, test_port(sig == SIGKILL ? 0 : 4));
    worker_process w1(model, test_port(sig == SIGKILL ? 1 : 5));
    REQUIRE(w0.start());
    REQUIRE(w1.start());
    engine_config cfg = stories_config();
    cfg.workers = {w0.address(), w1.address()};
    auto eng = start_engine(cfg);

    generate_request r = endless_request();
    auto s = eng->generate(r);
    output_delta d;
    REQUIRE(s.next(d));
    w1.signal(sig);
    const stream_end end = drain(s, d);
    CHECK(end.finish == finish_reason::error);
    CHECK(end.error.find("worker") != std::string::npos);
    CHECK(wait_healthy(*eng, false, std::chrono::seconds(5)));

    auto refused = eng->generate(greedy_request(load_stories_golden()[1]));
    collected c = collect(refused);
    CHECK(c.finish[0] == finish_reason::error);
    CHECK(c.errors[0].find("unhealthy") != std::string::npos);

    if (sig == SIGKILL) {
        w1.kill_now();
        REQUIRE(w1.start());
    } else {
        w1.signal(SIGCONT);
    }
    REQUIRE(wait_healthy(*eng, true, std::chrono::seconds(30)));
    auto g = load_stories_golden()[1];
    auto again = eng->generate(greedy_request(g));
    CHECK(collect(again).tokens[0] == g.greedy_ids);
}

}  // namespace

TEST_CASE("actors: two worker processes (pipeline stages) give the in-process greedy ids") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = shared_path("models/stories260K.gguf");
    worker_process w0(model, test_port(2));
    worker_process w1(model, test_port(3));
    REQUIRE(w0.start());
    REQUIRE(w1.start());
    engine_config cfg = stories_config();
    cfg.workers = {w0.address(), w1.address()};
    auto eng = start_engine(cfg);
    auto cases = load_stories_golden();
    std::vector<request_stream> streams;
    for (const auto& g : cases) streams.push_back(eng->generate(greedy_request(g)));
    for (size_t i = 0; i < cases.size(); ++i)
        CHECK(collect(streams[i]).tokens[0] == cases[i].greedy_ids);
    CHECK(eng->stats().healthy);

    // Logprobs cross the process boundary (as raw bytes) bit-identical to one process.
    auto local = start_engine(stories_config());
    generate_request r = greedy_request(cases[1]);
    r.params.max_tokens = 8;
    r.params.logprobs = 3;
    auto logprobs_of = [&](engine& e) {
        std::vector<float> values;
        auto s = e.generate(r);
        output_delta d;
        while (s.next(d))
            for (const auto& lp : d.logprobs) {
                values.push_back(lp.logprob);
                CHECK(lp.top.size() == 3);
                for (const auto& t : lp.top) values.push_back(t.logprob);
            }
        return values;
    };
    std::vector<float> remote_lp = logprobs_of(*eng);
    CHECK(remote_lp.size() == 8 * 4);
    CHECK(remote_lp == logprobs_of(*local));
}

TEST_CASE("actors: a killed worker process fails its requests, then the engine recovers") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    check_worker_fault(SIGKILL);
}

TEST_CASE("actors: a frozen worker process is detected by heartbeat, then the engine recovers") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    check_worker_fault(SIGSTOP);
}

TEST_CASE("actors: an unreachable worker address is a clear creation error") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    engine_config cfg = stories_config();
    cfg.workers = {"127.0.0.1:1"};
    std::string err;
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("127.0.0.1:1") != std::string::npos);
    cfg.workers = {"no-port"};
    CHECK(engine::create(cfg, &err) == nullptr);
    CHECK(err.find("HOST:PORT") != std::string::npos);
}
