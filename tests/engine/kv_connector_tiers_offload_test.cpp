// The OffloadingConnector's host-memory tier, alone and in front of the disk tier, on
// the offline engine with stories260K and a device pool too small to keep earlier
// prompts: greedy tokens and logprobs equal a run without a connector (F32 and F16
// KV), also when the memory tier is smaller than the working set and evicts; a
// restarted engine (empty memory, same disk) loads every known prefix from disk and
// promotes it into memory.
#include <doctest/doctest.h>

#include <filesystem>

#include "support/kv_offload_runs.hpp"
#include "support/kv_tier_checks.hpp"

using namespace actorlm;
using namespace actorlm::test;
namespace fs = std::filesystem;

namespace {

std::string tier_config(const std::string& cpu_bytes, const fs::path& disk = {}) {
    std::string extra = R"("cpu_bytes_to_use":")" + cpu_bytes + "\"";
    if (!disk.empty())
        extra += R"(,"disk_path":")" + disk.string() + R"(","disk_capacity_bytes":"64MiB")";
    return R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",)"
           R"("kv_connector_extra_config":{)" +
           extra + "}}";
}

}  // namespace

TEST_CASE("kv tiers offload: evicted prefixes reload from host memory with identical outputs") {
    ACTORLM_REQUIRE_SHARED(k_offload_model);
    const auto prompts = offload_prompts();
    for (const std::string kv_dtype : {"f32", "f16", "q8_0"}) {
        INFO("KV " << kv_dtype);
        auto base_eng = make_offload_engine(offload_engine_config(kv_dtype, 128));
        const auto base = run_offload_prompts(*base_eng, prompts);

        // 12 device blocks hold one prompt: each document's second question must load
        // its prefix from host memory.
        auto eng = make_offload_engine(offload_engine_config(kv_dtype, 12, tier_config("64MiB")));
        check_same_runs(base, run_offload_prompts(*eng, prompts));
        const auto st = eng->stats();
        MESSAGE(kv_dtype << ": external hits " << st.external_prefix_cache_hits_total
                         << " tokens, loaded " << st.kv_connector_blocks_loaded_total
                         << " blocks, saved " << st.kv_connector_blocks_saved_total);
        CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
        CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
        CHECK(st.kv_connector_bytes_loaded_total ==
              st.kv_connector_blocks_loaded_total * offload_block_bytes(kv_dtype));
        CHECK(st.kv_connector_load_errors_total == 0);
        const auto events = eng->take_kv_events();
        CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "cpu") >= 4 * 6);
        CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "disk") == 0);
    }
}

TEST_CASE(
    "kv tiers offload: memory in front of disk gives identical outputs, also when "
    "the memory tier evicts") {
    ACTORLM_REQUIRE_SHARED(k_offload_model);
    const auto prompts = offload_prompts();
    for (const std::string kv_dtype : {"f32", "f16"}) {
        INFO("KV " << kv_dtype);
        auto base_eng = make_offload_engine(offload_engine_config(kv_dtype, 128));
        const auto base = run_offload_prompts(*base_eng, prompts);

        const fs::path dir = fresh_offload_dir("both-" + kv_dtype);
        {
            auto eng =
                make_offload_engine(offload_engine_config(kv_dtype, 12, tier_config("64MiB", dir)));
            check_same_runs(base, run_offload_prompts(*eng, prompts));
            const auto st = settled_offload_stats(*eng);
            CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
            CHECK(st.kv_connector_blocks_loaded_total >= 4 * 5);
            CHECK(st.kv_connector_load_errors_total == 0);
            // Write-through: every block saved once per tier.
            const auto events = eng->take_kv_events();
            const int cpu = test::count_events(events, kv::kv_event::kind::block_stored, "cpu");
            const int disk = test::count_events(events, kv::kv_event::kind::block_stored, "disk");
            CHECK(disk >= 4 * 6);
            CHECK(cpu >= disk);
            CHECK(st.kv_connector_blocks_saved_total == cpu + disk);
        }
        fs::remove_all(dir);

        // Memory for 8 blocks (under two documents): it evicts, the disk still has
        // every block, the outputs stay identical.
        const fs::path dir2 = fresh_offload_dir("small-" + kv_dtype);
        {
            const std::string cpu_bytes = std::to_string(8 * offload_block_bytes(kv_dtype));
            auto eng = make_offload_engine(
                offload_engine_config(kv_dtype, 12, tier_config(cpu_bytes, dir2)));
            check_same_runs(base, run_offload_prompts(*eng, prompts));
            const auto st = settled_offload_stats(*eng);
            const auto& kc = eng->sched().stats().kv_connector;
            CHECK(kc.evictions > 0);
            CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
            CHECK(st.kv_connector_load_errors_total == 0);
            const auto events = eng->take_kv_events();
            CHECK(test::count_events(events, kv::kv_event::kind::block_removed, "cpu") > 0);
            CHECK(test::count_events(events, kv::kv_event::kind::block_removed, "disk") == 0);
        }
        fs::remove_all(dir2);
    }
}

TEST_CASE("kv tiers offload: a restart with memory and disk hits the disk copy") {
    ACTORLM_REQUIRE_SHARED(k_offload_model);
    const auto prompts = offload_prompts();
    const std::vector<std::vector<int32_t>> first(prompts.begin(), prompts.begin() + 4);
    const std::vector<std::vector<int32_t>> second(prompts.begin() + 4, prompts.end());
    auto base_eng = make_offload_engine(offload_engine_config("f32", 128));
    const auto base = run_offload_prompts(*base_eng, prompts);
    const std::vector<offload_run> base_second(base.begin() + 4, base.end());

    const fs::path dir = fresh_offload_dir("restart");
    {
        auto eng = make_offload_engine(offload_engine_config("f32", 64, tier_config("64MiB", dir)));
        run_offload_prompts(*eng, first);
        CHECK(settled_offload_stats(*eng).kv_connector_blocks_saved_total >= 2 * 4 * 6);
    }  // the engine ends: its memory tier is gone, queued disk writes are done

    // Restart: an empty device cache and an empty memory tier; the documents come from disk.
    auto eng = make_offload_engine(offload_engine_config("f32", 64, tier_config("64MiB", dir)));
    check_same_runs(base_second, run_offload_prompts(*eng, second));
    const auto st = settled_offload_stats(*eng);
    CHECK(st.external_prefix_cache_hits_total == 4 * 96);
    CHECK(st.kv_connector_blocks_loaded_total == 4 * 6);
    CHECK(st.prefix_cache_hits_total == 0);
    // Every document block read from disk was promoted into memory: the memory tier
    // stored those 24 on top of the new blocks written through to both tiers.
    const auto events = eng->take_kv_events();
    CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "cpu") -
              test::count_events(events, kv::kv_event::kind::block_stored, "disk") ==
          4 * 6);
    eng.reset();
    fs::remove_all(dir);
}
