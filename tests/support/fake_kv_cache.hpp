// A KV cache in plain host memory for the KV tier tests: [block][layer][bytes] behind
// the kv_block_io interface, exposing that memory (host_memory, one piece per layer,
// so a block is one contiguous range) unless told not to, and with a switch that makes
// every copy after the n-th write fail (as a device whose context broke, which exposes
// no host memory), so the tiers' direct, copying and error paths can be driven.
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

#include "kv/kv_block_io.hpp"

namespace actorlm::test {

class fake_kv_cache final : public kv_block_io {
public:
    fake_kv_cache(int64_t layers, int32_t blocks, size_t bytes)
        : layers_(layers),
          blocks_(blocks),
          bytes_(bytes),
          data_(static_cast<size_t>(layers * blocks) * bytes) {}
    int64_t num_kv_layers() const override { return layers_; }
    int32_t num_kv_blocks() const override { return blocks_; }
    size_t block_layer_bytes() const override { return bytes_; }
    void read_block_layer(int64_t l, int32_t b, std::span<uint8_t> dst) const override {
        std::memcpy(dst.data(), at(l, b), bytes_);
    }
    void write_block_layer(int64_t l, int32_t b, std::span<const uint8_t> src) override {
        if (writes_left_ == 0) {  // a failed device copy: nothing lands, the error sticks
            failed_ = true;
            return;
        }
        if (writes_left_ > 0) --writes_left_;
        ++num_writes_;
        std::memcpy(at(l, b), src.data(), bytes_);
    }
    status io_error() const override {
        if (failed_) return make_error("fake device copy failed");
        return {};
    }
    host_block_layer host_memory(int64_t l, int32_t b) override {
        if (!expose_) return {};
        host_block_layer h;
        h.pieces[0] = std::span<uint8_t>(at(l, b), bytes_);
        h.num_pieces = 1;
        return h;
    }
    /// Every write after the next `n` fails; the cache acts as a device one from now on
    /// (no host memory, so loads go through write_block_layer).
    void fail_after_writes(int64_t n) {
        writes_left_ = n;
        expose_ = false;
    }
    /// Whether host_memory() exposes the blocks (on by default); off: the copying path.
    void expose_host_memory(bool on) { expose_ = on; }
    /// Block-layers written through write_block_layer so far.
    int64_t num_writes() const { return num_writes_; }

    uint8_t* at(int64_t l, int32_t b) {
        return data_.data() +
               (static_cast<size_t>(b) * static_cast<size_t>(layers_) + static_cast<size_t>(l)) *
                   bytes_;
    }
    const uint8_t* at(int64_t l, int32_t b) const {
        return const_cast<fake_kv_cache*>(this)->at(l, b);
    }
    /// Block `b`'s payload (every layer, kv_block_io order).
    std::vector<uint8_t> block(int32_t b) const {
        std::vector<uint8_t> v(static_cast<size_t>(layers_) * bytes_);
        for (int64_t l = 0; l < layers_; ++l)
            std::memcpy(v.data() + static_cast<size_t>(l) * bytes_, at(l, b), bytes_);
        return v;
    }
    /// Fills block `b` with bytes derived from `seed`.
    void fill(int32_t b, uint8_t seed) {
        for (int64_t l = 0; l < layers_; ++l)
            for (size_t i = 0; i < bytes_; ++i)
                at(l, b)[i] = static_cast<uint8_t>(seed * 31 + l * 7 + static_cast<int64_t>(i));
    }

private:
    int64_t layers_;
    int32_t blocks_;
    size_t bytes_;
    std::vector<uint8_t> data_;
    int64_t writes_left_ = -1;  // -1: never fail
    bool failed_ = false;
    bool expose_ = true;
    int64_t num_writes_ = 0;
};

}  // namespace actorlm::test
