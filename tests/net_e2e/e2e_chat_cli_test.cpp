// `actorlm chat --model` in a real terminal (tmux) with the engine in its own
// process: stories260K through a real chat template answers, with the reply's
// figures, and /exit quits. (The server side, Ctrl-C and history: tests/net's
// chat_cli_test.)
#include <doctest/doctest.h>

#include <filesystem>

#include "support/shared_data.hpp"
#include "support/tmux_session.hpp"

using actorlm::test::tmux_session;

TEST_CASE("actorlm chat --model: an in-process engine answers in the terminal") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string cli = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    if (!tmux_session::available() || !std::filesystem::exists(cli)) {
        MESSAGE("skipped: tmux (apt-get install tmux) or the actorlm CLI is missing");
        return;
    }
    tmux_session chat(cli + " chat --model " +
                          actorlm::test::shared_path("models/stories260K.gguf") +
                          " --chat-template " +
                          actorlm::test::shared_path("templates/Qwen-Qwen2.5-7B-Instruct.jinja") +
                          " --max-model-len 512 --kv-cache-memory-bytes 4MiB --threads 1"
                          " --temperature 0 --max-tokens 24",
                      "chat_model");
    REQUIRE(chat.wait_for("/exit quits", 1, 60));
    chat.keys("'Once upon a time' Enter");
    INFO(chat.screen());
    REQUIRE(chat.wait_for(" tokens/s, first token ", 1, 60));
    CHECK(chat.screen().find("[error") == std::string::npos);
    chat.keys("'/exit' Enter");
    CHECK(chat.wait_exit(10));
}
