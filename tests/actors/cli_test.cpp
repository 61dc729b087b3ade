// The `actorlm` CLI as a person uses it: tokenize/detokenize round trip on a
// real model, and a clear message (non-zero exit) for bad input.
#include <doctest/doctest.h>

#include <cstdio>
#include <string>

#include "support/shared_data.hpp"

namespace {

/// Runs the actorlm binary with `args`; returns stdout+stderr and sets *rc.
std::string run_cli(const std::string& args, int* rc) {
    std::string cmd = std::string(ACTORLM_BINARY_DIR) + "/actorlm " + args + " 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    std::string out;
    char buf[512];
    while (p && fgets(buf, sizeof(buf), p)) out += buf;
    int status = p ? pclose(p) : -1;
    *rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return out;
}

}  // namespace

TEST_CASE("cli: tokenize and detokenize round-trip a prompt on stories260K") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = actorlm::test::shared_path("models/stories260K.gguf");
    int rc = -1;
    std::string ids = run_cli("tokenize --model " + model + " --text 'Once upon a time'", &rc);
    CHECK(rc == 0);
    CHECK(ids == "1 403 407 261 378\n");  // BOS + the golden file's prompt ids
    std::string text = run_cli("detokenize --model " + model + " --ids 403,407,261,378", &rc);
    CHECK(rc == 0);
    CHECK(text == "Once upon a time\n");
}

TEST_CASE("cli: bad input gets a message naming the problem and a non-zero exit") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = actorlm::test::shared_path("models/stories260K.gguf");
    int rc = 0;
    std::string out = run_cli("tokenize --model /nonexistent/m.gguf --text hi", &rc);
    CHECK(rc != 0);
    CHECK(out.find("/nonexistent/m.gguf") != std::string::npos);
    out = run_cli("detokenize --model " + model + " --ids 5,x", &rc);
    CHECK(rc != 0);
    CHECK(out.find("integers") != std::string::npos);
    out = run_cli("detokenize --model " + model + " --ids 99999", &rc);
    CHECK(rc != 0);
    CHECK(out.find("99999") != std::string::npos);
    out = run_cli("no-such-command", &rc);
    CHECK(rc != 0);
    CHECK(out.find("unknown command") != std::string::npos);
}

TEST_CASE("cli: `actorlm bench serve` is vLLM's spelling of `actorlm bench-serve`") {
    int rc = -1;
    std::string out = run_cli("bench serve --help", &rc);
    CHECK(rc == 0);
    CHECK(out.find("actorlm bench-serve") != std::string::npos);
    out = run_cli("bench serve --num-prompts 0", &rc);  // the same parser, the same checks
    CHECK(rc != 0);
    CHECK(out.find("num-prompts") != std::string::npos);
    out = run_cli("bench no-such-bench", &rc);
    CHECK(rc != 0);
    CHECK(out.find("unknown command 'bench-no-such-bench'") != std::string::npos);
}
