// zeroed_pages_test: the KV pool's memory is reserved, not touched, at start-up: a fresh
// buffer reads as zeros and holds no resident pages until written, and a KV cache of
// hundreds of MiB costs almost no memory until its blocks are used (what lets `serve`
// become healthy without faulting in the whole pool first). page_out gives back mapped
// weight bytes a backend copied elsewhere without ever changing what memory holds.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <vector>

#include "model/kv_cache_storage.hpp"
#include "model/mapped_file.hpp"
#include "model/resident_pages.hpp"
#include "model/zeroed_pages.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;

namespace zeroed_pages_test {

// This process's resident set (/proc/self/statm, pages), mapped file pages included.
size_t process_rss_bytes() {
    std::ifstream statm("/proc/self/statm");
    size_t size_pages = 0, resident_pages = 0;
    statm >> size_pages >> resident_pages;
    return resident_pages * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

}  // namespace zeroed_pages_test

using namespace zeroed_pages_test;

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

TEST_CASE("page_out: mapped bytes leave memory and read back the same, heap keeps its bytes") {
    // A file mapped as the loaders map weights (written and synced first: a model file's
    // pages are clean, and only clean pages can be dropped): paged out, the process's RSS
    // falls by about its size, and its bytes come back from the file.
    const std::string path = test::temp_path("page_out.bin").string();
    constexpr size_t k_size = size_t{8} << 20;
    {
        std::vector<uint8_t> data(k_size);
        for (size_t i = 0; i < k_size; ++i) data[i] = static_cast<uint8_t>(i * 131 % 251);
        FILE* f = std::fopen(path.c_str(), "wb");
        REQUIRE(f != nullptr);
        REQUIRE(std::fwrite(data.data(), 1, k_size, f) == k_size);
        std::fflush(f);
        fsync(fileno(f));
        std::fclose(f);
    }
    {
        auto file = mapped_file::open(path);
        REQUIRE(file.ok());
        const uint8_t* bytes = (*file)->data();
        uint64_t sum_before = 0;
        for (size_t i = 0; i < k_size; ++i) sum_before += bytes[i];
        const size_t rss_before = process_rss_bytes();
        page_out(bytes, k_size);
        const size_t rss_after = process_rss_bytes();
        CHECK(rss_after + k_size / 2 < rss_before);
        uint64_t sum_after = 0;
        for (size_t i = 0; i < k_size; ++i) sum_after += bytes[i];
        CHECK(sum_after == sum_before);
        CHECK(bytes[12345] == static_cast<uint8_t>(12345 * 131 % 251));
    }
    std::filesystem::remove(path);

    // Memory with no file behind it is never discarded, only swapped or kept.
    std::vector<uint8_t> heap(k_size);
    for (size_t i = 0; i < k_size; ++i) heap[i] = static_cast<uint8_t>(i * 7);
    page_out(heap.data(), heap.size());
    bool same = true;
    for (size_t i = 0; i < k_size; ++i) same = same && heap[i] == static_cast<uint8_t>(i * 7);
    CHECK(same);
}
