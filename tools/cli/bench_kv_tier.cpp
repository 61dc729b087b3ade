// `actorlm bench-kv-tier`: the disk tier's load bandwidth against a plain memcpy
// of the same bytes (issue 13's goal: within 2x once the files are in the page
// cache). It fills a CPU KV cache of the given model shape with random bytes,
// saves every block to a disk tier, reads them all once (page cache warm), then
// times loads of all blocks back into the cache through the tier's I/O thread
// (one preadv straight into the cache's K and V pieces of every layer, checksum in
// place) and memcpys of the same byte count into the same cache. It also times the
// tier's copying path (a cache that exposes no host memory, as a device one) and a
// cross-layer layout (one block holds all its layers: one iovec, one memcpy per
// block), which is what such a layout would save on the CPU backend. Each figure is
// the median of --repeat runs, the runs interleaved. Prints one JSON line.
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
#include "base/elapsed.hpp"
#include "bench/bench_summary.hpp"

namespace bench_kv_tier_command {

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

/// Loads every block of `hashes` into `cache` through the tier; seconds, or -1 on a failed block.
double timed_load(kv::disk_kv_store& store, const std::vector<core::block_hash>& hashes,
                  kv_block_io& cache) {
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

/// A cache that forwards to another but exposes no host memory: the tier reads into a
/// buffer and copies it layer by layer (what it does for a device cache).
class copying_cache final : public kv_block_io {
public:
    explicit copying_cache(kv_block_io& target) : target_(target) {}
    int64_t num_kv_layers() const override { return target_.num_kv_layers(); }
    int32_t num_kv_blocks() const override { return target_.num_kv_blocks(); }
    size_t block_layer_bytes() const override { return target_.block_layer_bytes(); }
    void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const override {
        target_.read_block_layer(layer, block, dst);
    }
    void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) override {
        target_.write_block_layer(layer, block, src);
    }

private:
    kv_block_io& target_;
};

/// The cross-layer layout: [block][layer][K|V], so one block's layers are one range;
/// the tier merges the touching pieces into one iovec per block.
class cross_layer_cache final : public kv_block_io {
public:
    cross_layer_cache(int64_t layers, int32_t blocks, size_t layer_bytes)
        : layers_(layers),
          blocks_(blocks),
          layer_bytes_(layer_bytes),
          data_(new uint8_t[static_cast<size_t>(layers) * static_cast<size_t>(blocks) *
                            layer_bytes]) {
        std::memset(data_.get(), 0, block_bytes() * static_cast<size_t>(blocks));  // paged in
    }
    int64_t num_kv_layers() const override { return layers_; }
    int32_t num_kv_blocks() const override { return blocks_; }
    size_t block_layer_bytes() const override { return layer_bytes_; }
    void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const override {
        std::memcpy(dst.data(), at(layer, block), layer_bytes_);
    }
    void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) override {
        std::memcpy(at(layer, block), src.data(), layer_bytes_);
    }
    host_block_layer host_memory(int64_t layer, int32_t block) override {
        host_block_layer h;
        h.pieces[0] = std::span<uint8_t>(at(layer, block), layer_bytes_);
        h.num_pieces = 1;
        return h;
    }
    /// Block `block`, every layer: one range.
    uint8_t* block_data(int32_t block) { return at(0, block); }
    size_t block_bytes() const { return layer_bytes_ * static_cast<size_t>(layers_); }

private:
    uint8_t* at(int64_t layer, int32_t block) const {
        return data_.get() + static_cast<size_t>(block) * block_bytes() +
               static_cast<size_t>(layer) * layer_bytes_;
    }
    int64_t layers_;
    int32_t blocks_;
    size_t layer_bytes_;
    std::unique_ptr<uint8_t[]> data_;
};

int run_bench_kv_tier(const options& o) {
    kv_cache_spec spec;
    spec.num_blocks = o.blocks;
    spec.block_size = o.block_size;
    spec.type = o.kv_dtype == "f32" ? dtype::f32 : o.kv_dtype == "q8_0" ? dtype::q8_0 : dtype::f16;
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

    copying_cache copying(*cache);
    cross_layer_cache cross(o.layers, o.blocks, layer_bytes);
    if (timed_load(**store, hashes, *cache) < 0 ||  // warms the page cache
        timed_load(**store, hashes, copying) < 0 || timed_load(**store, hashes, cross) < 0) {
        std::fprintf(stderr, "bench-kv-tier: a block failed to load\n");
        return 1;
    }
    std::vector<double> load_s, load_copying_s, load_cross_s, copy_s, copy_cross_s;
    for (int r = 0; r < o.repeat; ++r) {
        load_s.push_back(timed_load(**store, hashes, *cache));
        load_copying_s.push_back(timed_load(**store, hashes, copying));
        load_cross_s.push_back(timed_load(**store, hashes, cross));
        // The same bytes with memcpy: every block's layers into the cache.
        auto t0 = clock_type::now();
        for (int32_t b = 0; b < o.blocks; ++b)
            for (int64_t l = 0; l < o.layers; ++l)
                cache->write_block_layer(
                    l, b,
                    std::span<const uint8_t>(source.data() + payload * static_cast<size_t>(b) +
                                                 layer_bytes * static_cast<size_t>(l),
                                             layer_bytes));
        copy_s.push_back(seconds_since(t0));
        // And into the cross-layer layout: one memcpy per block.
        t0 = clock_type::now();
        for (int32_t b = 0; b < o.blocks; ++b)
            std::memcpy(cross.block_data(b), source.data() + payload * static_cast<size_t>(b),
                        payload);
        copy_cross_s.push_back(seconds_since(t0));
    }
    if (std::min({*std::min_element(load_s.begin(), load_s.end()),
                  *std::min_element(load_copying_s.begin(), load_copying_s.end()),
                  *std::min_element(load_cross_s.begin(), load_cross_s.end())}) < 0) {
        std::fprintf(stderr, "bench-kv-tier: a block failed to load\n");
        return 1;
    }
    const double load = net::percentile(load_s, 50.0), copy = net::percentile(copy_s, 50.0);
    const double load_copying = net::percentile(load_copying_s, 50.0);
    const double load_cross = net::percentile(load_cross_s, 50.0);
    const double copy_cross = net::percentile(copy_cross_s, 50.0);
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
    // The tier's copying path (device caches): read into a buffer, then copy.
    w.key("load_copying_gb_per_s").value(cli::rounded(gb / load_copying, 3));
    // Per-layer layout (K and V of each layer apart: 2 iovecs and 2 memcpys per layer)
    // against a cross-layer one (1 of each per block; the header's iovec not counted).
    int64_t pieces = 0;  // of block 0 in the CPU cache (apart unless there is 1 block)
    for (int64_t l = 0; l < o.layers; ++l)
        pieces += static_cast<int64_t>(cache->host_memory(l, 0).num_pieces);
    w.key("iovecs_per_block").value(pieces);
    w.key("load_cross_layer_gb_per_s").value(cli::rounded(gb / load_cross, 3));
    w.key("memcpy_cross_layer_gb_per_s").value(cli::rounded(gb / copy_cross, 3));
    w.key("cross_layer_load_speedup").value(cli::rounded(load / load_cross, 2));
    w.key("cross_layer_memcpy_speedup").value(cli::rounded(copy / copy_cross, 2));
    w.end_object();
    cli::print_json_line(w);
    store->reset();
    std::filesystem::remove_all(dir);
    return 0;
}

cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    actorlm::cli::add_kv_shape_options(app, o->layers, o->kv_heads, o->head_dim);
    app.add_option("--block-size", o->block_size, "tokens per block")
        ->check(CLI::IsMember({1, 8, 16, 32, 64, 128}))
        ->capture_default_str();
    app.add_option("--kv-cache-dtype", o->kv_dtype, "f32, f16 or q8_0")
        ->check(CLI::IsMember({"f32", "f16", "q8_0"}))
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

cli::command_registration reg("bench-kv-tier",
                              "disk KV tier load bandwidth vs memcpy, per-layer vs cross-layer "
                              "block layout (JSON)",
                              setup);

}  // namespace bench_kv_tier_command
