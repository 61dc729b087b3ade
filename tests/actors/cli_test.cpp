// The `actorlm` CLI as a person uses it: tokenize/detokenize round trip on a
// real model, a clear message (non-zero exit) for bad input, and one parser for
// every registered command: --help on stdout with exit 0, a bad or malformed
// option named on stderr with exit 2 (the command list comes from `actorlm --help`,
// so a new command is covered without touching this file).
#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "support/shared_data.hpp"
#include "support/shell.hpp"

namespace {

/// Runs the actorlm binary with `args`; returns stdout+stderr and sets *rc.
std::string run_cli(const std::string& args, int* rc) {
    auto r = actorlm::test::run_shell(std::string(ACTORLM_BINARY_DIR) + "/actorlm " + args);
    *rc = r.status;
    return r.output;
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

// ---- one parser for every command (driven by the command registry) ----

namespace {

struct cli_run {
    int rc = -1;
    std::string out, err;
};

/// Runs the actorlm binary with `args`, keeping stdout and stderr apart.
cli_run run_cli_split(const std::string& args) {
    const std::string err_path = "/tmp/actorlm_cli_err_" + std::to_string(getpid());
    const std::string cmd = std::string(ACTORLM_BINARY_DIR) + "/actorlm " + args + " 2>" + err_path;
    cli_run r;
    FILE* p = popen(cmd.c_str(), "r");
    char buf[4096];
    size_t n = 0;
    while (p && (n = fread(buf, 1, sizeof(buf), p)) > 0) r.out.append(buf, n);
    const int status = p ? pclose(p) : -1;
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (FILE* f = fopen(err_path.c_str(), "r")) {
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0) r.err.append(buf, n);
        fclose(f);
    }
    std::remove(err_path.c_str());
    return r;
}

std::vector<std::string> split_words(const std::string& line) {
    std::vector<std::string> words;
    std::istringstream in(line);
    for (std::string w; in >> w;) words.push_back(w);
    return words;
}

/// The registered commands, as `actorlm --help` lists them.
std::vector<std::string> registered_commands() {
    const cli_run r = run_cli_split("--help");
    REQUIRE(r.rc == 0);
    std::vector<std::string> names;
    std::istringstream in(r.out);
    bool listing = false;
    for (std::string line; std::getline(in, line);) {
        if (line == "commands:")
            listing = true;
        else if (line.empty())
            listing = false;
        else if (listing)
            names.push_back(split_words(line).at(0));
    }
    return names;
}

/// The long names of a command's options whose value is a number, read from its
/// --help ("  --threads INT:NONNEGATIVE [0]  CPU threads").
std::vector<std::string> numeric_options(const std::string& help) {
    std::vector<std::string> names;
    std::istringstream in(help);
    for (std::string line; std::getline(in, line);) {
        const auto words = split_words(line);
        if (words.size() < 2 || words[0].rfind("-", 0) != 0) continue;
        const std::string& type = words[1];
        if (type.rfind("INT", 0) != 0 && type.rfind("UINT", 0) != 0 && type.rfind("FLOAT", 0) != 0)
            continue;
        std::istringstream flags(words[0]);
        for (std::string flag; std::getline(flags, flag, ',');)
            if (flag.rfind("--", 0) == 0) {
                names.push_back(flag);
                break;
            }
    }
    return names;
}

}  // namespace

TEST_CASE("cli: every command prints --help to stdout and rejects bad options with exit 2") {
    const std::vector<std::string> commands = registered_commands();
    REQUIRE(commands.size() >= 15);
    int numeric_checked = 0;
    for (const std::string& name : commands) {
        CAPTURE(name);
        const cli_run help = run_cli_split(name + " --help");
        CHECK(help.rc == 0);
        CHECK(help.err.empty());
        CHECK(help.out.find("actorlm " + name) != std::string::npos);

        const cli_run unknown = run_cli_split(name + " --no-such-option 1");
        CHECK(unknown.rc == 2);
        CHECK(unknown.out.empty());
        CHECK(unknown.err.find("--no-such-option") != std::string::npos);

        for (const std::string& opt : numeric_options(help.out)) {
            CAPTURE(opt);
            const cli_run bad = run_cli_split(name + " " + opt + " abc");
            CHECK(bad.rc == 2);
            CHECK(bad.err.find(opt) != std::string::npos);
            ++numeric_checked;
        }
    }
    CHECK(numeric_checked >= 40);  // the help parser found the options it should
}

TEST_CASE("cli: one spelling per concept: the old flag spellings are gone") {
    // Each of these once named the same thing as an engine flag (or --dtype, --model)
    // in some command; the commands that take a model or a type accept only the new names.
    const char* old_spellings[] = {"--kv-cache-bytes 1",  "--kv-cache-memory 1GiB",
                                   "--no-prefix-caching", "--kv f16",
                                   "--type f16",          "--tokenizer t.json"};
    const char* commands[] = {"serve",           "generate",         "worker",
                              "bench-forward",   "bench-throughput", "bench-matmul",
                              "bench-tokenizer", "make-test-model"};
    for (const std::string name : commands) {
        for (const char* old : old_spellings) {
            const cli_run r = run_cli_split(name + " " + old);
            CAPTURE(name);
            CAPTURE(old);
            CHECK(r.rc == 2);
            CHECK(r.err.find(split_words(old).at(0)) != std::string::npos);
        }
    }
}

TEST_CASE("cli: shared value parsers: byte sizes, HOST:PORT and numbers name the option") {
    struct expect {
        std::string args;
        int rc;
        std::string says;
    };
    const expect cases[] = {
        // Sizes: one parser for every command that takes one.
        {"serve --kv-cache-memory-bytes 2GiB --help", 0, ""},
        {"generate --kv-cache-memory-bytes 512MiB --help", 0, ""},
        {"bench-throughput --kv-cache-memory-bytes 2e9 --help", 0, ""},
        {"serve --model m --kv-cache-memory-bytes lots", 2, "--kv-cache-memory-bytes"},
        {"generate --kv-cache-memory-bytes 3XB", 2, "--kv-cache-memory-bytes"},
        {"bench-throughput --kv-cache-memory-bytes -1", 2, "--kv-cache-memory-bytes"},
        // HOST:PORT: one parser for --worker and --listen.
        {"serve --worker 10.0.0.2:9000 --worker [::1]:9001 --help", 0, ""},
        {"serve --model m --worker host:0", 2, "--worker"},
        {"serve --model m --worker nocolon", 2, "HOST:PORT"},
        {"worker --model m --listen host:99999", 2, "--listen"},
        // Malformed numbers: a message and exit 2, never an abort.
        {"chat-template --template t --messages m --now abc", 2, "--now"},
        {"generate --model m --prompt hi --temperature warm", 2, "--temperature"},
        {"generate --model m --prompt hi --kv-cache-dtype f8", 2, "--kv-cache-dtype"},
        {"serve --model m --kv-cache-dtype fp8_e4m3", 2, "fp8_e4m3"},  // the value is named too
        {"bench-forward --model m --batch 1,,2", 2, "--batch"},
        {"bench-matmul --tokens 1,x", 2, "--tokens"},
        {"detokenize --model m --ids 5,x", 2, "integers"},
        {"generate --model m", 2, "--prompt"},
        {"generate --model m --prompt a --prompts-file /dev/null", 2, "--prompt"},
    };
    for (const auto& c : cases) {
        const cli_run r = run_cli_split(c.args);
        CAPTURE(c.args);
        CAPTURE(r.err);
        CHECK(r.rc == c.rc);
        if (!c.says.empty()) CHECK(r.err.find(c.says) != std::string::npos);
    }
}

TEST_CASE("cli: serve --kv-events-config takes vLLM's enable_kv_cache_events, naming bad keys") {
    const std::string serve = "serve --model /nonexistent/m.gguf --kv-events-config ";
    struct expect {
        std::string json;
        std::string says;
    };
    const expect bad[] = {
        {R"('{"enable_kv_cache_events":true,"publisher":"zmq"}')", "'publisher'"},
        {R"('{"enable_kv_cache_events":"yes"}')", "'enable_kv_cache_events' must be true or false"},
        {R"('[true]')", "must be a JSON object"},
        {R"('{"enable_kv_cache_events":')", "not valid JSON"},
    };
    for (const auto& c : bad) {
        const cli_run r = run_cli_split(serve + c.json);
        CAPTURE(c.json);
        CAPTURE(r.err);
        CHECK(r.rc == 2);
        CHECK(r.err.find("--kv-events-config") != std::string::npos);
        CHECK(r.err.find(c.says) != std::string::npos);
    }
    // Accepted: the command goes on and fails only on the missing model.
    const cli_run ok = run_cli_split(serve + R"('{"enable_kv_cache_events":true}')");
    CAPTURE(ok.err);
    CHECK(ok.rc != 2);
    CHECK(ok.rc != 0);
    CHECK(ok.err.find("kv-events-config") == std::string::npos);
    CHECK(ok.err.find("m.gguf") != std::string::npos);
}

TEST_CASE("cli: generate takes the engine's --kv-cache-dtype (f32, f16 and q8_0 all run)") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    const std::string model = actorlm::test::shared_path("models/stories260K.gguf");
    std::string f32_text;
    for (const char* kv : {"f32", "f16", "q8_0"}) {
        CAPTURE(kv);
        const cli_run r = run_cli_split("generate --model " + model +
                                        " --prompt 'Once upon a time' --max-tokens 8"
                                        " --temperature 0 --threads 1 --kv-cache-dtype " +
                                        kv + " --kv-cache-memory-bytes 4MiB");
        CAPTURE(r.err);
        CHECK(r.rc == 0);
        CHECK(r.out.size() > 1);
        if (std::string(kv) == "f32") f32_text = r.out;
    }
    // The JSONL path writes through the one JSON writer: valid, escaped lines.
    const std::string prompts = "/tmp/actorlm_cli_prompts_" + std::to_string(getpid()) + ".jsonl";
    {
        std::ofstream f(prompts);
        f << "{\"prompt\": \"Once \\\"upon\\\" a time\", \"request_id\": \"q1\"}\n";
    }
    const cli_run r = run_cli_split("generate --model " + model + " --prompts-file " + prompts +
                                    " --max-tokens 4 --temperature 0 --threads 1");
    std::remove(prompts.c_str());
    CHECK(r.rc == 0);
    CHECK(r.out.rfind("{\"request_id\":\"q1\",\"prompt\":\"Once \\\"upon\\\" a time\"", 0) == 0);
}

TEST_CASE("cli: bench-kv-tier saves and loads a tier and reports its bandwidths and layouts") {
    const cli_run r = run_cli_split(
        "bench-kv-tier --layers 3 --kv-heads 2 --head-dim 8 --blocks 16 --repeat 1 "
        "--kv-cache-dtype f32");
    CAPTURE(r.err);
    REQUIRE(r.rc == 0);
    // 3 layers x K,V x 2 heads x 8 x 4 bytes per token; 16 blocks of 16 tokens.
    CHECK(r.out.find("\"kv_bytes_per_token\":384") != std::string::npos);
    CHECK(r.out.find("\"payload_bytes\":98304") != std::string::npos);
    CHECK(r.out.find("\"disk_bytes\":99328") != std::string::npos);  // + a 64-byte header each
    CHECK(r.out.find("\"load_gb_per_s\":") != std::string::npos);
    CHECK(r.out.find("\"load_vs_memcpy\":") != std::string::npos);
    CHECK(r.out.find("\"load_copying_gb_per_s\":") != std::string::npos);
    CHECK(r.out.find("\"iovecs_per_block\":6,") != std::string::npos);  // K and V per layer
    CHECK(r.out.find("\"cross_layer_load_speedup\":") != std::string::npos);
    CHECK(r.out.find("\"cross_layer_memcpy_speedup\":") != std::string::npos);
    const cli_run bad = run_cli_split("bench-kv-tier --kv-cache-dtype bf16");
    CHECK(bad.rc == 2);
    CHECK(bad.err.find("--kv-cache-dtype") != std::string::npos);
    // q8_0 blocks: 3 layers x K,V x (2 heads x 32 values = 2 blocks of 34 bytes) per token.
    const cli_run q8 = run_cli_split(
        "bench-kv-tier --layers 3 --kv-heads 2 --head-dim 32 --blocks 16 --repeat 1 "
        "--kv-cache-dtype q8_0");
    CAPTURE(q8.err);
    REQUIRE(q8.rc == 0);
    CHECK(q8.out.find("\"kv_bytes_per_token\":408") != std::string::npos);
}
