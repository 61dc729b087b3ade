// startup_gate: 503 with Retry-After and the load's progress on every path but the web
// page's until the engine is ready, then every request reaches the router.
#include <doctest/doctest.h>

#include <memory>

#include "net/api_router.hpp"
#include "net/startup_gate.hpp"
#include "recording_sink.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::recording_sink;

namespace {

std::shared_ptr<recording_sink> ask(request_handler& handler, const std::string& method,
                                    const std::string& target, const std::string& body = {}) {
    auto sink = std::make_shared<recording_sink>();
    handler.handle(http_request{method, target, "", body}, sink);
    REQUIRE(sink->wait_done());
    return sink;
}

}  // namespace

TEST_CASE("startup gate: every path answers 503 while the model loads, with its progress") {
    startup_gate gate;
    auto health = ask(gate, "GET", "/health");
    CHECK(health->status == 503);
    CHECK(health->body.find("\"message\":\"Loading model\"") != std::string::npos);
    CHECK(health->extra_headers.find("Retry-After: 1") != std::string::npos);

    gate.report(load_progress{150 << 20, 600 << 20});
    auto completion = ask(gate, "POST", "/v1/completions", R"({"model":"x","prompt":"hi"})");
    CHECK(completion->status == 503);
    CHECK(completion->body.find("Loading model (25%: 150.0 of 600.0 MiB)") != std::string::npos);
    CHECK(ask(gate, "GET", "/v1/models")->status == 503);
}

TEST_CASE("startup gate: the web page is served while the model loads, unless --no-webui") {
    startup_gate gate;
    auto page = ask(gate, "GET", "/?from=bookmark");
    CHECK(page->status == 200);
    CHECK(page->content_type.starts_with("text/html"));
    CHECK(page->extra_headers.find("Content-Security-Policy:") != std::string::npos);
    CHECK(ask(gate, "GET", "/webui/app.js")->status == 200);
    CHECK(ask(gate, "POST", "/")->status == 503);  // only GETs of the page's files
    CHECK(ask(gate, "GET", "/props")->status == 503);

    startup_gate no_webui(false);
    CHECK(ask(no_webui, "GET", "/")->status == 503);
}

TEST_CASE("startup gate: once open, the router answers every request") {
    startup_gate gate;
    test::scripted_backend backend;
    server_metrics metrics("scripted");
    api_router router(backend, metrics, router_options{"", {"scripted"}, ""});
    gate.open(router);
    CHECK(ask(gate, "GET", "/health")->status == 200);
    auto models = ask(gate, "GET", "/v1/models");
    CHECK(models->status == 200);
    CHECK(models->body.find("\"scripted\"") != std::string::npos);
    CHECK(ask(gate, "GET", "/nowhere")->status == 404);
}

TEST_CASE("startup gate: the loading message before any progress and at the end") {
    CHECK(describe_loading({}) == "Loading model");
    CHECK(describe_loading({1 << 20, 1 << 20}) == "Loading model (100%: 1.0 of 1.0 MiB)");
}
