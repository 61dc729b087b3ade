// Loading: the server answers /health with 503 and the load's progress while the
// engine loads, then 200 (vLLM's and llama-server's behaviour); `actorlm serve` shows a
// progress bar on a terminal and plain lines in a log.
#include <doctest/doctest.h>

#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <regex>

#include "bench/http_client.hpp"
#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/startup_gate.hpp"
#include "support/shared_data.hpp"
#include "support/shell.hpp"
#include "support/tmux_session.hpp"

using namespace actorlm;

TEST_CASE("loading: /health is 503 with the load's progress until the engine is ready") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    net::startup_gate gate;
    net::server_options opts;
    opts.port = 0;
    net::http_server server(opts, gate);
    REQUIRE(server.start().ok());

    // The first progress report holds the load until the test has asked /health, so
    // the loading state is seen however fast the model loads.
    std::mutex mutex;
    std::condition_variable asked_cv;
    bool asked = false;
    int64_t reports = 0;
    load_progress last;
    engine_config cfg;
    cfg.model_path = test::shared_path("models/stories260K.gguf");
    cfg.num_threads = 1;
    cfg.max_model_len = 256;
    cfg.on_load_progress = [&](const load_progress& p) {
        gate.report(p);
        std::unique_lock lock(mutex);
        if (reports++ == 0) asked_cv.wait(lock, [&] { return asked; });
        CHECK(p.bytes_done >= last.bytes_done);  // progress only grows
        last = p;
    };
    auto loading = std::async(std::launch::async, [&] {
        std::string error;
        std::shared_ptr<engine> eng = engine::create(cfg, &error);
        INFO(error);
        return eng;
    });

    net::http_client client("127.0.0.1", server.port(), 30);
    for (int i = 0; i < 2000; ++i) {  // until the first report arrived (the load started)
        {
            std::lock_guard lock(mutex);
            if (reports > 0) break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto health = client.request("GET", "/health");
    REQUIRE(health.ok());
    CHECK(health->status == 503);
    CHECK(health->headers["retry-after"] == "1");
    CHECK(health->body.find("Loading model (") != std::string::npos);
    auto completion =
        client.request("POST", "/v1/completions", R"({"model":"stories","prompt":"Once"})");
    REQUIRE(completion.ok());
    CHECK(completion->status == 503);
    {
        std::lock_guard lock(mutex);
        asked = true;
    }
    asked_cv.notify_all();

    std::shared_ptr<engine> eng = loading.get();
    REQUIRE(eng != nullptr);
    CHECK(reports > 1);
    CHECK(last.bytes_done == last.bytes_total);
    CHECK(last.bytes_total > 0);
    auto backend = net::make_engine_backend(eng);
    net::server_metrics metrics("stories");
    net::api_router router(*backend, metrics, net::router_options{"", {"stories"}, ""});
    gate.open(router);
    health = client.request("GET", "/health");
    REQUIRE(health.ok());
    CHECK(health->status == 200);
    completion = client.request("POST", "/v1/completions",
                                R"({"model":"stories","prompt":"Once","max_tokens":4})");
    REQUIRE(completion.ok());
    CHECK(completion->status == 200);
    server.request_shutdown();
    server.wait();
    backend.reset();
    eng.reset();
}

TEST_CASE("loading: actorlm serve draws a progress bar on a terminal, then serves") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    if (!test::tmux_session::available() || !std::filesystem::exists(cli)) {
        MESSAGE("skipped: tmux (apt-get install tmux) or the actorlm CLI is missing");
        return;
    }
    test::tmux_session serve(cli + " serve --model " +
                                 test::shared_path("models/stories260K.gguf") +
                                 " --port 0 --max-model-len 256 --threads 1",
                             "serve_loading");
    REQUIRE(serve.wait_for(" on http://127.0.0.1:", 1, 60));
    const std::string screen = serve.screen();
    INFO(screen);
    // The port opened first, then the bar reached 100%, then the ready line.
    const size_t opened = screen.find("answers 503 until it is ready");
    const size_t bar = screen.find("] 100%");
    const size_t ready = screen.find("(max_model_len 256) on http://");
    REQUIRE(opened != std::string::npos);
    REQUIRE(bar != std::string::npos);
    CHECK(opened < bar);
    CHECK(bar < ready);
    CHECK(screen.find("[##############################]") != std::string::npos);
    CHECK(screen.find("MiB/s") != std::string::npos);
    std::smatch port;
    REQUIRE(std::regex_search(screen, port, std::regex(R"(on http://127\.0\.0\.1:(\d+))")));
    net::http_client client("127.0.0.1", static_cast<uint16_t>(std::stoi(port[1])), 30);
    auto health = client.request("GET", "/health");
    REQUIRE(health.ok());
    CHECK(health->status == 200);
    serve.keys("C-c");
    CHECK(serve.wait_exit(10));
}

TEST_CASE("loading: off a terminal, progress is plain lines a log can keep") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    const auto r = test::run_shell(cli + " generate --model " +
                                   test::shared_path("models/stories260K.gguf") +
                                   " --prompt Once --max-tokens 2 --threads 1 --max-model-len 64");
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(std::regex_search(r.output,
                            std::regex(R"(actorlm generate: weights: 100% \(\d+\.\d of \d+\.\d MiB, )")));
    CHECK(r.output.find('\r') == std::string::npos);
    CHECK(r.output.find("\033[") == std::string::npos);
}
