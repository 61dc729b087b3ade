// --enable-log-requests: the line a logged request gets (id, prompt, parameters,
// token ids; cut by --max-log-len; one line whatever the prompt holds), and that the
// router logs accepted generation requests only when asked and never the API key.
#include <doctest/doctest.h>

#include <mutex>

#include "net/api_router.hpp"
#include "net/request_log.hpp"
#include "recording_sink.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;

TEST_CASE("request log: id, quoted prompt, parameters and ids, cut to max_log_len") {
    generate_request r;
    r.request_id = "cmpl-1-0";
    r.prompt = "Once upon a time\nactorlm: received request forged";
    r.prompt_token_ids = {1, 2, 3, 4, 5, 6};
    r.params.temperature = 0.5f;
    r.params.max_tokens = 7;
    r.params.seed = 42;
    const std::string full = request_log().received_line(r);
    CHECK(full.find("received request cmpl-1-0: prompt: \"Once upon a time\\nactorlm") !=
          std::string::npos);
    CHECK(full.find('\n') == std::string::npos);  // a prompt cannot forge a log line
    CHECK(full.find("\"temperature\":0.5") != std::string::npos);
    CHECK(full.find("\"max_tokens\":7") != std::string::npos);
    CHECK(full.find("\"seed\":42") != std::string::npos);
    CHECK(full.find("prompt_token_ids: [1, 2, 3, 4, 5, 6]") != std::string::npos);

    const std::string cut = request_log(4).received_line(r);
    CHECK(cut.find("prompt: \"Once\",") != std::string::npos);
    CHECK(cut.find("prompt_token_ids: [1, 2, 3, 4, ...]") != std::string::npos);

    r.prompt = "h\xC3\xA9llo";  // "héllo": a cut never splits a character
    CHECK(request_log(2).received_line(r).find("prompt: \"h\xC3\xA9\",") != std::string::npos);
}

TEST_CASE("request log: the router logs accepted requests only when asked, never the key") {
    test::scripted_backend backend;
    server_metrics metrics("m");
    std::mutex mu;
    std::vector<std::string> lines;
    auto log = std::make_shared<const request_log>(-1, [&](std::string_view line) {
        std::lock_guard lock(mu);
        lines.emplace_back(line);
    });
    router_options with_log{"sekret-key", {"m"}, ""};
    with_log.log_requests = log;
    api_router logging(backend, metrics, with_log);
    api_router quiet(backend, metrics, router_options{"sekret-key", {"m"}, ""});
    const std::string body = R"({"prompt": "a private prompt", "max_tokens": 3, "n": 2})";
    for (api_router* router : {&quiet, &logging}) {
        auto sink = std::make_shared<test::recording_sink>();
        router->handle({"POST", "/v1/completions", "Bearer sekret-key", body}, sink);
        REQUIRE(sink->wait_done());
        CHECK(sink->status == 200);
    }
    auto refused = std::make_shared<test::recording_sink>();  // a 400 was never accepted
    logging.handle({"POST", "/v1/completions", "Bearer sekret-key", R"({"prompt": 5})"}, refused);
    REQUIRE(refused->wait_done());
    CHECK(refused->status == 400);
    std::lock_guard lock(mu);
    REQUIRE(lines.size() == 1);  // the accepted request; the refused one is not logged
    CHECK(lines[0].find("prompt: \"a private prompt\"") != std::string::npos);
    CHECK(lines[0].find("\"n\":2") != std::string::npos);
    CHECK(lines[0].find("sekret-key") == std::string::npos);
}
