// The OffloadingConnector's disk tier on the offline engine with stories260K: with
// a device pool too small to keep earlier prompts, their prefixes are reloaded from
// disk and greedy tokens and logprobs equal a run without a connector (F32 and F16
// KV); a new engine over the same directory (a restart) loads a known prefix from
// disk; corrupt or truncated block files are counted misses and recomputed; a tier
// too small or a failing disk stops saving while serving goes on; another model's
// identity never hits the same blocks.
#include <doctest/doctest.h>

#include <chrono>
#include <thread>

#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "backends/cpu/cpu_executor.hpp"
#include "core/llm_engine.hpp"
#include "model/model_loader.hpp"
#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace actorlm;
using namespace actorlm::core;
namespace fs = std::filesystem;

namespace {

constexpr const char* k_model = "models/stories260K.gguf";

fs::path fresh_dir(const std::string& name) {
    fs::path p =
        fs::temp_directory_path() / ("actorlm-kvoff-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(p);
    return p;
}

/// The engine's stats once the disk tier's I/O thread has finished the saves queued so far:
/// saves complete asynchronously, so a count read right after the last step can lag on a
/// loaded machine. Settled = unchanged over 200 ms (at most 10 s).
actorlm::engine_stats settled_stats(const llm_engine& eng) {
    auto last = eng.stats();
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto now = eng.stats();
        if (now.kv_connector_blocks_saved_total == last.kv_connector_blocks_saved_total &&
            now.kv_connector_save_errors_total == last.kv_connector_save_errors_total)
            return now;
        last = now;
    }
    return last;
}

/// Waits (at most 10 s) until at least `n` blocks were saved.
void wait_for_saves(const llm_engine& eng, int64_t n) {
    for (int i = 0; i < 1000 && eng.stats().kv_connector_blocks_saved_total < n; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

std::string offload_config(const fs::path& dir, const std::string& capacity = "64MiB") {
    return R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
           R"("kv_connector_extra_config":{"disk_path":")" +
           dir.string() + R"(","disk_capacity_bytes":")" + capacity + R"("}})";
}

/// stories260K: 5 layers x 4 KV heads x head_dim 8, so a 16-token block is 20 KiB
/// in F32 and 10 KiB in F16. `num_blocks` blocks of device pool.
actorlm::engine_config make_config(const std::string& kv_dtype, int32_t num_blocks,
                                   const std::string& kv_transfer = {}) {
    actorlm::engine_config cfg;
    cfg.model_path = test::shared_path(k_model);
    cfg.kv_cache_dtype = kv_dtype;
    const int64_t block_bytes = (kv_dtype == "f16" ? 2 : 4) * 2 * 16 * 4 * 8 * 5;
    cfg.kv_cache_memory_bytes = num_blocks * block_bytes;
    cfg.max_model_len = 160;
    cfg.max_num_seqs = 4;
    cfg.num_threads = 1;
    cfg.kv_transfer_config = kv_transfer;
    return cfg;
}

std::unique_ptr<llm_engine> make_engine(const actorlm::engine_config& cfg) {
    auto e = llm_engine::create(cfg);
    REQUIRE_MESSAGE(e.ok(), (e.ok() ? "" : e.message()));
    return std::move(e).value();
}

/// Four "documents" of 96 tokens, each asked two different 8-token questions.
std::vector<std::vector<int32_t>> make_prompts() {
    std::mt19937 rng(13);
    std::uniform_int_distribution<int32_t> tok(3, 500);
    std::vector<std::vector<int32_t>> docs(4);
    for (auto& d : docs) {
        d.push_back(1);  // BOS
        for (int i = 1; i < 96; ++i) d.push_back(tok(rng));
    }
    std::vector<std::vector<int32_t>> prompts;
    for (int round = 0; round < 2; ++round)
        for (const auto& d : docs) {
            auto p = d;
            for (int i = 0; i < 8; ++i) p.push_back(tok(rng));
            prompts.push_back(std::move(p));
        }
    return prompts;
}

struct run_output {
    std::vector<int32_t> tokens;
    std::vector<float> logprobs;  // the sampled token's, then its top-3, per position
};

/// Runs each prompt alone (same batches in every engine), greedy, 12 tokens, logprobs.
std::vector<run_output> run_prompts(llm_engine& eng,
                                    const std::vector<std::vector<int32_t>>& prompts) {
    std::vector<run_output> out;
    for (const auto& p : prompts) {
        actorlm::generate_request r;
        r.prompt_token_ids = p;
        r.params.temperature = 0.0f;
        r.params.max_tokens = 12;
        r.params.ignore_eos = true;
        r.params.logprobs = 3;
        auto res = eng.generate({r});
        REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
        const auto& seq = (*res)[0].outputs[0];
        REQUIRE(seq.error.empty());
        run_output o;
        o.tokens = seq.token_ids;
        for (const auto& lp : seq.logprobs) {
            o.logprobs.push_back(lp.logprob);
            for (const auto& t : lp.top) o.logprobs.push_back(t.logprob);
        }
        out.push_back(std::move(o));
    }
    return out;
}

void check_same(const std::vector<run_output>& a, const std::vector<run_output>& b) {
    REQUIRE(a.size() == b.size());
    for (size_t i = 0; i < a.size(); ++i) {
        INFO("prompt " << i);
        CHECK(a[i].tokens == b[i].tokens);
        CHECK(a[i].logprobs == b[i].logprobs);  // bit-identical
    }
}

int count_block_files(const fs::path& dir) {
    int n = 0;
    if (!fs::exists(dir)) return 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) n += e.path().extension() == ".kvb";
    return n;
}

}  // namespace

TEST_CASE("kv_connector offload: evicted prefixes reload from disk with identical outputs") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto prompts = make_prompts();
    for (const std::string kv_dtype : {"f32", "f16"}) {
        INFO("KV " << kv_dtype);
        // Baseline: no connector, a pool that keeps every document (device prefix hits).
        auto base_eng = make_engine(make_config(kv_dtype, 128));
        const auto base = run_prompts(*base_eng, prompts);
        CHECK(base_eng->stats().prefix_cache_hits_total >= 4 * 96 - 4 * 16);

        // 12 blocks hold one prompt: every document's prefix is evicted before its
        // second question, which must load it from disk.
        const fs::path dir = fresh_dir("evict-" + kv_dtype);
        auto eng = make_engine(make_config(kv_dtype, 12, offload_config(dir)));
        // Saves land asynchronously: let the first questions' blocks reach the disk
        // before the second ones look for them (a loaded machine can delay the I/O thread).
        auto got = run_prompts(*eng, {prompts.begin(), prompts.begin() + 4});
        wait_for_saves(*eng, 4 * 6);
        const auto rest = run_prompts(*eng, {prompts.begin() + 4, prompts.end()});
        got.insert(got.end(), rest.begin(), rest.end());
        check_same(base, got);
        const auto st = eng->stats();
        MESSAGE(kv_dtype << ": external hits " << st.external_prefix_cache_hits_total
                         << " tokens, loaded " << st.kv_connector_blocks_loaded_total
                         << " blocks, saved " << st.kv_connector_blocks_saved_total);
        CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
        CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
        CHECK(st.kv_connector_bytes_loaded_total ==
              st.kv_connector_blocks_loaded_total * (kv_dtype == "f16" ? 10240 : 20480));
        CHECK(st.kv_connector_load_errors_total == 0);
        CHECK(st.prefix_cache_hits_total < base_eng->stats().prefix_cache_hits_total);
        eng.reset();
        fs::remove_all(dir);
    }
}

TEST_CASE("kv_connector offload: a restarted engine hits its disk tier; corrupt files are misses") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto prompts = make_prompts();
    const std::vector<std::vector<int32_t>> first(prompts.begin(), prompts.begin() + 4);
    const std::vector<std::vector<int32_t>> second(prompts.begin() + 4, prompts.end());
    auto base_eng = make_engine(make_config("f32", 128));
    const auto base = run_prompts(*base_eng, prompts);
    const std::vector<run_output> base_second(base.begin() + 4, base.end());

    const fs::path dir = fresh_dir("restart");
    {
        auto eng = make_engine(make_config("f32", 64, offload_config(dir)));
        run_prompts(*eng, first);
        CHECK(settled_stats(*eng).kv_connector_blocks_saved_total >= 4 * 6);
    }  // the engine ends: queued saves are written
    const int files = count_block_files(dir);
    CHECK(files >= 4 * 6);

    {  // Restart: nothing in the device cache, the documents come from disk.
        auto eng = make_engine(make_config("f32", 64, offload_config(dir)));
        check_same(base_second, run_prompts(*eng, second));
        const auto st = eng->stats();
        CHECK(st.external_prefix_cache_hits_total == 4 * 96);
        CHECK(st.kv_connector_blocks_loaded_total == 4 * 6);
        CHECK(st.prefix_cache_hits_total == 0);
    }

    // Flip the last byte of every block file and truncate one: nothing may load.
    std::vector<fs::path> paths;
    for (const auto& e : fs::recursive_directory_iterator(dir))
        if (e.path().extension() == ".kvb") paths.push_back(e.path());
    for (const auto& p : paths) {
        std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(-1, std::ios::end);
        const char c = static_cast<char>(f.get());
        f.seekp(-1, std::ios::end);
        f.put(static_cast<char>(c ^ 0x40));
    }
    fs::resize_file(paths[0], fs::file_size(paths[0]) / 2);
    {
        auto eng = make_engine(make_config("f32", 64, offload_config(dir)));
        check_same(base_second, run_prompts(*eng, second));
        const auto st = eng->stats();
        CHECK(st.kv_connector_blocks_loaded_total == 0);
        CHECK(st.kv_connector_load_errors_total >= 4);  // the truncated one and each first block
        MESSAGE("load errors after corruption: " << st.kv_connector_load_errors_total);
    }
    fs::remove_all(dir);
}

TEST_CASE("kv_connector offload: a full tier stops saving and serving continues") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto prompts = make_prompts();
    auto base_eng = make_engine(make_config("f32", 128));
    const auto base = run_prompts(*base_eng, prompts);

    // Capacity below one block: nothing is ever saved.
    const fs::path small = fresh_dir("small");
    {
        auto eng = make_engine(make_config("f32", 12, offload_config(small, "1000")));
        check_same(base, run_prompts(*eng, prompts));
        CHECK(eng->stats().kv_connector_blocks_saved_total == 0);
        CHECK(eng->sched().stats().kv_connector.saves_skipped > 0);
    }
    CHECK(count_block_files(small) == 0);
    fs::remove_all(small);

    // The disk fails under the engine (its block directory becomes a file): the
    // write errors once, saving stops, every request still completes correctly.
    const fs::path dir = fresh_dir("fail");
    auto eng = make_engine(make_config("f32", 12, offload_config(dir)));
    fs::path blocks;
    for (const auto& e : fs::directory_iterator(dir)) blocks = e.path();
    REQUIRE(!blocks.empty());
    fs::remove_all(blocks);
    std::ofstream(blocks.string()) << "not a directory";
    check_same(base, run_prompts(*eng, prompts));
    const auto st = eng->stats();
    CHECK(st.kv_connector_save_errors_total == 1);
    CHECK(st.kv_connector_blocks_saved_total == 0);
    CHECK(st.kv_connector_blocks_loaded_total == 0);
    eng.reset();
    fs::remove_all(dir);
}

TEST_CASE("kv_connector offload: engines of different models never share a block") {
    ACTORLM_REQUIRE_SHARED(k_model);
    const auto prompts = make_prompts();
    const std::vector<std::vector<int32_t>> first(prompts.begin(), prompts.begin() + 4);
    const std::vector<std::vector<int32_t>> second(prompts.begin() + 4, prompts.end());
    auto m = load_model(test::shared_path(k_model));
    REQUIRE(m.ok());
    auto tok = tokenizer::from_gguf(*m->gguf);
    REQUIRE(tok.ok());
    const fs::path dir = fresh_dir("models");
    // Same shape, same directory, two weight fingerprints: as two fine-tunes of one base.
    auto run = [&](const std::string& fingerprint, const std::vector<std::vector<int32_t>>& ps) {
        kv_cache_spec spec;
        spec.num_blocks = 64;
        spec.block_size = 16;
        spec.type = dtype::f32;
        cpu_executor_options opts;
        opts.num_threads = 1;
        auto ex = cpu_executor::create(m->config, m->weights, spec, opts);
        REQUIRE(ex.ok());
        auto cfg = make_config("f32", 64, offload_config(dir));
        auto eng = llm_engine::create(cfg, **tok, **ex, fingerprint);
        REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
        run_prompts(**eng, ps);
        return settled_stats(**eng);
    };
    const auto a = run("model-a", first);
    CHECK(a.kv_connector_blocks_saved_total >= 24);
    const auto b = run("model-b", second);
    CHECK(b.external_prefix_cache_hits_total == 0);  // A's documents are not B's
    CHECK(b.kv_connector_blocks_loaded_total == 0);
    const auto a2 = run("model-a", second);
    CHECK(a2.external_prefix_cache_hits_total == 4 * 96);  // but A finds its own
    fs::remove_all(dir);
}
