// The OffloadingConnector's disk tier on the offline engine with stories260K: with
// a device pool too small to keep earlier prompts, their prefixes are reloaded from
// disk and greedy tokens and logprobs equal a run without a connector (F32 and F16
// KV); a new engine over the same directory (a restart) loads a known prefix from
// disk; corrupt or truncated block files are counted misses and recomputed (also a
// byte flipped mid-payload, which the direct load has already written into the
// CPU cache before its checksum fails); a tier
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
#include "support/kv_offload_runs.hpp"
#include "support/shared_data.hpp"
#include "tokenizer/tokenizer.hpp"
#include "support/temp_dir.hpp"
#include "support/kv_tier_checks.hpp"

using namespace actorlm;
using namespace actorlm::core;
namespace fs = std::filesystem;

namespace {

fs::path offload_test_dir(const std::string& name) { return test::fresh_temp_dir("kvoff-" + name); }

/// Waits (at most 10 s) until at least `n` blocks were saved.
void wait_for_saves(const llm_engine& eng, int64_t n) {
    for (int i = 0; i < 1000 && eng.stats().kv_connector_blocks_saved_total < n; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

/// The offload prompts' second half and its outputs from an engine without a connector,
/// after an engine with a disk tier in `dir` ran the first half (four documents, whose
/// blocks it saved there).
struct saved_first_half {
    std::vector<std::vector<int32_t>> second;
    std::vector<test::offload_run> base_second;
};

saved_first_half save_first_half(const fs::path& dir) {
    const auto prompts = test::offload_prompts();
    const std::vector<std::vector<int32_t>> first(prompts.begin(), prompts.begin() + 4);
    saved_first_half out;
    out.second.assign(prompts.begin() + 4, prompts.end());
    auto base_eng = test::make_offload_engine(test::offload_engine_config("f32", 128));
    const auto base = test::run_offload_prompts(*base_eng, prompts);
    out.base_second.assign(base.begin() + 4, base.end());
    auto eng = test::make_offload_engine(
        test::offload_engine_config("f32", 64, test::offload_disk_config(dir)));
    test::run_offload_prompts(*eng, first);
    CHECK(test::settled_offload_stats(*eng).kv_connector_blocks_saved_total >= 4 * 6);
    return out;  // the engine ends: queued saves are written
}

}  // namespace

TEST_CASE("kv_connector offload: evicted prefixes reload from disk with identical outputs") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto prompts = test::offload_prompts();
    for (const std::string kv_dtype : {"f32", "f16", "q8_0"}) {
        INFO("KV " << kv_dtype);
        // Baseline: no connector, a pool that keeps every document (device prefix hits).
        auto base_eng = test::make_offload_engine(test::offload_engine_config(kv_dtype, 128));
        const auto base = test::run_offload_prompts(*base_eng, prompts);
        CHECK(base_eng->stats().prefix_cache_hits_total >= 4 * 96 - 4 * 16);

        // 12 blocks hold one prompt: every document's prefix is evicted before its
        // second question, which must load it from disk.
        const fs::path dir = offload_test_dir("evict-" + kv_dtype);
        auto eng = test::make_offload_engine(
            test::offload_engine_config(kv_dtype, 12, test::offload_disk_config(dir)));
        // Saves land asynchronously: let the first questions' blocks reach the disk
        // before the second ones look for them (a loaded machine can delay the I/O thread).
        auto got = test::run_offload_prompts(*eng, {prompts.begin(), prompts.begin() + 4});
        wait_for_saves(*eng, 4 * 6);
        const auto rest = test::run_offload_prompts(*eng, {prompts.begin() + 4, prompts.end()});
        got.insert(got.end(), rest.begin(), rest.end());
        test::check_same_runs(base, got);
        const auto st = eng->stats();
        MESSAGE(kv_dtype << ": external hits " << st.external_prefix_cache_hits_total
                         << " tokens, loaded " << st.kv_connector_blocks_loaded_total
                         << " blocks, saved " << st.kv_connector_blocks_saved_total);
        CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
        CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
        CHECK(st.kv_connector_bytes_loaded_total ==
              st.kv_connector_blocks_loaded_total * test::offload_block_bytes(kv_dtype));
        CHECK(st.kv_connector_load_errors_total == 0);
        CHECK(st.prefix_cache_hits_total < base_eng->stats().prefix_cache_hits_total);
        eng.reset();
        fs::remove_all(dir);
    }
}

TEST_CASE("kv_connector offload: a restarted engine hits its disk tier, corrupt files are misses") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const fs::path dir = offload_test_dir("restart");
    const auto [second, base_second] = save_first_half(dir);
    const int files = test::count_block_files(dir);
    CHECK(files >= 4 * 6);

    {  // Restart: nothing in the device cache, the documents come from disk.
        auto eng = test::make_offload_engine(
            test::offload_engine_config("f32", 64, test::offload_disk_config(dir)));
        test::check_same_runs(base_second, test::run_offload_prompts(*eng, second));
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
        auto eng = test::make_offload_engine(
            test::offload_engine_config("f32", 64, test::offload_disk_config(dir)));
        test::check_same_runs(base_second, test::run_offload_prompts(*eng, second));
        const auto st = eng->stats();
        CHECK(st.kv_connector_blocks_loaded_total == 0);
        CHECK(st.kv_connector_load_errors_total >= 4);  // the truncated one and each first block
        MESSAGE("load errors after corruption: " << st.kv_connector_load_errors_total);
    }
    fs::remove_all(dir);
}

TEST_CASE("kv_connector offload: a block corrupted mid-payload loads as a miss and is recomputed") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const fs::path dir = offload_test_dir("mid-payload");
    const auto [second, base_second] = save_first_half(dir);
    // In every file, the exponent byte of the first K value of the middle layer (payload
    // offset 10240 + 3 of 20480, after the 64-byte header): a checksum that was skipped
    // would load a K row off by a factor of 2^128 or so, and the outputs would differ.
    int corrupted = 0;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        if (e.path().extension() != ".kvb") continue;
        REQUIRE(fs::file_size(e.path()) == 64 + 20480);
        std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
        f.seekg(64 + 10240 + 3);
        const char c = static_cast<char>(f.get());
        f.seekp(64 + 10240 + 3);
        f.put(static_cast<char>(c ^ 0x40));
        ++corrupted;
    }
    CHECK(corrupted >= 4 * 6);
    // The restarted engine indexes every file (the sizes are right), so each document's
    // first block is looked up, read straight into the CPU cache, and fails its checksum.
    auto eng = test::make_offload_engine(
        test::offload_engine_config("f32", 64, test::offload_disk_config(dir)));
    test::check_same_runs(base_second, test::run_offload_prompts(*eng, second));
    const auto st = eng->stats();
    CHECK(st.kv_connector_blocks_loaded_total == 0);
    CHECK(st.kv_connector_load_errors_total >= 4);
    eng.reset();
    fs::remove_all(dir);
}

TEST_CASE("kv_connector offload: a full tier stops saving and serving continues") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto prompts = test::offload_prompts();
    auto base_eng = test::make_offload_engine(test::offload_engine_config("f32", 128));
    const auto base = test::run_offload_prompts(*base_eng, prompts);

    // Capacity below one block: nothing is ever saved.
    const fs::path small = offload_test_dir("small");
    {
        auto eng = test::make_offload_engine(
            test::offload_engine_config("f32", 12, test::offload_disk_config(small, "1000")));
        test::check_same_runs(base, test::run_offload_prompts(*eng, prompts));
        CHECK(eng->stats().kv_connector_blocks_saved_total == 0);
        CHECK(eng->sched().stats().kv_connector.saves_skipped > 0);
    }
    CHECK(test::count_block_files(small) == 0);
    fs::remove_all(small);

    // The disk fails under the engine (its block directory becomes a file): the
    // write errors once, saving stops, every request still completes correctly.
    const fs::path dir = offload_test_dir("fail");
    auto eng = test::make_offload_engine(
        test::offload_engine_config("f32", 12, test::offload_disk_config(dir)));
    fs::path blocks;
    for (const auto& e : fs::directory_iterator(dir)) blocks = e.path();
    REQUIRE(!blocks.empty());
    fs::remove_all(blocks);
    std::ofstream(blocks.string()) << "not a directory";
    test::check_same_runs(base, test::run_offload_prompts(*eng, prompts));
    const auto st = eng->stats();
    CHECK(st.kv_connector_save_errors_total == 1);
    CHECK(st.kv_connector_blocks_saved_total == 0);
    CHECK(st.kv_connector_blocks_loaded_total == 0);
    eng.reset();
    fs::remove_all(dir);
}

TEST_CASE("kv_connector offload: engines of different models never share a block") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    const auto prompts = test::offload_prompts();
    const std::vector<std::vector<int32_t>> first(prompts.begin(), prompts.begin() + 4);
    const std::vector<std::vector<int32_t>> second(prompts.begin() + 4, prompts.end());
    const fs::path dir = offload_test_dir("models");
    // Same shape, same directory, two weight fingerprints: as two fine-tunes of one base.
    auto run = [&](const std::string& fingerprint, const std::vector<std::vector<int32_t>>& ps) {
        return test::run_as_model(fingerprint, test::offload_disk_config(dir), ps);
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
