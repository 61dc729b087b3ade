// The KV-cache actor answers every state query (what /metrics and /health ask)
// from the scheduler's last report: while a deliberately slow step is in flight
// it answers at once, and submissions made during the step already show in the
// queue counts. The scheduler itself is never asked. Also: a step longer than the
// step timeout loses a (remote) stage, while no timeout (in-process workers) waits;
// and the KV-cache actor builds the engine's KV connector (the tiers live with it),
// installs its worker side and refuses a second, broken or unaccepted one by name.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "actors/kv_cache_actor.hpp"
#include "actors/runtime_config.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/worker_actor.hpp"
#include "kv/kv_transfer_config.hpp"
#include "model/model_loader.hpp"
#include "model/noop_executor.hpp"
#include "support/kv_offload_runs.hpp"
#include "support/kv_tier_checks.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::actors;

namespace {

constexpr int64_t k_vocab = 64;
constexpr auto k_slow_step = std::chrono::milliseconds(1500);

/// A model whose every forward pass takes k_slow_step.
class slow_executor final : public model_executor {
public:
    explicit slow_executor(kv_cache_spec spec) : inner_(k_vocab, spec) {}
    const model_config& config() const override { return inner_.config(); }
    const kv_cache_spec& kv_spec() const override { return inner_.kv_spec(); }
    status forward(const forward_batch& batch, std::vector<float>& logits) override {
        std::this_thread::sleep_for(k_slow_step);
        return inner_.forward(batch, logits);
    }

private:
    noop_executor inner_;
};

core::request_spec spec_of(const std::string& id) {
    core::request_spec s;
    s.req_id = id;
    s.prompt_token_ids = {1, 2, 3, 4};
    s.params.temperature = 0.0f;
    s.params.max_tokens = 2;
    s.params.ignore_eos = true;
    return s;
}

/// A scheduler, KV-cache actor and one worker whose steps take k_slow_step each.
struct slow_engine {
    explicit slow_engine(std::chrono::milliseconds step_timeout) {
        worker = spawn_worker(
            sys,
            [](const worker_setup& setup) -> result<std::unique_ptr<model_executor>> {
                kv_cache_spec spec;
                spec.num_blocks = setup.num_blocks;
                spec.block_size = setup.block_size;
                return std::unique_ptr<model_executor>(std::make_unique<slow_executor>(spec));
            },
            "cpu");
        scheduler_actor_config sac;
        sac.sched.num_blocks = 64;
        sac.sched.block_size = 16;
        sac.sched.max_model_len = 256;
        sac.sched.vocab_size = k_vocab;
        sac.step_timeout = step_timeout;
        worker_setup setup;
        setup.num_blocks = 64;
        setup.block_size = 16;
        setup.last_layer = 1;
        sac.stages = {setup};
        REQUIRE(setup_workers(sys, {worker}, sac.stages, std::chrono::seconds(10)).empty());
        kv = spawn_kv_cache_actor(sys, 64);
        sched = spawn_scheduler(sys, sac, {worker}, kv, connector_actor{},
                                scheduler_threading::detached);
    }
    ~slow_engine() {
        caf::anon_send_exit(sched, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(kv, caf::exit_reason::user_shutdown);
        caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
    }
    runtime_config cfg;
    caf::actor_system sys{cfg};
    worker_actor worker;
    kv_cache_actor kv;
    scheduler_actor sched;
};

}  // namespace

TEST_CASE("KV-cache actor: answers stats at once during a slow step, with submissions counted") {
    slow_engine eng(std::chrono::milliseconds(0));
    auto& sys = eng.sys;
    auto kv = eng.kv;
    auto sched = eng.sched;

    caf::scoped_actor client{sys};  // receives the scheduler's outputs (unread here)
    auto stats = [&] {
        engine_stats out;
        out.healthy = false;
        client->request(kv, std::chrono::seconds(5), stats_atom_v)
            .receive([&](engine_stats& s) { out = std::move(s); }, [](caf::error&) {});
        return out;
    };
    client->send(sched, submit_atom_v, uint64_t{1}, sequence_specs{{spec_of("a")}});
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the step is running now
    client->send(sched, submit_atom_v, uint64_t{2}, sequence_specs{{spec_of("b")}});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));

    const auto begin = std::chrono::steady_clock::now();
    engine_stats s;
    for (int i = 0; i < 10; ++i) s = stats();
    const auto took = std::chrono::steady_clock::now() - begin;
    // Ten answers well inside the one step still in flight (it ends at ~1.5 s).
    CHECK(took < std::chrono::milliseconds(500));
    CHECK(s.healthy);
    CHECK(s.num_requests_running == 1);  // "a", in the slow step
    CHECK(s.num_requests_waiting == 1);  // "b", submitted during the step
    CHECK(s.kv_cache_usage > 0.0);
}

TEST_CASE("scheduler actor: a slow step is waited for without a step timeout, lost with one") {
    for (const auto timeout : {std::chrono::milliseconds(0), std::chrono::milliseconds(300)}) {
        CAPTURE(timeout.count());
        slow_engine eng(timeout);
        caf::scoped_actor client{eng.sys};
        client->send(eng.sched, submit_atom_v, uint64_t{1}, sequence_specs{{spec_of("a")}});
        // Two slow steps (1.5 s each) end the request, or the timeout ends the stage.
        bool ended_ok = false, lost = false;
        for (int i = 0; i < 10 && !ended_ok && !lost; ++i)
            client->receive(
                [&](outputs_atom, step_outputs& out) {
                    for (const auto& o : out.outputs) ended_ok = ended_ok || o.finished();
                    lost = lost || !out.ended.empty();
                },
                caf::after(std::chrono::seconds(5)) >> [] {});
        CHECK(ended_ok == (timeout.count() == 0));
        CHECK(lost == (timeout.count() > 0));
    }
}

namespace {

/// Asks `kv` to build the connector of `json` over `worker`'s cache; the scheduler
/// side, or the error's text.
std::pair<std::shared_ptr<kv::kv_connector_scheduler>, std::string> set_up_connector(
    caf::actor_system& sys, const kv_cache_actor& kv, const worker_actor& worker,
    const worker_info& info, const std::string& json) {
    auto cfg = kv::parse_and_validate_kv_transfer_config(json);
    REQUIRE_MESSAGE(cfg.ok(), (cfg.ok() ? std::string() : cfg.message()));
    kv_connector_setup setup;
    setup.config = *cfg;
    setup.context.block_size = 16;
    setup.context.block_layer_bytes = static_cast<size_t>(info.kv_block_layer_bytes);
    setup.context.num_layers = info.num_kv_layers;
    setup.context.model_tag = "stories260K";
    std::pair<std::shared_ptr<kv::kv_connector_scheduler>, std::string> out;
    caf::scoped_actor self{sys};
    self->request(kv, std::chrono::seconds(30), setup_atom_v, std::move(setup), worker)
        .receive([&](kv_connector_handoff& h) { out.first = std::move(h.scheduler); },
                 [&](caf::error& err) { out.second = sys.render(err); });
    return out;
}

}  // namespace

TEST_CASE("KV-cache actor: builds the KV connector, hands its sides out, refuses bad ones") {
    ACTORLM_REQUIRE_SHARED(test::k_offload_model);
    auto model = load_model(test::shared_path(test::k_offload_model));
    REQUIRE(model.ok());
    auto shared_model = std::make_shared<const loaded_model>(std::move(model).value());
    const auto dir = test::fresh_temp_dir("kvactor-connector");

    runtime_config cfg;
    caf::actor_system sys{cfg};
    auto worker = spawn_worker(sys, shared_model, "cpu");
    worker_setup setup;
    setup.num_blocks = 32;
    setup.block_size = 16;
    setup.last_layer = shared_model->config.num_layers;
    setup.num_threads = 1;
    std::vector<worker_info> infos;
    REQUIRE(setup_workers(sys, {worker}, {setup}, std::chrono::seconds(30), &infos).empty());
    REQUIRE(infos.front().kv_block_layer_bytes > 0);

    auto kv = spawn_kv_cache_actor(sys, setup.num_blocks);
    {
        auto [sched_side, err] =
            set_up_connector(sys, kv, worker, infos.front(), test::offload_disk_config(dir));
        REQUIRE_MESSAGE(err.empty(), err);
        REQUIRE(sched_side != nullptr);
        // The disk tier exists (its directory) and answers lookups through the
        // scheduler side: nothing stored yet.
        CHECK(std::filesystem::is_directory(dir));
        CHECK(test::count_block_files(dir) == 0);
        CHECK(sched_side->stats().blocks_loaded == 0);

        // One connector per engine.
        auto [again, again_err] =
            set_up_connector(sys, kv, worker, infos.front(), test::offload_disk_config(dir));
        CHECK(again == nullptr);
        CHECK(again_err.find("already set up") != std::string::npos);
    }

    // A tier that cannot be built (its directory is a file) is an error naming it.
    const auto file = dir / "not-a-dir";
    std::ofstream(file) << "x";
    auto kv2 = spawn_kv_cache_actor(sys, setup.num_blocks);
    auto [broken, broken_err] =
        set_up_connector(sys, kv2, worker, infos.front(), test::offload_disk_config(file));
    CHECK(broken == nullptr);
    CHECK_MESSAGE(broken_err.find("not-a-dir") != std::string::npos, broken_err);

    // A worker without a cache refuses the worker side; the actor says so.
    auto bare = spawn_worker(sys, shared_model, "cpu");
    auto kv3 = spawn_kv_cache_actor(sys, setup.num_blocks);
    auto [refused, refused_err] =
        set_up_connector(sys, kv3, bare, infos.front(), test::offload_disk_config(dir / "b"));
    CHECK(refused == nullptr);
    CHECK_MESSAGE(refused_err.find("the worker refused it") != std::string::npos, refused_err);

    for (const auto& h : {kv, kv2, kv3}) caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
    for (const auto& w : {worker, bare}) caf::anon_send_exit(w, caf::exit_reason::user_shutdown);
    std::filesystem::remove_all(dir);
}
