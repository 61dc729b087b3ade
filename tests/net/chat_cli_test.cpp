// `actorlm chat` as a user drives it, in a real terminal (tmux: send-keys and
// capture-pane) against a server whose scripted engine streams slowly: replies
// stream in, the history goes with each turn, a '\' line continues the message,
// Ctrl-C stops an answer (the server aborts it) and leaves the chat running,
// /clear forgets, /exit quits. Skips without tmux or the CLI.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "support/tmux_session.hpp"
#include "scripted_backend.hpp"

using namespace actorlm;
using namespace actorlm::net;
using actorlm::test::tmux_session;

TEST_CASE("actorlm chat: streams, keeps history, Ctrl-C stops an answer, /clear, /exit") {
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    if (!tmux_session::available() || !std::filesystem::exists(cli)) {
        MESSAGE("skipped: tmux (apt-get install tmux) or the actorlm CLI is missing");
        return;
    }
    // 30 ms a token: a 2000-token answer takes a minute, so Ctrl-C lands mid-stream.
    test::scripted_backend backend(std::chrono::milliseconds(30));
    server_metrics metrics("scripted");
    api_router router(backend, metrics, {"", {"scripted"}, ""});
    server_options opts;
    opts.port = 0;
    http_server server(opts, router);
    REQUIRE(server.start().ok());

    tmux_session chat(cli + " chat --url http://127.0.0.1:" + std::to_string(server.port()) +
                      " --max-tokens 5 --system be-brief");
    REQUIRE(chat.wait_for("/exit quits"));  // the banner (capture-pane trims the "> ")
    chat.keys("'hello there' Enter");
    REQUIRE(chat.wait_for(" w0 w1 w2 w3 w4"));  // the scripted reply, streamed
    REQUIRE(chat.wait_for("[5 tokens,"));
    CHECK(backend.last_prompt() == "<|system|>be-brief\n<|user|>hello there\n<|assistant|>");

    // A continued line, and the history: the second turn carries the first exchange.
    chat.keys("'line one\\' Enter 'line two' Enter");
    REQUIRE(chat.wait_for("[5 tokens,", 2));
    CHECK(backend.last_prompt() ==
          "<|system|>be-brief\n<|user|>hello there\n<|assistant|> w0 w1 w2 w3 w4\n"
          "<|user|>line one\nline two\n<|assistant|>");

    chat.keys("'/clear' Enter");
    REQUIRE(chat.wait_for("(conversation cleared)"));
    chat.keys("'fresh start' Enter");
    REQUIRE(chat.wait_for("[5 tokens,", 3));
    CHECK(backend.last_prompt() == "<|system|>be-brief\n<|user|>fresh start\n<|assistant|>");
    chat.keys("'/exit' Enter");
    CHECK(chat.wait_exit());

    // Ctrl-C mid-answer (2000 tokens would take a minute): the chat stays, the server
    // aborts the request, and the stopped part of the answer stays in the history.
    tmux_session long_chat(cli + " chat --url http://127.0.0.1:" + std::to_string(server.port()) +
                           " --max-tokens 2000");
    REQUIRE(long_chat.wait_for("/exit quits"));
    const int64_t aborts_before = backend.num_aborts();
    long_chat.keys("'tell me more' Enter");
    REQUIRE(long_chat.wait_for(" w3 w4"));
    long_chat.keys("C-c");
    REQUIRE(long_chat.wait_for("[stopped]"));
    for (int i = 0; i < 100 && backend.num_active() > 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    CHECK(backend.num_active() == 0);
    CHECK(backend.num_aborts() > aborts_before);
    CHECK(long_chat.alive());
    long_chat.keys("'go on' Enter");
    for (int i = 0; i < 100 && backend.last_prompt().find("go on") == std::string::npos; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    INFO(backend.last_prompt());
    CHECK(backend.last_prompt().rfind("<|user|>tell me more\n<|assistant|> w0 w1 w2 w3 w4", 0) == 0);
    long_chat.keys("C-c");
    REQUIRE(long_chat.wait_for("[stopped]", 2));
    long_chat.keys("C-d");  // end of input quits too
    CHECK(long_chat.wait_exit());
    server.request_shutdown();
    server.wait();
}
