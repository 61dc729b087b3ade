// Block pool, free queue and block hashing: eviction order, O(1) removal of a
// touched cached block, lazy eviction, and hash chaining with cache_salt.
#include <doctest/doctest.h>

#include "core/block_hash.hpp"
#include "core/block_pool.hpp"
#include "core/free_block_queue.hpp"

using namespace actorlm::core;

TEST_CASE("block_pool: free queue pops in order and unlinks from the middle") {
    free_block_queue q(5);
    CHECK(q.to_vector() == std::vector<int32_t>{0, 1, 2, 3, 4});
    q.remove(2);
    CHECK_FALSE(q.contains(2));
    CHECK(q.to_vector() == std::vector<int32_t>{0, 1, 3, 4});
    CHECK(q.pop_front() == 0);
    q.push_back(2);
    q.push_front(0);
    CHECK(q.to_vector() == std::vector<int32_t>{0, 1, 3, 4, 2});
    CHECK(q.size() == 5);
    while (!q.empty()) q.pop_front();
    CHECK(q.front() == -1);
    q.push_back(4);
    CHECK(q.to_vector() == std::vector<int32_t>{4});
}

TEST_CASE("block_pool: block hashes chain the parent and mix the cache salt into block 0 only") {
    std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6, 7, 8, 9};
    std::vector<block_hash> a, b, salted;
    extend_block_hashes(a, toks, 4);
    CHECK(a.size() == 2);  // the partial third block is not hashed
    extend_block_hashes(b, std::span(toks).first(4), 4);
    CHECK(b.size() == 1);
    extend_block_hashes(b, toks, 4);  // incremental extension gives the same hashes
    CHECK(a == b);
    extend_block_hashes(salted, toks, 4, "tenant-a");
    CHECK(salted[0] != a[0]);
    CHECK(salted[1] != a[1]);  // differs through the parent chain
    // The same block contents under different parents hash differently.
    std::vector<int32_t> other = {9, 9, 9, 9, 5, 6, 7, 8};
    std::vector<block_hash> c;
    extend_block_hashes(c, other, 4);
    CHECK(c[1] != a[1]);
    // Length-prefixed extra keys: ("ab", lora "c") differs from ("a", lora "bc").
    block_hash_extra e1{"ab", "c", {}}, e2{"a", "bc", {}};
    CHECK(hash_block_tokens(root_block_hash(), std::span(toks).first(4), e1) !=
          hash_block_tokens(root_block_hash(), std::span(toks).first(4), e2));
}

TEST_CASE("block_pool: freed cached blocks stay hits until a new block is needed") {
    block_pool pool(4, true);
    auto blocks = pool.get_new_blocks(2);  // 0, 1
    std::vector<int32_t> toks = {1, 2, 3, 4, 5, 6, 7, 8};
    std::vector<block_hash> hashes;
    extend_block_hashes(hashes, toks, 4);
    pool.cache_full_blocks(blocks, hashes, 0);
    CHECK(pool.num_cached_blocks() == 2);
    // Free tail first: block 1 is appended before block 0.
    std::vector<int32_t> rev = {blocks[1], blocks[0]};
    pool.free_blocks(rev);
    CHECK(pool.num_free_blocks() == 4);
    CHECK(pool.free_queue().to_vector() == std::vector<int32_t>{2, 3, 1, 0});
    CHECK(pool.get_cached_block(hashes[0]) == 0);
    // Two uncached blocks are taken first, no eviction yet.
    auto two = pool.get_new_blocks(2);
    CHECK(two == std::vector<int32_t>{2, 3});
    CHECK(pool.num_evictions() == 0);
    CHECK(pool.num_cached_blocks() == 2);
    // The next one evicts the tail block (1) before the head block (0).
    auto third = pool.get_new_blocks(1);
    CHECK(third == std::vector<int32_t>{1});
    CHECK(pool.num_evictions() == 1);
    CHECK_FALSE(pool.get_cached_block(hashes[1]).has_value());
    CHECK(pool.get_cached_block(hashes[0]) == 0);
    CHECK_FALSE(pool.hash_of(1).has_value());
}

TEST_CASE("block_pool: touching a free cached block takes it out of the free queue") {
    block_pool pool(3, true);
    auto b = pool.get_new_blocks(1);
    std::vector<int32_t> toks = {1, 2};
    std::vector<block_hash> h;
    extend_block_hashes(h, toks, 2);
    pool.cache_full_blocks(b, h, 0);
    pool.free_blocks(b);
    CHECK(pool.free_queue().contains(b[0]));
    pool.touch(b);
    CHECK_FALSE(pool.free_queue().contains(b[0]));
    CHECK(pool.ref_count(b[0]) == 1);
    pool.touch(b);
    CHECK(pool.ref_count(b[0]) == 2);
    pool.free_blocks(b);
    CHECK(pool.ref_count(b[0]) == 1);
    CHECK_FALSE(pool.free_queue().contains(b[0]));
    pool.free_blocks(b);
    CHECK(pool.num_free_blocks() == 3);
    CHECK(pool.usage() == doctest::Approx(0.0));
    CHECK_FALSE(pool.reset_prefix_cache() == false);
    CHECK(pool.num_cached_blocks() == 0);
}

TEST_CASE("block_pool: duplicate content stays registered once and caching can be off") {
    block_pool pool(4, true);
    std::vector<int32_t> toks = {1, 2};
    std::vector<block_hash> h;
    extend_block_hashes(h, toks, 2);
    auto a = pool.get_new_blocks(1);
    auto b = pool.get_new_blocks(1);
    pool.cache_full_blocks(a, h, 0);
    pool.cache_full_blocks(b, h, 0);
    CHECK(pool.get_cached_block(h[0]) == a[0]);
    CHECK_FALSE(pool.hash_of(b[0]).has_value());
    CHECK_FALSE(pool.reset_prefix_cache());  // blocks in use

    block_pool off(2, false);
    auto c = off.get_new_blocks(1);
    off.cache_full_blocks(c, h, 0);
    CHECK(off.num_cached_blocks() == 0);
}
