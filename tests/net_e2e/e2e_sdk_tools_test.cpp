// Tool calling end to end through the official OpenAI JS SDK: `actorlm serve`'s stack
// (http_server + api_router with --enable-auto-tool-choice --tool-call-parser hermes +
// the actor runtime) on stories260K, driven by tests/sdk/tool_calling.mjs (named and
// required tool choice, the history with tool messages, the streaming helper,
// runTools). Skips with a message when node, the SDK (tools/setup installs it into
// build/node) or ../shared is absent.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sys/wait.h>

#include "net/api_router.hpp"
#include "net/http_server.hpp"
#include "net/inference_backend.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace e2e_sdk_tools_test {

// Runs `command` (stderr folded in), returning its exit status and output.
int run_capturing(const std::string& command, std::string& output) {
    FILE* pipe = ::popen((command + " 2>&1").c_str(), "r");
    if (!pipe) return -1;
    std::array<char, 4096> buf{};
    size_t n = 0;
    while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) output.append(buf.data(), n);
    const int status = ::pclose(pipe);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

}  // namespace e2e_sdk_tools_test

using namespace e2e_sdk_tools_test;

TEST_CASE("e2e sdk: the OpenAI JS SDK's tool helpers against actorlm serve (stories260K)") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    std::string ignored;
    if (run_capturing("command -v node", ignored) != 0) {
        MESSAGE("skipped: node is not installed (Debian: apt-get install nodejs npm)");
        return;
    }
    const std::string prefix = std::string(ACTORLM_SOURCE_DIR) + "/build/node";
    if (!std::filesystem::exists(prefix + "/node_modules/openai/package.json")) {
        MESSAGE("skipped: the openai npm package is absent from " << prefix
                                                                  << " (run tools/setup)");
        return;
    }
    engine_config cfg;
    cfg.model_path = test::shared_path("models/stories260K.gguf");
    cfg.chat_template = test::shared_path("templates/Qwen-Qwen2.5-7B-Instruct.jinja");
    cfg.served_model_name = "stories";
    cfg.num_threads = 1;
    cfg.max_model_len = 2048;
    std::string error;
    std::shared_ptr<engine> eng = engine::create(cfg, &error);
    INFO(error);
    REQUIRE(eng != nullptr);
    auto backend = make_engine_backend(eng);
    server_metrics metrics("stories");
    router_options ro{{}, {"stories"}, ""};
    ro.enable_auto_tool_choice = true;
    ro.tool_call_parser = "hermes";
    api_router router(*backend, metrics, ro);
    server_options opts;
    opts.port = 0;
    http_server server(opts, router);
    REQUIRE(server.start().ok());

    std::string output;
    const int rc = run_capturing(
        "ACTORLM_BASE_URL=http://127.0.0.1:" + std::to_string(server.port()) +
            "/v1 ACTORLM_NODE_PREFIX=" + prefix + " node " + ACTORLM_SOURCE_DIR +
            "/tests/sdk/tool_calling.mjs",
        output);
    INFO(output);
    CHECK(rc == 0);
    CHECK(output.find("\nok\n") != std::string::npos);
    server.request_shutdown();
    server.wait();
}
