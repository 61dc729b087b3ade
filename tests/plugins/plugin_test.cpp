// Plugins (docs/plugins.md): the loader refuses bad plugins by name, the example plugin's
// logits processor changes what stories260K generates (offline engine, actor engine and the
// CLI), its JSON-lines stat logger writes one plausible line per engine step, and its
// architecture joins the table. Each test case runs in its own process (ctest), so each
// starts with no plugin loaded.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <actorlm/engine.hpp>
#include <actorlm/plugin.h>

#include "core/llm_engine.hpp"
#include "model/architecture.hpp"
#include "plugins/plugin_loader.hpp"
#include "support/shared_data.hpp"
#include "support/shell.hpp"
#include "support/temp_dir.hpp"

namespace {

using namespace actorlm;

constexpr const char* k_model = "models/stories260K.gguf";

engine_config tiny_config() {
    engine_config cfg;
    cfg.model_path = test::shared_path(k_model);
    cfg.kv_cache_memory_bytes = 64 * 20 * 1024;  // 64 blocks of 16 tokens
    cfg.max_model_len = 160;
    cfg.max_num_seqs = 4;
    cfg.num_threads = 1;
    return cfg;
}

generate_request greedy(const std::string& id, const std::string& xargs = "") {
    generate_request r;
    r.request_id = id;
    r.prompt = "Once upon a time";
    r.params.temperature = 0.0f;
    r.params.max_tokens = 12;
    r.params.ignore_eos = true;
    r.params.extra_args_json = xargs;
    return r;
}

std::vector<int32_t> tokens_of(const core::completion_result& r) {
    REQUIRE(r.outputs.size() == 1);
    return r.outputs[0].token_ids;
}

bool contains(const std::vector<int32_t>& v, int32_t t) {
    return std::find(v.begin(), v.end(), t) != v.end();
}

std::string list_text(const std::vector<int32_t>& v) {
    std::string s;
    for (int32_t t : v) s += (s.empty() ? "" : ",") + std::to_string(t);
    return s;
}

/// The greedy completion of greedy("base") on stories260K without any plugin.
std::vector<int32_t> baseline_tokens() {
    auto eng = core::llm_engine::create(tiny_config());
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    auto res = (*eng)->generate({greedy("base")});
    REQUIRE(res.ok());
    return tokens_of(res->front());
}

}  // namespace

TEST_CASE("plugins: a missing file, a missing entry point and another API version are refused") {
    auto missing = plugins::load_plugin("/nonexistent/dir/plugin.so");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("/nonexistent/dir/plugin.so") != std::string::npos);
    CHECK(missing.message().find("no such file") != std::string::npos);

    auto no_entry = plugins::load_plugin(ACTORLM_NO_ENTRY_PLUGIN);
    REQUIRE_FALSE(no_entry.ok());
    CHECK(no_entry.message().find(ACTORLM_NO_ENTRY_PLUGIN) != std::string::npos);
    CHECK(no_entry.message().find("no entry point actorlm_plugin_register") != std::string::npos);

    auto version = plugins::load_plugin(ACTORLM_BAD_VERSION_PLUGIN);
    REQUIRE_FALSE(version.ok());
    CHECK(version.message().find(ACTORLM_BAD_VERSION_PLUGIN) != std::string::npos);
    CHECK(version.message().find("plugin API version 999") != std::string::npos);
    CHECK(version.message().find("plugin API version " +
                                 std::to_string(ACTORLM_PLUGIN_API_VERSION)) != std::string::npos);

    auto failing = plugins::load_plugin(ACTORLM_FAILING_PLUGIN);
    REQUIRE_FALSE(failing.ok());
    CHECK(failing.message().find("no licence file found") != std::string::npos);

    auto wrong_build = plugins::load_plugin(ACTORLM_WRONG_BUILD_PLUGIN);
    REQUIRE_FALSE(wrong_build.ok());
    CHECK(wrong_build.message().find("'OtherBuildConnector' was built as 'actorlm 0.0.1") !=
          std::string::npos);
    CHECK(wrong_build.message().find(plugins::host_build_id()) != std::string::npos);

    // Nothing of theirs stays: no plugin loaded, the failing one's processor dropped.
    CHECK(plugins::loaded_plugins().empty());
    CHECK(plugins::registered_logits_processors().empty());
    CHECK(plugins::describe_loaded_plugins() == "none");
}

TEST_CASE(
    "plugins: the example plugin loads once and registers a processor, a logger and an "
    "architecture") {
    REQUIRE(plugins::load_plugin(ACTORLM_EXAMPLE_PLUGIN).ok());
    REQUIRE(plugins::load_plugin(ACTORLM_EXAMPLE_PLUGIN).ok());  // again: a no-op
    auto loaded = plugins::loaded_plugins();
    REQUIRE(loaded.size() == 1);
    CHECK(loaded[0].registered == std::vector<std::string>{"logits_processor:example_ban_tokens",
                                                           "stat_logger:example_jsonl",
                                                           "architecture:example_llama"});
    auto lps = plugins::registered_logits_processors();
    REQUIRE(lps.size() == 1);
    CHECK(std::string(lps[0].name) == "example_ban_tokens");
    CHECK(lps[0].argmax_invariant == 0);
    REQUIRE(plugins::registered_stat_loggers().size() == 1);

    const architecture_info* arch = find_gguf_architecture("example_llama");
    REQUIRE(arch != nullptr);
    CHECK(arch->arch == model_arch::llama);
    CHECK_FALSE(arch->gguf_rope_neox);  // llama's layout
    CHECK(find_hf_model_type("example_llama").first == arch);
    CHECK(gguf_architecture_names().find("example_llama") != std::string::npos);
    CHECK(find_gguf_architecture("llama")->arch == model_arch::llama);  // built-ins first
}

TEST_CASE("plugins: the example logits processor bans the tokens a request's extra args name") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const std::vector<int32_t> base = baseline_tokens();
    REQUIRE(base.size() == 12);
    // Ban the first two tokens greedy decoding picks.
    const std::vector<int32_t> banned = {base[0], base[1]};
    const std::string xargs = "{\"banned_token_ids\":[" + list_text(banned) + "]}";

    engine_config cfg = tiny_config();
    cfg.plugins = {ACTORLM_EXAMPLE_PLUGIN};
    auto eng = core::llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    // Two requests in one batch: only the one that names the tokens changes.
    auto res = (*eng)->generate({greedy("plain"), greedy("banning", xargs)});
    REQUIRE(res.ok());
    const auto plain = tokens_of((*res)[0]);
    const auto banning = tokens_of((*res)[1]);
    CHECK(plain == base);
    INFO("base " << list_text(base) << ", with the ban " << list_text(banning));
    CHECK(banning != base);
    CHECK(banning.size() == 12);
    for (int32_t t : banned) CHECK_FALSE(contains(banning, t));
}

TEST_CASE("plugins: the example processor's environment ban applies to every request") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const std::vector<int32_t> base = baseline_tokens();
    REQUIRE(!base.empty());
    ::setenv("ACTORLM_EXAMPLE_BANNED_TOKENS", std::to_string(base[0]).c_str(), 1);
    ::setenv(plugins::k_plugins_env, ACTORLM_EXAMPLE_PLUGIN, 1);  // loaded by the env var
    auto eng = core::llm_engine::create(tiny_config());
    ::unsetenv(plugins::k_plugins_env);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    CHECK(plugins::loaded_plugins().size() == 1);
    // The processor is made (and reads the variable) on the engine's first step.
    auto res = (*eng)->generate({greedy("env")});
    ::unsetenv("ACTORLM_EXAMPLE_BANNED_TOKENS");
    REQUIRE(res.ok());
    const auto toks = tokens_of(res->front());
    CHECK(toks != base);
    CHECK_FALSE(contains(toks, base[0]));
}

TEST_CASE(
    "plugins: an argmax-invariant processor is skipped on greedy rows, applied to random ones") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const std::vector<int32_t> base = baseline_tokens();
    REQUIRE(!base.empty());
    ::setenv("ACTORLM_TEST_INVARIANT_BAN", std::to_string(base[0]).c_str(), 1);
    engine_config cfg = tiny_config();
    cfg.plugins = {ACTORLM_INVARIANT_PLUGIN};
    auto eng = core::llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    // Nearly greedy: without the ban the first draw is base[0] for any seed.
    generate_request cold = greedy("cold");
    cold.params.temperature = 0.01f;
    cold.params.seed = 7;
    auto res = (*eng)->generate({greedy("greedy"), cold});
    ::unsetenv("ACTORLM_TEST_INVARIANT_BAN");
    REQUIRE(res.ok());
    CHECK(tokens_of((*res)[0]) == base);  // greedy: never applied
    const auto sampled = tokens_of((*res)[1]);
    REQUIRE(!sampled.empty());
    CHECK(sampled[0] != base[0]);
    CHECK_FALSE(contains(sampled, base[0]));
}

TEST_CASE("plugins: the example JSON-lines stat logger writes one plausible line per engine step") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto path = test::temp_path("plugin-stats.jsonl");
    std::filesystem::remove(path);
    ::setenv("ACTORLM_EXAMPLE_STATS_FILE", path.c_str(), 1);
    engine_config cfg = tiny_config();
    cfg.plugins = {ACTORLM_EXAMPLE_PLUGIN};
    cfg.served_model_name = "tiny";
    int64_t steps = 0, generated = 0;
    {
        std::string err;
        auto eng = engine::create(cfg, &err);
        REQUIRE_MESSAGE(eng != nullptr, err);
        for (int i = 0; i < 3; ++i) {
            generate_request r = greedy("r" + std::to_string(i));
            r.params.max_tokens = 5 + i;
            auto stream = eng->generate(std::move(r));
            output_delta d;
            while (stream.next(d)) generated += static_cast<int64_t>(d.token_ids.size());
        }
        // The last step's report reaches the stats shortly after its outputs: wait until
        // the count holds still.
        for (int i = 0; i < 100; ++i) {
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
            const int64_t now = eng->stats().engine_steps_total;
            if (now == steps && now > 0) break;
            steps = now;
        }
    }  // stopping the engine calls log() once more
    ::unsetenv("ACTORLM_EXAMPLE_STATS_FILE");
    CHECK(generated == 5 + 6 + 7);
    REQUIRE(steps > 0);

    std::ifstream in(path);
    REQUIRE_MESSAGE(in.good(), "no stats file at " << path);
    simdjson::dom::parser parser;
    std::string line;
    int64_t step_lines = 0, log_lines = 0, sum_generated = 0, sum_finished = 0, last_step = 0;
    int64_t last_generated_total = 0;
    while (std::getline(in, line)) {
        simdjson::dom::element doc;
        REQUIRE_MESSAGE(parser.parse(line).get(doc) == simdjson::SUCCESS, "not JSON: " << line);
        std::string_view event, model;
        REQUIRE(doc["event"].get(event) == simdjson::SUCCESS);
        REQUIRE(doc["model"].get(model) == simdjson::SUCCESS);
        CHECK(model == "tiny");
        if (event == "step") {
            ++step_lines;
            int64_t step = 0, gen = 0, fin = 0, gen_total = 0, running = 0;
            REQUIRE(doc["step"].get(step) == simdjson::SUCCESS);
            REQUIRE(doc["generation_tokens"].get(gen) == simdjson::SUCCESS);
            REQUIRE(doc["finished"].get(fin) == simdjson::SUCCESS);
            REQUIRE(doc["generation_tokens_total"].get(gen_total) == simdjson::SUCCESS);
            REQUIRE(doc["running"].get(running) == simdjson::SUCCESS);
            CHECK(step == last_step + 1);  // one line per step, in order
            CHECK(gen >= 0);
            CHECK(running >= 0);
            CHECK(gen_total == last_generated_total + gen);
            last_step = step;
            last_generated_total = gen_total;
            sum_generated += gen;
            sum_finished += fin;
        } else {
            CHECK(event == "log");
            ++log_lines;
        }
    }
    std::filesystem::remove(path);
    CHECK(step_lines == steps);
    CHECK(sum_generated == generated);
    CHECK(sum_finished == 3);
    CHECK(log_lines >= 1);
}

TEST_CASE("plugins: the offline engine feeds the stat logger too") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto path = test::temp_path("plugin-offline-stats.jsonl");
    std::filesystem::remove(path);
    ::setenv("ACTORLM_EXAMPLE_STATS_FILE", path.c_str(), 1);
    engine_config cfg = tiny_config();
    cfg.plugins = {ACTORLM_EXAMPLE_PLUGIN};
    {
        auto eng = core::llm_engine::create(cfg);
        REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
        auto res = (*eng)->generate({greedy("a"), greedy("b")});
        REQUIRE(res.ok());
    }
    ::unsetenv("ACTORLM_EXAMPLE_STATS_FILE");
    std::ifstream in(path);
    simdjson::dom::parser parser;
    std::string line;
    int64_t steps = 0, generated = 0, finished = 0, logs = 0;
    while (std::getline(in, line)) {
        simdjson::dom::element doc;
        REQUIRE_MESSAGE(parser.parse(line).get(doc) == simdjson::SUCCESS, "not JSON: " << line);
        std::string_view event;
        REQUIRE(doc["event"].get(event) == simdjson::SUCCESS);
        if (event != "step") {
            ++logs;
            continue;
        }
        ++steps;
        int64_t step = 0, gen = 0, fin = 0;
        REQUIRE(doc["step"].get(step) == simdjson::SUCCESS);
        REQUIRE(doc["generation_tokens"].get(gen) == simdjson::SUCCESS);
        REQUIRE(doc["finished"].get(fin) == simdjson::SUCCESS);
        CHECK(step == steps);
        generated += gen;
        finished += fin;
    }
    std::filesystem::remove(path);
    CHECK(steps >= 12);  // one prefill step and 11 more decode steps at least
    CHECK(generated == 24);
    CHECK(finished == 2);
    CHECK(logs == 1);  // the engine's end (the run is shorter than the 5 s interval)
}

TEST_CASE("plugins: --plugin works end to end in actorlm generate and actorlm version") {
    const std::string actorlm = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    auto version = test::run_shell(actorlm + " version --plugin " + ACTORLM_EXAMPLE_PLUGIN);
    CHECK(version.status == 0);
    CHECK(version.output.find("example_ban_tokens") != std::string::npos);
    CHECK(version.output.find("plugin API version: " +
                              std::to_string(ACTORLM_PLUGIN_API_VERSION)) != std::string::npos);

    auto bad = test::run_shell(actorlm + " version --plugin " + ACTORLM_BAD_VERSION_PLUGIN);
    CHECK(bad.status != 0);
    CHECK(bad.output.find("plugin API version 999") != std::string::npos);
    auto env_bad = test::run_shell(std::string("ACTORLM_PLUGINS=") + ACTORLM_NO_ENTRY_PLUGIN + " " +
                                   actorlm + " version");
    CHECK(env_bad.status != 0);
    CHECK(env_bad.output.find("no entry point") != std::string::npos);

    ACTORLM_REQUIRE_SHARED(k_model);
    const auto dir = test::fresh_temp_dir("plugin-cli");
    std::filesystem::create_directories(dir);
    const auto prompts = dir / "prompts.jsonl";
    const std::string common = actorlm + " generate --model " + test::shared_path(k_model) +
                               " --threads 1 --max-model-len 160 --temperature 0 "
                               "--max-tokens 12 --ignore-eos --prompts-file " +
                               prompts.string();
    {
        std::ofstream(prompts) << R"({"prompt":"Once upon a time","request_id":"a"})"
                               << "\n";
    }
    const auto out = dir / "out.jsonl";
    auto plain = test::run_shell(common + " --output " + out.string());
    REQUIRE_MESSAGE(plain.status == 0, plain.output);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE_MESSAGE(parser.load(out.string()).get(doc) == simdjson::SUCCESS, plain.output);
    std::vector<int32_t> base;
    for (auto t : doc["outputs"].at(0)["token_ids"].get_array())
        base.push_back(int32_t(int64_t(t)));
    REQUIRE(base.size() == 12);

    {
        std::ofstream(prompts) << R"({"prompt":"Once upon a time","request_id":"a","vllm_xargs":)"
                               << R"({"banned_token_ids":[)" << base[0] << "]}}\n";
    }
    auto banned = test::run_shell(common + " --plugin " + ACTORLM_EXAMPLE_PLUGIN + " --output " +
                                  out.string());
    REQUIRE_MESSAGE(banned.status == 0, banned.output);
    CHECK(banned.output.find("loaded plugin") != std::string::npos);  // logged
    simdjson::dom::parser parser2;
    REQUIRE_MESSAGE(parser2.load(out.string()).get(doc) == simdjson::SUCCESS, banned.output);
    std::vector<int32_t> toks;
    for (auto t : doc["outputs"].at(0)["token_ids"].get_array())
        toks.push_back(int32_t(int64_t(t)));
    CHECK(toks.size() == 12);
    CHECK(toks != base);
    CHECK_FALSE(contains(toks, base[0]));

    auto missing = test::run_shell(common + " --plugin " + (dir / "absent.so").string());
    CHECK(missing.status != 0);
    CHECK(missing.output.find("absent.so: no such file") != std::string::npos);
    std::filesystem::remove_all(dir);
}

TEST_CASE("plugins: a plugin's architecture runs a config.json model_type the table lacks") {
    // make-test-model's Llama directory, renamed to the example's "example_llama": without the
    // plugin it is refused by name; with it, it runs as Llama and generates the same tokens.
    const std::string actorlm = std::string(ACTORLM_BINARY_DIR) + "/actorlm";
    const auto dir = test::fresh_temp_dir("plugin-arch");
    std::filesystem::create_directories(dir);
    const auto llama = dir / "llama", renamed = dir / "example";
    auto made = test::run_shell(actorlm + " make-test-model --format hf -o " + llama.string());
    REQUIRE_MESSAGE(made.status == 0, made.output);
    std::filesystem::copy(llama, renamed);
    std::string config = test::read_file((renamed / "config.json").string());
    const std::string from = "\"model_type\": \"llama\"";
    const size_t at = config.find(from);
    REQUIRE_MESSAGE(at != std::string::npos, config);
    config.replace(at, from.size(), "\"model_type\": \"example_llama\"");
    std::ofstream(renamed / "config.json", std::ios::trunc) << config;
    {
        std::ofstream(dir / "prompts.jsonl") << R"({"prompt":"hello world"})"
                                             << "\n";
    }
    auto run = [&](const std::filesystem::path& model, const std::string& extra) {
        const auto out = dir / "out.jsonl";
        std::filesystem::remove(out);
        auto r =
            test::run_shell(actorlm + " generate --model " + model.string() +
                            " --temperature 0 --max-tokens 8 --ignore-eos --prompts-file " +
                            (dir / "prompts.jsonl").string() + " --output " + out.string() + extra);
        return std::make_pair(r, test::read_file(out.string()));
    };
    auto [refused, none] = run(renamed, "");
    CHECK(refused.status != 0);
    CHECK(refused.output.find("model_type 'example_llama' is not supported") != std::string::npos);
    auto [base_run, base_out] = run(llama, "");
    REQUIRE_MESSAGE(base_run.status == 0, base_run.output);
    auto [plugin_run, plugin_out] =
        run(renamed, std::string(" --plugin ") + ACTORLM_EXAMPLE_PLUGIN);
    REQUIRE_MESSAGE(plugin_run.status == 0, plugin_run.output);
    const auto tokens = [](const std::string& jsonl) {
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        std::vector<int32_t> v;
        if (parser.parse(jsonl).get(doc) != simdjson::SUCCESS) return v;
        for (auto t : doc["outputs"].at(0)["token_ids"].get_array())
            v.push_back(int32_t(int64_t(t)));
        return v;
    };
    CHECK(tokens(base_out).size() == 8);
    CHECK(tokens(plugin_out) == tokens(base_out));
    std::filesystem::remove_all(dir);
}
