// zeroed_pages_test: the KV pool's memory is reserved, not touched, at start-up: a fresh
// buffer reads as zeros and holds no resident pages until written, and a KV cache of
// hundreds of MiB costs almost no memory until its blocks are used (what lets `serve`
// become healthy without faulting in the whole pool first).
#include <doctest/doctest.h>

#include <cstdint>

#include "model/kv_cache_storage.hpp"
#include "model/zeroed_pages.hpp"

using namespace actorlm;

TEST_CASE("zeroed pages: reserved lazily, zero when read, resident once written") {
    constexpr size_t k_size = size_t{64} << 20;
    auto pages = zeroed_pages::allocate(k_size);
    REQUIRE_MESSAGE(pages.ok(), (pages.ok() ? "" : pages.message()));
    CHECK(pages->size() == k_size);
    CHECK(pages->resident_bytes() == 0);
    pages->data()[k_size / 2] = 7;
    const size_t resident = pages->resident_bytes();
    CHECK(resident > 0);
    CHECK(resident < k_size / 4);  // one page, or one huge page, not the buffer
    CHECK(pages->data()[0] == 0);
    CHECK(pages->data()[k_size - 1] == 0);
    CHECK(pages->data()[k_size / 2] == 7);

    zeroed_pages moved = std::move(pages).value();
    CHECK(moved.data()[k_size / 2] == 7);
}

TEST_CASE("zeroed pages: a size the OS refuses is an error naming it") {
    auto pages = zeroed_pages::allocate(size_t{1} << 62);
    REQUIRE_FALSE(pages.ok());
    CHECK(pages.message().find("cannot reserve") != std::string::npos);
}

TEST_CASE("KV cache storage: a large pool is not resident until its blocks are written") {
    kv_cache_spec spec;
    spec.num_blocks = 4096;
    spec.block_size = 16;
    spec.type = dtype::f16;
    // 4 layers x K,V x 65536 slots x 8 x 64 halves = 512 MiB reserved.
    auto kv = kv_cache_storage::create(spec, 4, 8, 64);
    REQUIRE_MESSAGE(kv.ok(), (kv.ok() ? "" : kv.message()));
    CHECK(kv->num_bytes() == size_t{512} << 20);
    CHECK(kv->resident_bytes() < size_t{8} << 20);
    std::vector<float> row(8 * 64, 1.5f);
    kv->write(0, 0, row.data(), row.data());
    CHECK(kv->resident_bytes() > 0);
    CHECK(kv->resident_bytes() < size_t{32} << 20);
}
