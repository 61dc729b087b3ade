// MultiConnector: nested configs parse and name the bad child; every chained
// connector saves and a request loads from the first one that holds its prefix
// (two disk tiers with stories260K, outputs identical to no connector); a finished
// request's blocks stay until the last of several delaying connectors reports.
#include <doctest/doctest.h>

#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "core/kv_invariants.hpp"
#include "core/llm_engine.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/kv_transfer_config.hpp"
#include "scheduler_factories.hpp"
#include "support/kv_offload_runs.hpp"
#include "support/shared_data.hpp"
#include "support/temp_dir.hpp"
#include "support/kv_tier_checks.hpp"

using namespace actorlm;
using namespace actorlm::core;
namespace fs = std::filesystem;

namespace {

fs::path multi_test_dir(const std::string& name) { return test::fresh_temp_dir("kvmulti-" + name); }

std::string disk(const fs::path& dir, const std::string& role = "kv_both") {
    return test::offload_disk_config(dir, "1GiB", role);
}

std::string multi(const std::vector<std::string>& children) {
    std::string list;
    for (const auto& c : children) list += (list.empty() ? "" : ",") + c;
    return R"({"kv_connector":"MultiConnector","kv_connector_extra_config":{"connectors":[)" +
           list + "]}}";
}

/// Four 96-token documents, each asked two 8-token questions; greedy, 8 tokens.
std::vector<std::vector<int32_t>> run_documents(llm_engine& eng, int round_first, int round_last) {
    std::mt19937 rng(41);
    std::uniform_int_distribution<int32_t> tok(3, 500);
    std::vector<std::vector<int32_t>> docs(4);
    for (auto& d : docs) {
        d.push_back(1);
        for (int i = 1; i < 96; ++i) d.push_back(tok(rng));
    }
    std::vector<std::vector<int32_t>> out;
    for (int round = 0; round < 2; ++round)
        for (const auto& d : docs) {
            auto p = d;
            for (int i = 0; i < 8; ++i) p.push_back(tok(rng));
            if (round < round_first || round > round_last) continue;
            actorlm::generate_request r;
            r.prompt_token_ids = p;
            r.params.temperature = 0.0f;
            r.params.max_tokens = 8;
            r.params.ignore_eos = true;
            auto res = eng.generate({r});
            REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
            out.push_back((*res)[0].outputs[0].token_ids);
        }
    return out;
}

/// Returns once the saved-block count stopped changing (the tiers' I/O threads are idle).
void wait_for_saves(const llm_engine& eng) {
    auto last = eng.stats().kv_connector_blocks_saved_total;
    for (int i = 0; i < 50; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        auto now = eng.stats().kv_connector_blocks_saved_total;
        if (now == last) return;
        last = now;
    }
}

// -- a connector that delays every finished request's free for `delay` reports --

struct delaying_scheduler final : kv::kv_connector_scheduler {
    match get_num_new_matched_tokens(const request&, int32_t) override { return {}; }
    void update_state_after_alloc(const request&, std::span<const int32_t>, int32_t) override {}
    std::shared_ptr<const kv::kv_connector_metadata> build_connector_meta(
        const scheduler_output&) override {
        return nullptr;
    }
    finished_request request_finished(const request&, std::span<const int32_t>) override {
        return {true, std::nullopt};
    }
};

struct delaying_worker final : kv::kv_connector_worker {
    explicit delaying_worker(int d) : delay(d) {}
    int delay;  // get_finished calls after a request finished before its save is reported
    std::vector<std::pair<std::string, int>> pending;
    status register_kv_caches(kv_block_io&) override { return {}; }
    void start_load_kv() override {}
    void wait_for_layer_load(int64_t) override {}
    void save_kv_layer(int64_t) override {}
    void wait_for_save() override {}
    kv::kv_connector_output get_finished(std::span<const std::string> finished) override {
        for (const auto& id : finished) pending.emplace_back(id, delay);
        kv::kv_connector_output out;
        for (auto it = pending.begin(); it != pending.end();) {
            if (--it->second <= 0) {
                out.finished_sending.push_back(it->first);
                it = pending.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }
};

void register_delaying(const std::string& name, int delay) {
    kv::register_kv_connector(
        name, {}, [delay](const kv::kv_transfer_config&, const kv::kv_connector_context&) {
            kv::kv_connector_pair p;
            p.scheduler = std::make_unique<delaying_scheduler>();
            p.worker = std::make_unique<delaying_worker>(delay);
            return result<kv::kv_connector_pair>(std::move(p));
        });
}

}  // namespace

TEST_CASE("kv_connector multi: nested configs parse, and errors name the child at fault") {
    auto ok = kv::parse_and_validate_kv_transfer_config(
        multi({disk("/tmp/a"), disk("/tmp/b", "kv_producer")}));
    REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.message()));
    REQUIRE(ok->connectors.size() == 2);
    CHECK(ok->connectors[1].role == kv::kv_role::producer);
    CHECK(ok->connectors[0].extra.at("disk_path") == "/tmp/a");

    struct bad_case {
        std::string json;
        std::string expect;
    };
    const bad_case bad[] = {
        {multi({disk("/tmp/a"), R"({"kv_connector":"Nope"})"}), "connectors[1]"},
        {multi({disk("/tmp/a"), R"({"kv_connector":"Nope"})"}), "unknown kv_connector 'Nope'"},
        {multi({R"({"kv_role":"kv_both"})"}), "connectors[0]: kv_transfer_config: 'kv_connector'"},
        {R"({"kv_connector":"MultiConnector","kv_connector_extra_config":{"connectors":[]}})",
         "non-empty array"},
        {R"({"kv_connector":"MultiConnector","kv_connector_extra_config":{"connectors":"x"}})",
         "non-empty array"},
        {R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{"connectors":[)" +
             disk("/tmp/a") + "]}}",
         "does not accept kv_connector_extra_config key 'connectors'"},
    };
    for (const auto& b : bad) {
        INFO(b.json);
        auto r = kv::parse_and_validate_kv_transfer_config(b.json);
        REQUIRE_FALSE(r.ok());
        CHECK(r.message().find(b.expect) != std::string::npos);
    }
    // Without children it refuses when built (the parser cannot know the shape yet).
    auto empty = kv::parse_and_validate_kv_transfer_config(R"({"kv_connector":"MultiConnector"})");
    REQUIRE(empty.ok());
    kv::kv_connector_context ctx;
    ctx.block_layer_bytes = 64;
    ctx.num_layers = 1;
    auto built = kv::make_kv_connector(*empty, ctx);
    REQUIRE_FALSE(built.ok());
    CHECK(built.message().find("needs kv_connector_extra_config 'connectors'") !=
          std::string::npos);
}

TEST_CASE("kv_connector multi: every tier saves, loads come from the first that holds them") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    auto base_eng = test::make_offload_engine(test::offload_engine_config("f32", 128));
    const auto base = run_documents(*base_eng, 0, 1);
    const std::vector<std::vector<int32_t>> base_second(base.begin() + 4, base.end());

    const fs::path a = multi_test_dir("a"), b = multi_test_dir("b"), c = multi_test_dir("c");
    {
        // Too small a device pool: the second questions reload their documents.
        auto eng = test::make_offload_engine(
            test::offload_engine_config("f32", 12, multi({disk(a), disk(b)})));
        auto got = run_documents(*eng, 0, 0);
        // Saves land asynchronously: on disk (both tiers: 2 x 4 x 6) before round 2 looks.
        for (int i = 0; i < 1000 && eng->stats().kv_connector_blocks_saved_total < 48; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        const auto second = run_documents(*eng, 1, 1);
        got.insert(got.end(), second.begin(), second.end());
        CHECK(got == base);
        wait_for_saves(*eng);
        const auto st = eng->stats();
        CHECK(st.external_prefix_cache_hits_total >= 4 * 5 * 16);
        CHECK(st.external_prefix_cache_queries_total > 0);
        CHECK(st.external_prefix_cache_queries_total < 2 * 8 * 104);  // not counted twice
    }
    const int files_a = test::count_block_files(a);
    CHECK(files_a >= 4 * 6);
    CHECK(test::count_block_files(b) == files_a);  // saved to both tiers

    {
        // A restart whose first tier is empty (and load-only) finds the documents in
        // the second; the empty consumer saves nothing.
        auto eng = test::make_offload_engine(
            test::offload_engine_config("f32", 64, multi({disk(c, "kv_consumer"), disk(b)})));
        CHECK(run_documents(*eng, 1, 1) == base_second);
        const auto st = eng->stats();
        CHECK(st.external_prefix_cache_hits_total == 4 * 96);
        CHECK(st.kv_connector_blocks_loaded_total == 4 * 6);
    }
    CHECK(test::count_block_files(c) == 0);
    for (const auto& d : {a, b, c}) fs::remove_all(d);
}

TEST_CASE("kv_connector multi: blocks stay until the last delaying connector reports") {
    register_delaying("TestDelayOnce", 1);
    register_delaying("TestDelayTwice", 2);
    auto cfg = kv::parse_and_validate_kv_transfer_config(
        multi({R"({"kv_connector":"TestDelayOnce"})", R"({"kv_connector":"TestDelayTwice"})"}));
    REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? "" : cfg.message()));
    kv::kv_connector_context ctx;
    ctx.block_layer_bytes = 64;
    ctx.num_layers = 1;
    auto pair = kv::make_kv_connector(*cfg, ctx);
    REQUIRE(pair.ok());
    std::shared_ptr<kv::kv_connector_worker> worker = std::move(pair->worker);

    auto s = test::make_scheduler(test::small_config(32));
    s->set_kv_connector(std::move(pair->scheduler));
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(40, 100), 1)).ok());
    const int32_t all_free = s->kv().num_free_blocks();
    auto so = s->schedule();
    s->update_from_output(so, test::fabricate_output(so));  // one token: done
    CHECK(s->holds_deferred_blocks("A"));

    // Each step: the worker side sees the metadata and reports what completed.
    auto step = [&] {
        auto next = s->schedule();
        worker->bind_connector_metadata(next.kv_connector_metadata);
        model_runner_output out;
        out.kv_connector_output = worker->get_finished(next.finished_req_ids);
        worker->clear_connector_metadata();
        s->update_from_output(next, out);
        return out.kv_connector_output.finished_sending;
    };
    CHECK(step().empty());  // the first connector's save is done, the second's is not
    CHECK(s->holds_deferred_blocks("A"));
    CHECK(s->kv().num_free_blocks() == all_free - 3);
    REQUIRE(check_kv_invariants(*s).ok());
    CHECK(step() == std::vector<std::string>{"A"});
    CHECK_FALSE(s->holds_deferred_blocks("A"));
    CHECK(s->kv().num_free_blocks() == all_free);
    CHECK_FALSE(s->has_unfinished_requests());
}
