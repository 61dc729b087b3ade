// The host-memory KV tier and the tiered store without a model: capacity and LRU
// order, eviction events (medium "cpu"), a failed load (a block evicted since the
// lookup, a device copy that fails) reports the block and every later one invalid,
// counters; the disk tier's direct load into host memory (the same bytes as its
// copying path, into a fake and into the CPU cache; a file corrupted mid-payload,
// truncated or grown after indexing is a miss); memory in front of disk: loads from
// the fastest tier, promotion of a block read from disk, write-through saves, a
// restart finding the disk copies; the OffloadingConnector's tier keys (vLLM's
// cpu_bytes_to_use) and their errors.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>
#include <xxhash.h>

#include "core/block_hash.hpp"
#include "support/fake_kv_cache.hpp"
#include "kv/disk_kv_store.hpp"
#include "kv/kv_connector_registry.hpp"
#include "kv/kv_transfer_config.hpp"
#include "kv/memory_kv_store.hpp"
#include "kv/tiered_kv_store.hpp"
#include "model/kv_cache_storage.hpp"
#include "support/temp_dir.hpp"
#include "support/kv_tier_checks.hpp"

using namespace actorlm;
using actorlm::test::fake_kv_cache;
namespace fs = std::filesystem;

namespace {

constexpr int64_t k_layers = 3;
constexpr size_t k_layer_bytes = 64;
constexpr int64_t k_block_bytes = k_layers * static_cast<int64_t>(k_layer_bytes);

core::block_hash hash_of(uint64_t n) { return core::block_hash{n * 0x9e3779b97f4a7c15ull, n}; }

std::shared_ptr<kv::memory_kv_store> make_memory(int64_t num_blocks) {
    kv::memory_kv_store::options o;
    o.capacity_bytes = num_blocks * k_block_bytes + k_block_bytes / 2;  // a partial slot is unused
    o.layer_bytes = k_layer_bytes;
    o.num_layers = k_layers;
    auto s = kv::memory_kv_store::create(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
    return *s;
}

std::shared_ptr<kv::disk_kv_store> make_disk(const fs::path& dir) {
    kv::disk_kv_store::options o;
    o.dir = dir.string();
    o.capacity_bytes = 1 << 20;
    o.layer_bytes = k_layer_bytes;
    o.num_layers = k_layers;
    auto s = kv::disk_kv_store::open(o);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.message()));
    return *s;
}

fs::path tier_test_dir(const std::string& name) { return test::fresh_temp_dir("kvtier-" + name); }

/// Saves block `b` of `kv` under hash_of(n) through `store` (reserve, then save).
void save(kv::kv_block_store& store, const fake_kv_cache& kv, int32_t b, uint64_t n) {
    REQUIRE(store.reserve_save(hash_of(n)));
    store.save_async(hash_of(n), kv.block(b));
}

kv::kv_block_store::load_result load_one(kv::kv_block_store& store, const std::string& id,
                                         std::vector<kv::kv_block_store::load_block> blocks,
                                         kv_block_io& io) {
    store.load_async(id, std::move(blocks), &io);
    store.flush();
    auto done = store.take_finished_loads();
    REQUIRE(done.size() == 1);
    CHECK(done[0].req_id == id);
    return done[0];
}

fake_kv_cache filled_cache() {
    fake_kv_cache kv(k_layers, 8, k_layer_bytes);
    for (int32_t b = 0; b < 8; ++b) kv.fill(b, static_cast<uint8_t>(b + 1));
    return kv;
}

}  // namespace

TEST_CASE("kv tiers: the memory tier evicts the least recently used block, with events") {
    const fake_kv_cache src = filled_cache();
    auto mem = make_memory(3);
    CHECK(mem->num_slots() == 3);
    for (int32_t b = 0; b < 3; ++b) save(*mem, src, b, static_cast<uint64_t>(b));
    CHECK(mem->reserve_save(hash_of(9)));  // a new block can be reserved
    mem->cancel_save(hash_of(9));
    mem->flush();
    CHECK_FALSE(mem->reserve_save(hash_of(0)));  // already stored
    for (uint64_t n = 0; n < 3; ++n) CHECK(mem->contains(hash_of(n)));

    // Loading block 0 makes it the most recent, so block 1 is the one to go.
    fake_kv_cache dst(k_layers, 8, k_layer_bytes);
    auto r = load_one(*mem, "touch", {{hash_of(0), 4}}, dst);
    CHECK(r.invalid_block_ids.empty());
    CHECK(dst.block(4) == src.block(0));
    save(*mem, src, 3, 3);
    mem->flush();
    CHECK(mem->contains(hash_of(0)));
    CHECK_FALSE(mem->contains(hash_of(1)));
    CHECK(mem->contains(hash_of(2)));
    CHECK(mem->contains(hash_of(3)));
    save(*mem, src, 4, 4);  // then block 2 (0 was touched after it)
    mem->flush();
    CHECK_FALSE(mem->contains(hash_of(2)));
    CHECK(mem->contains(hash_of(0)));

    const auto events = mem->take_events();
    CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "cpu") == 5);
    CHECK(test::count_events(events, kv::kv_event::kind::block_removed, "cpu") == 2);
    CHECK(mem->take_events().empty());
    const auto st = mem->stats();
    CHECK(st.blocks_stored == 3);
    CHECK(st.bytes_stored == 3 * k_block_bytes);
    CHECK(st.evictions == 2);
    CHECK(st.blocks_saved == 5);
    CHECK(st.bytes_saved == 5 * k_block_bytes);
    CHECK(st.blocks_loaded == 1);
    CHECK(st.bytes_loaded == k_block_bytes);
    CHECK(st.load_errors == 0);
    CHECK(st.load_seconds >= 0.0);
    CHECK(st.save_seconds > 0.0);

    // The evicted slots were reused in place: every stored block reads back intact.
    auto all = load_one(*mem, "all", {{hash_of(0), 0}, {hash_of(3), 1}, {hash_of(4), 2}}, dst);
    CHECK(all.invalid_block_ids.empty());
    CHECK(dst.block(0) == src.block(0));
    CHECK(dst.block(1) == src.block(3));
    CHECK(dst.block(2) == src.block(4));
}

TEST_CASE("kv tiers: a failed memory-tier load reports that block and every later one") {
    const fake_kv_cache src = filled_cache();
    auto mem = make_memory(4);
    for (int32_t b = 0; b < 3; ++b) save(*mem, src, b, static_cast<uint64_t>(b));
    mem->flush();

    // Block 7 was never stored (as one evicted since the scheduler's lookup).
    fake_kv_cache dst(k_layers, 8, k_layer_bytes);
    auto r = load_one(*mem, "gap", {{hash_of(0), 5}, {hash_of(7), 6}, {hash_of(2), 7}}, dst);
    CHECK(r.invalid_block_ids == std::vector<int32_t>{6, 7});
    CHECK(dst.block(5) == src.block(0));
    CHECK(mem->stats().load_errors == 1);
    CHECK(mem->stats().blocks_loaded == 1);

    // The device copy fails in the middle of the second block.
    fake_kv_cache broken(k_layers, 8, k_layer_bytes);
    broken.fail_after_writes(k_layers + 1);
    auto f = load_one(*mem, "dev", {{hash_of(0), 0}, {hash_of(1), 1}, {hash_of(2), 2}}, broken);
    CHECK(f.invalid_block_ids == std::vector<int32_t>{1, 2});
    CHECK(mem->stats().load_errors == 2);
    CHECK(mem->stats().blocks_loaded == 2);

    // A capacity below one block is refused at creation, naming vLLM's key.
    kv::memory_kv_store::options o;
    o.capacity_bytes = k_block_bytes - 1;
    o.layer_bytes = k_layer_bytes;
    o.num_layers = k_layers;
    auto small = kv::memory_kv_store::create(o);
    REQUIRE_FALSE(small.ok());
    CHECK(small.message().find("cpu_bytes_to_use") != std::string::npos);
}

TEST_CASE("kv tiers: the disk tier loads straight into host memory, the same bytes as a copy") {
    const fs::path dir = tier_test_dir("direct");
    const fake_kv_cache src = filled_cache();
    auto disk = make_disk(dir);
    for (int32_t b = 0; b < 4; ++b) save(*disk, src, b, static_cast<uint64_t>(b));
    disk->flush();
    const std::vector<kv::kv_block_store::load_block> all = {
        {hash_of(0), 4}, {hash_of(1), 5}, {hash_of(2), 6}, {hash_of(3), 7}};

    // A cache with host memory (read into directly) and one without (buffer + copies).
    fake_kv_cache direct(k_layers, 8, k_layer_bytes);
    fake_kv_cache copied(k_layers, 8, k_layer_bytes);
    copied.expose_host_memory(false);
    CHECK(load_one(*disk, "direct", all, direct).invalid_block_ids.empty());
    CHECK(load_one(*disk, "copied", all, copied).invalid_block_ids.empty());
    CHECK(direct.num_writes() == 0);  // nothing went through write_block_layer
    CHECK(copied.num_writes() == 4 * k_layers);
    for (int32_t b = 0; b < 4; ++b) {
        CHECK(direct.block(4 + b) == src.block(b));
        CHECK(copied.block(4 + b) == src.block(b));
    }

    // The CPU cache keeps each layer's K and V apart: two pieces per layer, every layer
    // elsewhere. F32, 1-token blocks of 2 heads x 4 = 64 bytes per block-layer.
    kv_cache_spec spec;
    spec.num_blocks = 8;
    spec.block_size = 1;
    spec.type = dtype::f32;
    auto cpu = kv_cache_storage::create(spec, k_layers, 2, 4);
    REQUIRE(cpu.ok());
    REQUIRE(cpu->block_layer_bytes() == k_layer_bytes);
    CHECK(cpu->host_memory(1, 5).num_pieces == 2);
    CHECK(load_one(*disk, "cpu", all, *cpu).invalid_block_ids.empty());
    std::vector<uint8_t> got(k_layer_bytes);
    for (int32_t b = 0; b < 4; ++b)
        for (int64_t l = 0; l < k_layers; ++l) {
            cpu->read_block_layer(l, 4 + b, got);
            CHECK(std::equal(got.begin(), got.end(), src.at(l, b)));
        }
    CHECK(disk->stats().blocks_loaded == 12);
    CHECK(disk->stats().load_errors == 0);

    // The file format's checksum (header bytes 32-39) is the one-shot XXH3-64 of the
    // payload, whichever XXH3 code path wrote it: files of older builds still load.
    std::ifstream f(dir / (core::to_hex(hash_of(2)) + ".kvb"), std::ios::binary);
    f.seekg(32);
    uint64_t sum = 0;
    f.read(reinterpret_cast<char*>(&sum), sizeof(sum));
    const std::vector<uint8_t> payload = src.block(2);
    CHECK(sum == XXH3_64bits(payload.data(), payload.size()));
    fs::remove_all(dir);
}

TEST_CASE("kv tiers: a disk block corrupted mid-payload, truncated or grown is a miss") {
    const fake_kv_cache src = filled_cache();
    for (const bool direct : {true, false}) {
        INFO("read straight into host memory: " << direct);
        const fs::path dir = tier_test_dir(direct ? "bad-direct" : "bad-copied");
        auto disk = make_disk(dir);
        for (int32_t b = 0; b < 4; ++b) save(*disk, src, b, static_cast<uint64_t>(b));
        disk->flush();
        auto file_of = [&](uint64_t n) { return dir / (core::to_hex(hash_of(n)) + ".kvb"); };
        const auto file_bytes = static_cast<uintmax_t>(disk->file_bytes());
        // After the store indexed them: block 1 has one byte flipped in the middle of its
        // payload, block 2 lost its last bytes (a short read), block 3 grew by one byte.
        {
            std::fstream f(file_of(1), std::ios::in | std::ios::out | std::ios::binary);
            const std::streamoff mid = 64 + k_block_bytes / 2;
            f.seekg(mid);
            const char c = static_cast<char>(f.get());
            f.seekp(mid);
            f.put(static_cast<char>(c ^ 0x10));
        }
        fs::resize_file(file_of(2), file_bytes - 5);
        fs::resize_file(file_of(3), file_bytes + 1);
        for (uint64_t n = 1; n < 4; ++n) CHECK(disk->contains(hash_of(n)));

        fake_kv_cache dst(k_layers, 8, k_layer_bytes);
        dst.expose_host_memory(direct);
        auto r = load_one(*disk, "mid", {{hash_of(0), 0}, {hash_of(1), 1}, {hash_of(3), 2}}, dst);
        CHECK(r.invalid_block_ids == std::vector<int32_t>{1, 2});
        CHECK(dst.block(0) == src.block(0));
        CHECK(dst.num_writes() == (direct ? 0 : k_layers));  // a failed block is not copied
        auto t = load_one(*disk, "short", {{hash_of(2), 3}}, dst);
        CHECK(t.invalid_block_ids == std::vector<int32_t>{3});
        auto g = load_one(*disk, "grown", {{hash_of(3), 4}}, dst);
        CHECK(g.invalid_block_ids == std::vector<int32_t>{4});
        const auto st = disk->stats();
        CHECK(st.load_errors == 3);
        CHECK(st.blocks_loaded == 1);
        for (uint64_t n = 1; n < 4; ++n) {
            CHECK_FALSE(disk->contains(hash_of(n)));  // a miss from now on, file deleted
            CHECK_FALSE(fs::exists(file_of(n)));
        }
        disk.reset();
        fs::remove_all(dir);
    }
}

TEST_CASE("kv tiers: memory in front of disk: fastest tier first, promotion, write-through") {
    const fs::path dir = tier_test_dir("tiered");
    const fake_kv_cache src = filled_cache();
    auto mem = make_memory(2);
    auto disk = make_disk(dir);
    auto made = kv::tiered_kv_store::create({mem, disk});
    REQUIRE(made.ok());
    auto tiered = *made;

    // Write-through: every save reaches both tiers; memory keeps only the last two.
    save(*tiered, src, 0, 0);
    CHECK_FALSE(tiered->reserve_save(hash_of(0)));  // pending or stored in both
    for (int32_t b = 1; b < 3; ++b) save(*tiered, src, b, static_cast<uint64_t>(b));
    tiered->flush();
    CHECK_FALSE(tiered->reserve_save(hash_of(2)));  // held by both
    for (uint64_t n = 0; n < 3; ++n) CHECK(disk->contains(hash_of(n)));
    CHECK_FALSE(mem->contains(hash_of(0)));
    CHECK(mem->contains(hash_of(1)));
    CHECK(mem->contains(hash_of(2)));
    CHECK(tiered->contains(hash_of(0)));  // any tier
    // A block only the disk lacks is saved to the disk only.
    fs::remove(dir / (core::to_hex(hash_of(2)) + ".kvb"));
    {
        auto d2 = make_disk(dir);  // re-indexed: block 2 is gone from disk
        auto t2 = *kv::tiered_kv_store::create({mem, d2});
        REQUIRE(t2->reserve_save(hash_of(2)));
        t2->save_async(hash_of(2), src.block(2));
        t2->flush();
        CHECK(d2->contains(hash_of(2)));
        CHECK(t2->tier_stats()[0].blocks_saved == 3);  // memory wrote nothing new
        CHECK(t2->tier_stats()[1].blocks_saved == 1);
    }

    // Load 0 (disk only), 1 and 2 (memory): one request, each block from its fastest tier.
    fake_kv_cache dst(k_layers, 8, k_layer_bytes);
    auto r = load_one(*tiered, "req", {{hash_of(0), 3}, {hash_of(1), 4}, {hash_of(2), 5}}, dst);
    CHECK(r.invalid_block_ids.empty());
    CHECK(dst.block(3) == src.block(0));
    CHECK(dst.block(4) == src.block(1));
    CHECK(dst.block(5) == src.block(2));
    const auto ts = tiered->tier_stats();
    CHECK(ts[0].blocks_loaded == 2);
    CHECK(ts[1].blocks_loaded == 1);
    // Promotion: block 0, read from disk, is now in memory too (evicting the LRU one).
    CHECK(mem->contains(hash_of(0)));
    CHECK(ts[0].blocks_saved == 4);
    const auto sum = tiered->stats();
    CHECK(sum.blocks_loaded == 3);
    CHECK(sum.bytes_loaded == 3 * k_block_bytes);
    CHECK(sum.blocks_stored == ts[0].blocks_stored + ts[1].blocks_stored);
    const auto events = tiered->take_events();
    CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "cpu") == 4);
    CHECK(test::count_events(events, kv::kv_event::kind::block_stored, "disk") == 3);

    // A promoted block reads back from memory, byte for byte.
    fake_kv_cache dst2(k_layers, 8, k_layer_bytes);
    auto again = load_one(*mem, "mem", {{hash_of(0), 0}}, dst2);
    CHECK(again.invalid_block_ids.empty());
    CHECK(dst2.block(0) == src.block(0));

    // Restart: fresh memory, the same directory: everything is found on disk.
    tiered.reset();
    disk.reset();
    auto restarted = *kv::tiered_kv_store::create({make_memory(2), make_disk(dir)});
    for (uint64_t n = 0; n < 3; ++n) CHECK(restarted->contains(hash_of(n)));
    fake_kv_cache dst3(k_layers, 8, k_layer_bytes);
    auto rr = load_one(*restarted, "restart", {{hash_of(0), 0}, {hash_of(1), 1}}, dst3);
    CHECK(rr.invalid_block_ids.empty());
    CHECK(dst3.block(1) == src.block(1));
    CHECK(restarted->tier_stats()[1].blocks_loaded == 2);
    fs::remove_all(dir);
}

TEST_CASE("kv tiers: a tiered load that fails in one tier invalidates the rest of the chain") {
    const fs::path dir = tier_test_dir("tiered-fail");
    const fake_kv_cache src = filled_cache();
    auto mem = make_memory(4);
    auto disk = make_disk(dir);
    auto tiered = *kv::tiered_kv_store::create({mem, disk});
    for (int32_t b = 0; b < 4; ++b) save(*disk, src, b, static_cast<uint64_t>(b));
    save(*mem, src, 0, 0);
    save(*mem, src, 3, 3);
    tiered->flush();
    // Block 1 on disk is corrupt: 0 (memory) loads, 1 fails, 2 (disk) and 3 (memory) are
    // recomputed although their tiers delivered them.
    {
        std::fstream f(dir / (core::to_hex(hash_of(1)) + ".kvb"),
                       std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(-1, std::ios::end);
        f.put('\x01' ^ static_cast<char>(src.at(k_layers - 1, 1)[k_layer_bytes - 1]));
    }
    fake_kv_cache dst(k_layers, 8, k_layer_bytes);
    auto r = load_one(*tiered, "chain",
                      {{hash_of(0), 4}, {hash_of(1), 5}, {hash_of(2), 6}, {hash_of(3), 7}}, dst);
    CHECK(r.invalid_block_ids == std::vector<int32_t>{5, 6, 7});
    CHECK(dst.block(4) == src.block(0));
    CHECK(tiered->stats().load_errors == 1);
    CHECK_FALSE(mem->contains(hash_of(1)));  // a failed block is never promoted

    // The device copy of a block read from disk fails: invalid, and not promoted either.
    fake_kv_cache broken(k_layers, 8, k_layer_bytes);
    broken.fail_after_writes(1);  // block 2 (on disk only) fails in its second layer
    auto d = load_one(*tiered, "device", {{hash_of(2), 0}}, broken);
    CHECK(d.invalid_block_ids == std::vector<int32_t>{0});
    CHECK(disk->contains(hash_of(2)));  // the disk copy was fine: it stays
    CHECK_FALSE(mem->contains(hash_of(2)));
    fs::remove_all(dir);
}

TEST_CASE("kv tiers: OffloadingConnector takes cpu_bytes_to_use, disk_path or both") {
    const fs::path dir = tier_test_dir("config");
    kv::kv_connector_context ctx;
    ctx.block_size = 16;
    ctx.block_layer_bytes = k_layer_bytes;
    ctx.num_layers = k_layers;
    auto make = [&](const std::string& extra) {
        auto cfg = kv::parse_and_validate_kv_transfer_config(
            R"({"kv_connector":"OffloadingConnector","kv_connector_extra_config":{)" + extra +
            "}}");
        if (!cfg.ok()) return result<kv::kv_connector_pair>(cfg.err());
        return kv::make_kv_connector(*cfg, ctx);
    };
    auto mem_only = make(R"("cpu_bytes_to_use":"4KiB")");
    REQUIRE_MESSAGE(mem_only.ok(), (mem_only.ok() ? "" : mem_only.message()));
    auto mem_int = make(R"("cpu_bytes_to_use":4096)");
    REQUIRE_MESSAGE(mem_int.ok(), (mem_int.ok() ? "" : mem_int.message()));
    auto both = make(R"("cpu_bytes_to_use":"1MiB","disk_path":")" + dir.string() + R"(")");
    REQUIRE_MESSAGE(both.ok(), (both.ok() ? "" : both.message()));
    CHECK(fs::exists(dir));

    auto err = [&](const std::string& extra) {
        auto r = make(extra);
        REQUIRE_FALSE(r.ok());
        return r.message();
    };
    CHECK(err("").find("'cpu_bytes_to_use'") != std::string::npos);
    CHECK(err("").find("'disk_path'") != std::string::npos);
    CHECK(err(R"("disk_capacity_bytes":"1GiB")").find("'disk_path'") != std::string::npos);
    CHECK(err(R"("cpu_bytes_to_use":"lots")").find("cpu_bytes_to_use") != std::string::npos);
    CHECK(err(R"("cpu_bytes_to_use":0)").find("cpu_bytes_to_use") != std::string::npos);
    CHECK(err(R"("cpu_bytes_to_use":100)").find("holds no block") != std::string::npos);
    CHECK(err(R"("num_cpu_blocks":100)").find("'num_cpu_blocks'") != std::string::npos);
    fs::remove_all(dir);
}
