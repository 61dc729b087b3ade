// KV connector API without a model: --kv-transfer-config parsing and the errors
// that name the bad key, the registry, block hashes pinned to fixed values (stable
// across processes and builds) and rooted in the model identity, the disk tier
// (restart index, checksums, truncation, capacity LRU) over an in-memory cache, and
// the scheduler's waiting_for_remote_kvs state driven by a scripted connector.
#include <doctest/doctest.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include <unistd.h>

#include "core/engine_plan.hpp"
#include "core/kv_invariants.hpp"
#include "kv/disk_kv_store.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/kv_model_identity.hpp"
#include "kv/kv_transfer_config.hpp"
#include "scheduler_factories.hpp"
#include "support/fake_kv_cache.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::core;
namespace fs = std::filesystem;

// Pinned digests (see the block-hash test).
#define ROOT_HEX "c989197ef2f06387199dd338dcb8744a"
#define MODEL_ROOT_HEX "69890e0b6c9c06bbbd5148373669b585"
#define CHAIN_HEX "aa4818e8f6921475f48a082c74f0ce74"

namespace {

using test::fake_kv_cache;

fs::path api_test_dir(const std::string& name) { return test::fresh_temp_dir("kvapi-" + name); }

std::shared_ptr<kv::disk_kv_store> open_store(const fs::path& dir, int64_t capacity,
                                              const fake_kv_cache& kv) {
    kv::disk_kv_store::options o;
    o.dir = dir.string();
    o.capacity_bytes = capacity;
    o.layer_bytes = kv.block_layer_bytes();
    o.num_layers = kv.num_kv_layers();
    auto s = kv::disk_kv_store::open(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
    return *s;
}

}  // namespace

TEST_CASE("kv_connector: --kv-transfer-config parses and names every bad key") {
    auto ok = kv::parse_and_validate_kv_transfer_config(
        R"({"kv_connector":"OffloadingConnector","kv_role":"kv_both",
            "kv_connector_extra_config":{"disk_path":"/tmp/x","disk_capacity_bytes":"2GiB"}})");
    REQUIRE_MESSAGE(ok.ok(), (ok.ok() ? "" : ok.message()));
    CHECK(ok->kv_connector == "OffloadingConnector");
    CHECK(ok->role == kv::kv_role::both);
    CHECK(ok->extra.at("disk_path") == "/tmp/x");
    CHECK(*kv::parse_byte_size("k", ok->extra.at("disk_capacity_bytes")) == (int64_t{2} << 30));
    CHECK(*kv::parse_byte_size("k", "4096") == 4096);
    CHECK_FALSE(kv::parse_byte_size("disk_capacity_bytes", "lots").ok());

    auto err = [](const char* json) {
        auto r = kv::parse_and_validate_kv_transfer_config(json);
        REQUIRE_FALSE(r.ok());
        return r.message();
    };
    CHECK(err(R"({"kv_conector":"OffloadingConnector"})").find("'kv_conector'") !=
          std::string::npos);
    CHECK(err(R"({"kv_connector":"OffloadingConnector","kv_role":"both"})").find("kv_role") !=
          std::string::npos);
    CHECK(err(R"({"kv_connector":"NoSuchConnector"})").find("'NoSuchConnector'") !=
          std::string::npos);
    CHECK(err(R"({"kv_connector":"OffloadingConnector",
                  "kv_connector_extra_config":{"disk_pth":"/tmp"}})")
              .find("'disk_pth'") != std::string::npos);
    CHECK(err(R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":[1]})")
              .find("kv_connector_extra_config") != std::string::npos);
    CHECK(err(R"({"kv_role":"kv_both"})").find("'kv_connector' is required") != std::string::npos);
    CHECK(err("[1,2]").find("object") != std::string::npos);
    CHECK(err("{not json").find("not valid JSON") != std::string::npos);

    // The engine refuses it before loading anything.
    actorlm::engine_config cfg;
    cfg.model_path = "/nonexistent/model.gguf";
    cfg.kv_transfer_config = R"({"kv_connector":"OffloadingConnector","bogus":1})";
    auto plan = make_engine_plan(cfg);
    REQUIRE_FALSE(plan.ok());
    CHECK(plan.message().find("'bogus'") != std::string::npos);
}

TEST_CASE("kv_connector: block hashes are pinned, seedless and rooted in the model identity") {
    // Fixed values: the same on every run, process and machine (a seeded or
    // per-process hash would change them and break disk tiers across restarts).
    CHECK(to_hex(root_block_hash()) == ROOT_HEX);
    model_identity id;
    id.weights_fingerprint = "w";
    id.architecture = "llama";
    id.kv_dtype = "f16";
    id.block_size = 16;
    id.tokenizer_fingerprint = "t";
    const block_hash root = model_root_block_hash(id);
    CHECK(to_hex(root) == MODEL_ROOT_HEX);
    std::vector<block_hash> chain;
    extend_block_hashes(chain, test::iota_tokens(32, 5), 16, "", "", root);
    REQUIRE(chain.size() == 2);
    CHECK(to_hex(chain[1]) == CHAIN_HEX);

    // Every identity field separates models, so their blocks never match.
    auto differs = [&](auto edit) {
        model_identity o = id;
        edit(o);
        return model_root_block_hash(o) != root;
    };
    CHECK(differs([](model_identity& o) { o.weights_fingerprint = "w2"; }));
    CHECK(differs([](model_identity& o) { o.architecture = "qwen2"; }));
    CHECK(differs([](model_identity& o) { o.weights_dtype = "q8_0"; }));
    CHECK(differs([](model_identity& o) { o.kv_dtype = "f32"; }));
    CHECK(differs([](model_identity& o) { o.block_size = 32; }));
    CHECK(differs([](model_identity& o) { o.tokenizer_fingerprint = "t2"; }));
    // Length prefixes: moving a character between fields is a different identity.
    CHECK(differs([](model_identity& o) {
        o.weights_fingerprint = "wl";
        o.architecture = "lama";
    }));
    // Config fields that change later layers' K/V without changing a weight separate models.
    model_config base;
    base.num_layers = 4;
    const std::string key = kv::model_architecture_key(base);
    auto key_differs = [&](auto edit) {
        model_config c = base;
        edit(c);
        return kv::model_architecture_key(c) != key;
    };
    CHECK(key_differs([](model_config& c) { c.sliding_window = 8; }));
    CHECK(key_differs([](model_config& c) {
        c.sliding_window = 8;
        c.sliding_layers = {true, false, true, false};
    }));
    CHECK(key_differs([](model_config& c) { c.sliding_rope_theta = 10000.0f; }));
    CHECK(key_differs([](model_config& c) { c.moe.num_experts_used = 2; }));
    CHECK(key_differs([](model_config& c) { c.recipe.attention_softcap = 50.0f; }));
    CHECK_FALSE(key_differs([](model_config&) {}));
    // The cache salt still separates tenants under one model root.
    std::vector<block_hash> salted;
    extend_block_hashes(salted, test::iota_tokens(32, 5), 16, "tenant", "", root);
    CHECK(salted[0] != chain[0]);
}

TEST_CASE("kv_connector: disk tier survives a restart, rejects corrupt and truncated blocks") {
    const fs::path dir = api_test_dir("store");
    fake_kv_cache kv(3, 8, 256);
    std::mt19937 rng(7);
    for (int32_t b = 0; b < 8; ++b)
        for (int64_t l = 0; l < 3; ++l)
            for (size_t i = 0; i < 256; ++i) kv.at(l, b)[i] = static_cast<uint8_t>(rng());
    std::vector<block_hash> hashes;
    extend_block_hashes(hashes, test::iota_tokens(4 * 16, 100), 16);
    {
        auto store = open_store(dir, 1 << 20, kv);
        for (int32_t b = 0; b < 4; ++b) {
            REQUIRE(store->reserve_save(hashes[static_cast<size_t>(b)]));
            CHECK_FALSE(store->reserve_save(hashes[static_cast<size_t>(b)]));  // pending
            store->save_async(hashes[static_cast<size_t>(b)], kv.block(b));
        }
        store->flush();
        CHECK(store->stats().blocks_saved == 4);
        CHECK(store->contains(hashes[3]));
        CHECK(store->take_events().size() == 4);
    }
    // Restart: the directory is the index. Corrupt block 1's last byte, truncate block 2.
    auto file_of = [&](const block_hash& h) { return dir / (to_hex(h) + ".kvb"); };
    {
        std::fstream f(file_of(hashes[1]), std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-1, std::ios::end);
        f.put('\x5a' ^ static_cast<char>(kv.at(2, 1)[255]));
    }
    fs::resize_file(file_of(hashes[2]), fs::file_size(file_of(hashes[2])) - 10);
    auto store = open_store(dir, 1 << 20, kv);
    CHECK(store->stats().load_errors == 1);  // the truncated file
    CHECK(store->contains(hashes[0]));
    CHECK(store->contains(hashes[1]));
    CHECK_FALSE(store->contains(hashes[2]));
    CHECK(store->contains(hashes[3]));

    fake_kv_cache dst(3, 8, 256);
    store->load_async("a", {{hashes[0], 5}, {hashes[1], 6}, {hashes[3], 7}}, &dst);
    store->flush();
    auto done = store->take_finished_loads();
    REQUIRE(done.size() == 1);
    CHECK(done[0].req_id == "a");
    CHECK(done[0].invalid_block_ids == std::vector<int32_t>{6, 7});  // from the corrupt one on
    CHECK(dst.block(5) == kv.block(0));
    // Block 6 was read straight into dst before its checksum failed (reported invalid:
    // the scheduler recomputes it); block 7, after it, was never read.
    CHECK(dst.block(7) == std::vector<uint8_t>(3 * 256, 0));
    CHECK(store->stats().load_errors == 2);
    CHECK(store->stats().blocks_loaded == 1);
    CHECK_FALSE(store->contains(hashes[1]));  // dropped
    fs::remove_all(dir);
}

TEST_CASE("kv_connector: engines saving the same blocks into one directory are safe") {
    // Two engines on one host may share a disk tier (the same disk_path): both save the
    // same prefix at the same time, and a third finds every block whole.
    const fs::path dir = api_test_dir("shared");
    fake_kv_cache kv(2, 64, 4096);
    for (int32_t b = 0; b < 64; ++b) kv.fill(b, static_cast<uint8_t>(b));
    std::vector<block_hash> hashes;
    extend_block_hashes(hashes, test::iota_tokens(64 * 16, 500), 16);
    auto a = open_store(dir, 64 << 20, kv);
    auto b = open_store(dir, 64 << 20, kv);
    for (int32_t i = 0; i < 64; ++i) {
        for (auto* store : {a.get(), b.get()}) {
            // (A tier that stopped saving after a failed write refuses reservations.)
            if (store->reserve_save(hashes[static_cast<size_t>(i)]))
                store->save_async(hashes[static_cast<size_t>(i)], kv.block(i));
        }
    }
    a->flush();
    b->flush();
    CHECK(a->stats().save_errors == 0);
    CHECK(b->stats().save_errors == 0);
    CHECK(a->stats().blocks_saved == 64);
    CHECK(b->stats().blocks_saved == 64);
    // A later engine opening the directory never deletes a write in flight (a fresh
    // temporary file), removes an interrupted one (an old temporary file), and finds
    // every block whole.
    const fs::path in_flight = dir / (to_hex(hashes[0]) + ".kvb.999999.0.tmp");
    const fs::path interrupted = dir / (to_hex(hashes[1]) + ".kvb.999999.1.tmp");
    std::ofstream(in_flight) << "partial";
    std::ofstream(interrupted) << "partial";
    fs::last_write_time(interrupted, fs::file_time_type::clock::now() - std::chrono::hours(1));
    auto c = open_store(dir, 64 << 20, kv);
    CHECK(c->stats().load_errors == 0);
    CHECK(fs::exists(in_flight));
    CHECK_FALSE(fs::exists(interrupted));
    fake_kv_cache dst(2, 64, 4096);
    std::vector<kv::kv_block_store::load_block> all;
    for (int32_t i = 0; i < 64; ++i) all.push_back({hashes[static_cast<size_t>(i)], i});
    c->load_async("all", all, &dst);
    c->flush();
    auto done = c->take_finished_loads();
    REQUIRE(done.size() == 1);
    CHECK(done[0].invalid_block_ids.empty());
    for (int32_t i = 0; i < 64; ++i) CHECK(dst.block(i) == kv.block(i));
    fs::remove_all(dir);
}

TEST_CASE("kv_connector: disk tier capacity evicts least recently used, too small saves nothing") {
    const fs::path dir = api_test_dir("cap");
    fake_kv_cache kv(1, 8, 1000);
    std::vector<block_hash> hashes;
    extend_block_hashes(hashes, test::iota_tokens(5 * 16, 300), 16);
    auto store = open_store(dir, 3 * (1000 + 64), kv);  // room for three blocks
    for (int32_t b = 0; b < 3; ++b) {
        REQUIRE(store->reserve_save(hashes[static_cast<size_t>(b)]));
        store->save_async(hashes[static_cast<size_t>(b)], kv.block(b));
    }
    store->flush();
    fake_kv_cache dst(1, 8, 1000);
    store->load_async("touch", {{hashes[0], 0}}, &dst);  // block 0 becomes most recent
    for (int32_t b = 3; b < 5; ++b) {
        REQUIRE(store->reserve_save(hashes[static_cast<size_t>(b)]));
        store->save_async(hashes[static_cast<size_t>(b)], kv.block(b));
    }
    store->flush();
    CHECK(store->contains(hashes[0]));
    CHECK_FALSE(store->contains(hashes[1]));
    CHECK_FALSE(store->contains(hashes[2]));
    CHECK(store->contains(hashes[3]));
    CHECK(store->contains(hashes[4]));
    const auto st = store->stats();
    CHECK(st.evictions == 2);
    CHECK(st.blocks_stored == 3);
    CHECK(st.bytes_stored <= 3 * (1000 + 64));
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.path().extension() == ".kvb";
    CHECK(files == 3);

    auto tiny = open_store(api_test_dir("tiny"), 500, kv);  // smaller than one block
    CHECK_FALSE(tiny->reserve_save(hashes[0]));
    CHECK(tiny->stats().saves_skipped == 1);
    fs::remove_all(dir);
    fs::remove_all(tiny->dir());
}

namespace {

/// A scheduler-side connector scripted by the test: it offers `offer` tokens of
/// every request asynchronously (or synchronously) and records the calls.
struct scripted_connector final : kv::kv_connector_scheduler {
    int32_t offer = 0;
    bool async = true;
    bool delay_free = false;
    std::vector<std::string> allocated;
    std::vector<std::string> finished;
    match get_num_new_matched_tokens(const request&, int32_t) override {
        return {offer, async && offer > 0};
    }
    void update_state_after_alloc(const request& r, std::span<const int32_t>, int32_t n) override {
        allocated.push_back(r.id() + ":" + std::to_string(n));
    }
    std::shared_ptr<const kv::kv_connector_metadata> build_connector_meta(
        const scheduler_output&) override {
        return nullptr;
    }
    finished_request request_finished(const request& r, std::span<const int32_t>) override {
        finished.push_back(r.id());
        return {delay_free, std::nullopt};
    }
    bool serves_pulls = true;
    std::vector<std::string> snapshots;  // ticket:blocks
    std::optional<actorlm::kv_transfer_params> offer_snapshot(
        const request&, std::span<const int32_t> block_ids, const std::string& ticket) override {
        if (!serves_pulls) return std::nullopt;
        snapshots.push_back(ticket + ":" + std::to_string(block_ids.size()));
        actorlm::kv_transfer_params p;
        p.do_remote_prefill = true;
        p.remote_request_id = ticket;
        p.remote_block_ids.assign(block_ids.begin(), block_ids.end());
        return p;
    }
};

}  // namespace

TEST_CASE("kv_connector: an asynchronously loading request waits while others run") {
    auto s = test::make_scheduler(test::small_config(32));
    auto owned = std::make_unique<scripted_connector>();
    scripted_connector* conn = owned.get();
    s->set_kv_connector(std::move(owned));
    conn->offer = 32;  // two blocks of "A"
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(40, 100), 2)).ok());
    auto so = s->schedule();
    CHECK(so.empty());
    CHECK(s->find("A")->status == request_status::waiting_for_remote_kvs);
    CHECK(s->kv().block_ids("A").size() == 2);  // blocks for the loaded prefix only
    CHECK(conn->allocated == std::vector<std::string>{"A:32"});
    REQUIRE(check_kv_invariants(*s).ok());

    conn->offer = 0;  // B has nothing external: it runs while A still loads
    REQUIRE(s->add_request(test::make_spec("B", test::iota_tokens(20, 500), 2)).ok());
    so = s->schedule();
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].req_id == "B");
    auto out = test::fabricate_output(so);
    s->update_from_output(so, out);
    CHECK(s->find("A")->status == request_status::waiting_for_remote_kvs);

    // The worker reports A loaded: it is scheduled from token 32 on.
    so = s->schedule();
    out = test::fabricate_output(so);
    out.kv_connector_output.finished_recving = {"A"};
    s->update_from_output(so, out);
    CHECK(s->find("A")->status == request_status::waiting);
    CHECK(s->find("A")->num_computed_tokens == 32);
    so = s->schedule();
    bool found = false;
    for (const auto& n : so.scheduled_new_reqs)
        if (n.req_id == "A") {
            found = true;
            CHECK(n.num_computed_tokens == 32);
            CHECK(n.num_scheduled_tokens == 8);
            CHECK(n.block_ids.size() == 3);
        }
    CHECK(found);
    CHECK(s->kv().stats().hits == 0);  // external tokens are not device prefix hits
    REQUIRE(check_kv_invariants(*s).ok());
}

TEST_CASE("kv_connector: a failed block load is recomputed, an abort while loading waits") {
    auto s = test::make_scheduler(test::small_config(32));
    auto owned = std::make_unique<scripted_connector>();
    scripted_connector* conn = owned.get();
    s->set_kv_connector(std::move(owned));
    conn->offer = 48;
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(60, 100), 2)).ok());
    REQUIRE(s->add_request(test::make_spec("C", test::iota_tokens(60, 900), 2)).ok());
    auto so = s->schedule();
    CHECK(s->num_waiting_for_remote_kvs() == 2);
    const auto table =
        std::vector<int32_t>(s->kv().block_ids("A").begin(), s->kv().block_ids("A").end());
    REQUIRE(table.size() == 3);
    const int32_t free_before = s->kv().num_free_blocks();

    // C is aborted mid-load: its blocks stay until the worker says the load ended.
    CHECK(s->abort_request("C"));
    CHECK(s->kv().num_free_blocks() == free_before);
    CHECK(s->has_unfinished_requests());
    REQUIRE(check_kv_invariants(*s).ok());

    so = s->schedule();
    model_runner_output out;
    out.kv_connector_output.finished_recving = {"A", "C"};
    out.kv_connector_output.invalid_block_ids = {table[1]};  // A's second block is bad
    s->update_from_output(so, out);
    CHECK(s->find("A")->num_computed_tokens == 16);       // only the first block counts
    CHECK(s->kv().num_free_blocks() == free_before + 3);  // C's blocks are back
    CHECK(std::find(conn->finished.begin(), conn->finished.end(), "C") != conn->finished.end());
    so = s->schedule();
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 16);
    CHECK(so.scheduled_new_reqs[0].num_scheduled_tokens == 44);
    REQUIRE(check_kv_invariants(*s).ok());
}

TEST_CASE("kv_connector: a synchronous load counts as computed in the admitting step") {
    auto s = test::make_scheduler(test::small_config(32));
    auto owned = std::make_unique<scripted_connector>();
    scripted_connector* conn = owned.get();
    s->set_kv_connector(std::move(owned));
    conn->offer = 32;
    conn->async = false;
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(40, 100), 2)).ok());
    auto so = s->schedule();
    REQUIRE(so.scheduled_new_reqs.size() == 1);
    CHECK(so.scheduled_new_reqs[0].num_computed_tokens == 32);  // loaded before the forward
    CHECK(so.scheduled_new_reqs[0].num_scheduled_tokens == 8);
    CHECK(so.scheduled_new_reqs[0].block_ids.size() == 3);
    CHECK(conn->allocated == std::vector<std::string>{"A:32"});
    CHECK(s->num_waiting_for_remote_kvs() == 0);
    CHECK(s->find("A")->num_cached_tokens == 32);
    REQUIRE(check_kv_invariants(*s).ok());
}

TEST_CASE("kv_connector: request_finished can hold blocks until the save is reported") {
    auto s = test::make_scheduler(test::small_config(32));
    auto owned = std::make_unique<scripted_connector>();
    scripted_connector* conn = owned.get();
    s->set_kv_connector(std::move(owned));
    conn->delay_free = true;
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(40, 100), 1)).ok());
    const int32_t all_free = s->kv().num_free_blocks();
    auto so = s->schedule();
    s->update_from_output(so, test::fabricate_output(so));  // one token: done
    CHECK(s->find("A") == nullptr);
    CHECK(s->holds_deferred_blocks("A"));
    CHECK(s->kv().num_free_blocks() == all_free - 3);
    CHECK(s->has_unfinished_requests());  // the loop must run until the save is reported
    CHECK_FALSE(s->add_request(test::make_spec("A", test::iota_tokens(8), 1)).ok());
    REQUIRE(check_kv_invariants(*s).ok());
    so = s->schedule();
    model_runner_output out;
    out.kv_connector_output.finished_sending = {"A"};
    s->update_from_output(so, out);
    CHECK_FALSE(s->holds_deferred_blocks("A"));
    CHECK(s->kv().num_free_blocks() == all_free);
    CHECK_FALSE(s->has_unfinished_requests());
    REQUIRE(check_kv_invariants(*s).ok());
}

TEST_CASE("kv_connector: a running request's snapshot holds its blocks until pulled") {
    auto s = test::make_scheduler(test::small_config(32));
    auto owned = std::make_unique<scripted_connector>();
    scripted_connector* conn = owned.get();
    s->set_kv_connector(std::move(owned));
    const int32_t all_free = s->kv().num_free_blocks();
    REQUIRE(s->add_request(test::make_spec("A", test::iota_tokens(40, 100), 8)).ok());
    CHECK_FALSE(s->snapshot_request("A"));  // waiting: nothing computed yet
    auto so = s->schedule();
    s->update_from_output(so, test::fabricate_output(so));  // 40 computed, 1 sampled

    // The two whole computed blocks are offered; the partial third is not.
    auto p = s->snapshot_request("A");
    REQUIRE(p);
    REQUIRE(p->remote_block_ids.size() == 2);
    const std::vector<int32_t> table(s->kv().block_ids("A").begin(), s->kv().block_ids("A").end());
    CHECK(p->remote_block_ids == std::vector<int32_t>(table.begin(), table.begin() + 2));
    CHECK(conn->snapshots == std::vector<std::string>{p->remote_request_id + ":2"});
    CHECK(s->holds_deferred_blocks(p->remote_request_id));
    REQUIRE(check_kv_invariants(*s).ok());

    // A ends before anyone pulled: its own blocks go back, the snapshot's stay held.
    CHECK(s->abort_request("A"));
    CHECK(s->kv().num_free_blocks() == all_free - 2);
    CHECK(s->has_unfinished_requests());  // steps go on until the pull is reported
    REQUIRE(check_kv_invariants(*s).ok());
    so = s->schedule();
    model_runner_output out;
    out.kv_connector_output.finished_sending = {p->remote_request_id};
    s->update_from_output(so, out);
    CHECK(s->kv().num_free_blocks() == all_free);
    CHECK_FALSE(s->holds_deferred_blocks(p->remote_request_id));
    CHECK_FALSE(s->has_unfinished_requests());
    REQUIRE(check_kv_invariants(*s).ok());

    // Nothing is held when the connector cannot serve pulls.
    conn->serves_pulls = false;
    REQUIRE(s->add_request(test::make_spec("B", test::iota_tokens(40, 300), 8)).ok());
    so = s->schedule();
    s->update_from_output(so, test::fabricate_output(so));
    CHECK_FALSE(s->snapshot_request("B"));
    CHECK(s->kv().num_free_blocks() == all_free - 3);
    REQUIRE(check_kv_invariants(*s).ok());
}
