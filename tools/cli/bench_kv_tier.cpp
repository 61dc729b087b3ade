// `actorlm bench-kv-tier`: the disk tier's load bandwidth against a plain memcpy
// of the same bytes (issue 13's goal: within 2x once the files are in the page
// cache). It fills a CPU KV cache of the given model shape with random bytes,
// saves every block to a disk tier, reads them all once (page cache warm), then
// times loads of all blocks back into the cache through the tier's I/O thread
// (read, checksum, copy into every layer) and memcpys of the same byte count into
// the same cache; each figure is the median of --repeat runs. Prints one JSON line.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "json_output.hpp"
#include "kv/disk_kv_store.hpp"
#include "model/kv_cache_storage.hpp"

namespace {

using namespace actorlm;
using clock_type = std::chrono::steady_clock;

struct options {
    // rand-1.7b (SmolLM2-1.7B shapes): 24 layers, 32 KV heads of 64.
    int64_t layers = 24;
    int64_t kv_heads = 32;
    int64_t head_dim = 64;
    int32_t block_size = 16;
    std::string kv_dtype = "f16";
    int32_t blocks = 256;  // 4096 tokens: one 4k-token document
    std::string dir;
    int repeat = 5;
};

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

double seconds_since(clock_type::time_point t0) {
    return std::chrono::duration<double>(clock_type::now() - t0).count();
}

/// Loads every block of `hashes` into `cache` through the tier; seconds, or -1 on a failed block.
double timed_load(kv::disk_kv_store& store, const std::vector<core::block_hash>& hashes,
                  kv_cache_storage& cache) {
    std::vector<kv::kv_block_store::load_block> blocks;
    for (size_t i = 0; i < hashes.size(); ++i)
        blocks.push_back({hashes[i], static_cast<int32_t>(i)});
    const auto t0 = clock_type::now();
    store.load_async("bench", std::move(blocks), &cache);
    for (;;) {
        auto done = store.take_finished_loads();
        if (!done.empty()) return done.front().invalid_block_ids.empty() ? seconds_since(t0) : -1;
        std::this_thread::yield();
    }
}

int run_bench_kv_tier(const options& o) {
    kv_cache_spec spec;
    spec.num_blocks = o.blocks;
    spec.block_size = o.block_size;
    spec.type = o.kv_dtype == "f32" ? dtype::f32 : dtype::f16;
    auto cache = kv_cache_storage::create(spec, o.layers, o.kv_heads, o.head_dim);
    if (!cache) {
        std::fprintf(stderr, "bench-kv-tier: %s\n", cache.message().c_str());
        return 1;
    }
    const size_t layer_bytes = cache->block_layer_bytes();
    const size_t payload = layer_bytes * static_cast<size_t>(o.layers);
    const size_t total = payload * static_cast<size_t>(o.blocks);

    // Random block contents, one payload per block as the tier stores it.
    std::mt19937_64 rng(7);
    std::vector<uint8_t> source(total);
    for (size_t i = 0; i + 8 <= total; i += 8) {
        const uint64_t r = rng();
        std::memcpy(source.data() + i, &r, 8);
    }
    std::vector<core::block_hash> hashes;
    for (int32_t b = 0; b < o.blocks; ++b) hashes.push_back(core::block_hash{rng(), rng()});

    const std::filesystem::path dir =
        o.dir.empty() ? std::filesystem::temp_directory_path() /
                            ("actorlm-bench-kv-tier-" + std::to_string(::getpid()))
                      : std::filesystem::path(o.dir);
    std::filesystem::remove_all(dir);
    kv::disk_kv_store::options so;
    so.dir = dir.string();
    so.capacity_bytes = static_cast<int64_t>(total) * 2 + (int64_t{1} << 20);
    so.layer_bytes = layer_bytes;
    so.num_layers = o.layers;
    auto store = kv::disk_kv_store::open(so);
    if (!store) {
        std::fprintf(stderr, "bench-kv-tier: %s\n", store.message().c_str());
        return 1;
    }
    const auto save_t0 = clock_type::now();
    for (int32_t b = 0; b < o.blocks; ++b) {
        (*store)->reserve_save(hashes[static_cast<size_t>(b)]);
        const uint8_t* p = source.data() + payload * static_cast<size_t>(b);
        (*store)->save_async(hashes[static_cast<size_t>(b)], std::vector<uint8_t>(p, p + payload));
    }
    (*store)->flush();
    const double save_s = seconds_since(save_t0);
    if ((*store)->stats().blocks_saved != o.blocks) {
        std::fprintf(stderr, "bench-kv-tier: saved %lld of %d blocks (disk full?)\n",
                     static_cast<long long>((*store)->stats().blocks_saved), o.blocks);
        return 1;
    }

    if (timed_load(**store, hashes, *cache) < 0) {  // warms the page cache
        std::fprintf(stderr, "bench-kv-tier: a block failed to load\n");
        return 1;
    }
    std::vector<double> load_s, copy_s;
    for (int r = 0; r < o.repeat; ++r) {
        load_s.push_back(timed_load(**store, hashes, *cache));
        // The same bytes with memcpy: every block's layers into the cache.
        const auto t0 = clock_type::now();
        for (int32_t b = 0; b < o.blocks; ++b)
            for (int64_t l = 0; l < o.layers; ++l)
                cache->write_block_layer(
                    l, b,
                    std::span<const uint8_t>(source.data() + payload * static_cast<size_t>(b) +
                                                 layer_bytes * static_cast<size_t>(l),
                                             layer_bytes));
        copy_s.push_back(seconds_since(t0));
    }
    const double load = median(load_s), copy = median(copy_s);
    const double gb = static_cast<double>(total) / 1e9;
    net::json_writer w;
    w.begin_object();
    w.key("layers").value(o.layers).key("kv_heads").value(o.kv_heads);
    w.key("head_dim").value(o.head_dim).key("kv_dtype").value(o.kv_dtype);
    w.key("block_size").value(int64_t{o.block_size}).key("blocks").value(int64_t{o.blocks});
    w.key("kv_bytes_per_token").value(static_cast<int64_t>(payload / o.block_size));
    w.key("payload_bytes").value(static_cast<int64_t>(total));
    w.key("disk_bytes").value(static_cast<int64_t>((*store)->stats().bytes_stored));
    w.key("save_gb_per_s").value(cli::rounded(gb / save_s, 3));
    w.key("load_gb_per_s").value(cli::rounded(gb / load, 3));
    w.key("memcpy_gb_per_s").value(cli::rounded(gb / copy, 3));
    w.key("load_vs_memcpy").value(cli::rounded(load / copy, 2));
    w.end_object();
    cli::print_json_line(w);
    store->reset();
    std::filesystem::remove_all(dir);
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("--layers", o->layers, "KV layers")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--kv-heads", o->kv_heads, "KV heads")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--head-dim", o->head_dim, "head dimension")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--block-size", o->block_size, "tokens per block")
        ->check(CLI::IsMember({1, 8, 16, 32, 64, 128}))
        ->capture_default_str();
    app.add_option("--kv-cache-dtype", o->kv_dtype, "f32 or f16")
        ->check(CLI::IsMember({"f32", "f16"}))
        ->capture_default_str();
    app.add_option("--blocks", o->blocks, "blocks saved and loaded (the default is 4k tokens)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    app.add_option("--dir", o->dir, "tier directory (default: a fresh temporary one)");
    app.add_option("--repeat", o->repeat, "timed runs (the median is printed)")
        ->check(actorlm::cli::positive())
        ->capture_default_str();
    return [o] { return run_bench_kv_tier(*o); };
}

cli::command_registration reg("bench-kv-tier", "disk KV tier load bandwidth vs memcpy (JSON)",
                              setup);

}  // namespace
