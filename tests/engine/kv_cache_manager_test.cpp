// KV cache manager: prefix hits reuse the same physical blocks, the last prompt
// token is always recomputed, allocation failure leaves state untouched, tail
// blocks are evicted before head blocks, cache_salt isolation, and sizing.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "core/kv_cache_manager.hpp"
#include "backends/backend.hpp"
#include "core/host_memory.hpp"
#include "core/kv_cache_sizing.hpp"
#include "scheduler_factories.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::core;
using actorlm::test::iota_tokens;

namespace {

request make_req(const std::string& id, std::vector<int32_t> toks, std::string salt = {},
                 int32_t block_size = 16) {
    sampling_params p;
    return request(id, std::move(toks), p, {2}, block_size, 0, 0.0, std::move(salt));
}

}  // namespace

TEST_CASE("kv_cache_manager: a shared prefix hits the same physical blocks") {
    kv_cache_manager kv(10, 16, 256);
    auto a = make_req("a", iota_tokens(50));  // 3 full blocks + 2 tokens
    auto hit_a = kv.get_computed_blocks(a);
    CHECK(hit_a.num_tokens == 0);
    auto blocks_a = kv.allocate_slots(a, 50, &hit_a);
    REQUIRE(blocks_a);
    CHECK(blocks_a->size() == 4);
    CHECK(kv.pool().num_cached_blocks() == 3);

    auto b_toks = iota_tokens(40);  // first 2 blocks equal, then 8 more tokens
    b_toks.push_back(1);
    auto b = make_req("b", b_toks);
    auto hit = kv.get_computed_blocks(b);
    CHECK(hit.num_tokens == 32);
    CHECK(hit.block_ids == std::vector<int32_t>{(*blocks_a)[0], (*blocks_a)[1]});
    auto blocks_b = kv.allocate_slots(b, 41 - 32, &hit);
    REQUIRE(blocks_b);
    CHECK(blocks_b->size() == 1);
    CHECK(kv.pool().ref_count((*blocks_a)[0]) == 2);
    CHECK(kv.pool().ref_count((*blocks_a)[2]) == 1);
    auto table_b = kv.block_ids("b");
    CHECK(table_b[0] == (*blocks_a)[0]);
    CHECK(table_b[1] == (*blocks_a)[1]);
    CHECK(kv.stats().requests == 2);
    CHECK(kv.stats().queries == 50 + 41);
    CHECK(kv.stats().hits == 32);
    kv.free(a);
    kv.free(b);
    CHECK(kv.num_free_blocks() == 10);
}

TEST_CASE("kv_cache_manager: the last prompt token is always recomputed") {
    kv_cache_manager kv(10, 16, 256);
    auto a = make_req("a", iota_tokens(32));
    auto h = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 32, &h));
    kv.free(a);
    auto b = make_req("b", iota_tokens(32));
    auto hit = kv.get_computed_blocks(b);
    CHECK(hit.num_tokens == 16);  // not 32: the step must produce logits for token 31
    auto c = make_req("c", iota_tokens(33));
    CHECK(kv.get_computed_blocks(c).num_tokens == 32);
}

TEST_CASE("kv_cache_manager: allocation that does not fit returns nullopt and changes nothing") {
    kv_cache_manager kv(4, 16, 256);
    auto a = make_req("a", iota_tokens(40));
    REQUIRE(kv.allocate_slots(a, 40));
    CHECK(kv.num_free_blocks() == 1);
    auto b = make_req("b", iota_tokens(40, 5000));
    CHECK_FALSE(kv.allocate_slots(b, 40).has_value());
    CHECK(kv.num_free_blocks() == 1);
    CHECK(kv.block_ids("b").empty());
    // A lookahead slot also needs room.
    a.num_computed_tokens = 40;
    CHECK(kv.allocate_slots(a, 8).has_value());  // fits in block 3
    a.num_computed_tokens = 48;
    CHECK_FALSE(kv.allocate_slots(a, 1, nullptr, 16).has_value());  // 65 slots: 5 blocks
    CHECK(kv.allocate_slots(a, 1, nullptr, 15).has_value());        // 64 slots: the last free block
    a.num_computed_tokens = 49;
    CHECK_FALSE(kv.allocate_slots(a, 32).has_value());
}

TEST_CASE(
    "kv_cache_manager: prefix hit blocks sitting in the free queue count against free space") {
    kv_cache_manager kv(3, 16, 256);
    auto a = make_req("a", iota_tokens(33));
    auto h = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 33, &h));  // 3 blocks, 2 cached
    kv.free(a);
    auto b = make_req("b", iota_tokens(48));  // hits 2 blocks, needs 1 more
    auto hit = kv.get_computed_blocks(b);
    CHECK(hit.num_tokens == 32);
    // 3 free blocks, 2 of them the hit: 1 left for the new block, 2 needed for 16 + 16 lookahead.
    CHECK_FALSE(kv.allocate_slots(b, 16, &hit, 16).has_value());
    CHECK(kv.num_free_blocks() == 3);
    CHECK(kv.allocate_slots(b, 16, &hit).has_value());
    CHECK(kv.num_free_blocks() == 0);
}

TEST_CASE("kv_cache_manager: a finished request's tail blocks are evicted before its head") {
    kv_cache_manager kv(4, 4, 64);
    auto a = make_req("a", iota_tokens(16), {}, 4);
    auto h = kv.get_computed_blocks(a);
    auto blocks = kv.allocate_slots(a, 16, &h);
    REQUIRE(blocks);
    kv.free(a);
    CHECK(kv.pool().free_queue().to_vector() ==
          std::vector<int32_t>{(*blocks)[3], (*blocks)[2], (*blocks)[1], (*blocks)[0]});
    // A new unrelated request needing one block evicts a's last block; a's prefix of
    // three blocks still hits.
    auto x = make_req("x", iota_tokens(3, 9000), {}, 4);
    REQUIRE(kv.allocate_slots(x, 3));
    CHECK(kv.block_ids("x")[0] == (*blocks)[3]);
    auto again = make_req("a2", iota_tokens(16), {}, 4);
    CHECK(kv.get_computed_blocks(again).num_tokens == 12);
}

TEST_CASE("kv_cache_manager: cache_salt isolates tenants and caching can be switched off") {
    kv_cache_manager kv(10, 16, 256);
    auto a = make_req("a", iota_tokens(40), "alice");
    auto h = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 40, &h));
    CHECK(kv.get_computed_blocks(make_req("b", iota_tokens(40), "bob")).num_tokens == 0);
    CHECK(kv.get_computed_blocks(make_req("c", iota_tokens(40), "alice")).num_tokens == 32);
    CHECK(kv.get_computed_blocks(make_req("d", iota_tokens(40))).num_tokens == 0);

    kv_cache_manager off(10, 16, 256, false);
    auto x = make_req("x", iota_tokens(40));
    REQUIRE(off.allocate_slots(x, 40));
    CHECK(off.get_computed_blocks(make_req("y", iota_tokens(40))).num_tokens == 0);
    CHECK(off.pool().num_cached_blocks() == 0);
}

TEST_CASE("kv_cache_manager: prompt logprobs bypass the prefix cache") {
    kv_cache_manager kv(10, 16, 256);
    auto a = make_req("a", iota_tokens(40));
    auto h = kv.get_computed_blocks(a);
    REQUIRE(kv.allocate_slots(a, 40, &h));
    sampling_params p;
    p.prompt_logprobs = 0;
    request b("b", iota_tokens(40), p, {2}, 16);
    CHECK(kv.get_computed_blocks(b).num_tokens == 0);
}

TEST_CASE("kv_cache_manager: sizing from bytes and from MemAvailable") {
    model_config cfg;
    cfg.num_layers = 30;
    cfg.num_kv_heads = 3;
    cfg.head_dim = 64;
    // 2 (K and V) * 30 * 3 * 64 * 2 bytes (f16) * 16 tokens
    CHECK(kv_block_bytes(cfg, 16, dtype::f16) == 2 * 30 * 3 * 64 * 2 * 16);
    // Every backend turns bytes into blocks with plan_kv_blocks.
    executor_request req;
    req.block_size = 16;
    auto n = plan_kv_blocks(req, kv_block_bytes(cfg, 16, dtype::f16),
                            10 * kv_block_bytes(cfg, 16, dtype::f16) + 5);
    REQUIRE(n.ok());
    CHECK(*n == 10);
    auto none = plan_kv_blocks(req, kv_block_bytes(cfg, 16, dtype::f32), 100);
    REQUIRE_FALSE(none.ok());
    CHECK(none.message().find("holds no block") != std::string::npos);

    const auto path = actorlm::test::temp_path("meminfo_test");
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f);
    std::fputs("MemTotal:       16000000 kB\nMemFree:  100 kB\nMemAvailable:    8000000 kB\n", f);
    std::fclose(f);
    auto avail = read_mem_available_bytes(path.string());
    REQUIRE(avail.ok());
    CHECK(*avail == 8000000LL * 1024);
    std::filesystem::remove(path);
    auto missing = read_mem_available_bytes("/nonexistent/meminfo");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("/nonexistent/meminfo") != std::string::npos);
    CHECK(read_mem_available_bytes().ok());  // the real /proc/meminfo
}

TEST_CASE("kv sizing: a cgroup memory limit caps the usable memory, v2 ancestors included") {
    namespace fs = std::filesystem;
    const fs::path root = actorlm::test::temp_path("cgroup_test");
    fs::create_directories(root / "kubepods" / "pod1");
    auto write = [](const fs::path& p, const std::string& text) {
        std::ofstream(p) << text;
    };
    write(root / "self_cgroup", "0::/kubepods/pod1\n");
    const std::string self = (root / "self_cgroup").string();
    // No memory files: no limit.
    CHECK_FALSE(read_cgroup_memory_headroom(self, root.string()).has_value());
    // The process's own cgroup says "max"; its parent holds 4 GiB with 1 GiB used.
    write(root / "kubepods" / "pod1" / "memory.max", "max\n");
    write(root / "kubepods" / "pod1" / "memory.current", "536870912\n");
    write(root / "kubepods" / "memory.max", "4294967296\n");
    write(root / "kubepods" / "memory.current", "1073741824\n");
    CHECK(read_cgroup_memory_headroom(self, root.string()) == int64_t{3} << 30);
    // A tighter limit below wins: 2 GiB with 0.5 GiB used.
    write(root / "kubepods" / "pod1" / "memory.max", "2147483648\n");
    CHECK(read_cgroup_memory_headroom(self, root.string()) == int64_t{3} << 29);
    // Over the limit: nothing left, never negative.
    write(root / "kubepods" / "pod1" / "memory.current", "3000000000\n");
    CHECK(read_cgroup_memory_headroom(self, root.string()) == 0);

    // cgroup v1: the memory controller's line; its "unlimited" is a huge number.
    fs::create_directories(root / "memory" / "docker" / "c1");
    write(root / "self_cgroup", "12:cpu,cpuacct:/docker/c1\n4:memory:/docker/c1\n");
    write(root / "memory" / "docker" / "c1" / "memory.limit_in_bytes", "9223372036854771712\n");
    write(root / "memory" / "docker" / "c1" / "memory.usage_in_bytes", "100\n");
    CHECK_FALSE(read_cgroup_memory_headroom(self, root.string()).has_value());
    write(root / "memory" / "docker" / "c1" / "memory.limit_in_bytes", "1073741824\n");
    CHECK(read_cgroup_memory_headroom(self, root.string()) == (int64_t{1} << 30) - 100);
    fs::remove_all(root);

    // This machine: usable memory never exceeds MemAvailable.
    auto usable = read_usable_memory_bytes();
    REQUIRE(usable.ok());
    CHECK(*usable <= read_mem_available_bytes().value());
}
