// kv_transfer_endpoint implementation. A block's payload is its layers in order,
// each block_layer_bytes() in kv_block_io order (the layout of every KV tier), so a
// block moves between engines of the same model and KV layout bit-identically.
#include "kv/kv_transfer_endpoint.hpp"

#include <algorithm>
#include <random>

namespace actorlm::kv {

kv_transfer_endpoint::kv_transfer_endpoint(const options& o)
    : opts_(o), payload_bytes_(o.block_layer_bytes * static_cast<size_t>(o.num_layers)) {}

status kv_transfer_endpoint::attach(kv_block_io* io) {
    const size_t got = io->block_layer_bytes() * static_cast<size_t>(io->num_kv_layers());
    if (got != payload_bytes_)
        return make_error("PeerConnector: block size mismatch (%zu bytes per block, expected %zu)",
                          got, payload_bytes_);
    std::lock_guard lock(io_mu_);
    io_ = io;
    return {};
}

void kv_transfer_endpoint::detach() {
    std::lock_guard lock(io_mu_);
    io_ = nullptr;
}

bool kv_transfer_endpoint::offer(const std::string& id, std::vector<int32_t> block_ids,
                                 std::vector<core::block_hash> hashes) {
    std::lock_guard lock(mu_);
    if (offers_.count(id)) return false;
    offers_[id] = kept{std::move(block_ids), std::move(hashes), clock::now() + opts_.keep_timeout};
    return true;
}

bool kv_transfer_endpoint::offered(const std::string& id) const {
    std::lock_guard lock(mu_);
    return offers_.count(id) != 0;
}

int32_t kv_transfer_endpoint::read(const std::string& id, int32_t first,
                                   std::span<const core::block_hash> expected,
                                   std::vector<char>& out) {
    // Both locks for the whole copy (always io_mu_ first): an offer that expires
    // meanwhile is handed back to the scheduler only after the copy, so its blocks
    // are never reused while they are read.
    std::shared_lock io_lock(io_mu_);
    std::lock_guard lock(mu_);
    auto it = offers_.find(id);
    if (!io_ || it == offers_.end() || first < 0) return 0;
    const kept& k = it->second;
    const int32_t n = num_matching(k, first, expected);
    const size_t base = out.size();
    out.resize(base + static_cast<size_t>(n) * payload_bytes_);
    auto* dst = reinterpret_cast<uint8_t*>(out.data() + base);
    for (int32_t i = 0; i < n; ++i)
        copy_block_out(k.block_ids[static_cast<size_t>(first + i)],
                       dst + static_cast<size_t>(i) * payload_bytes_);
    if (!io_->io_error().ok()) {  // a failed device copy: never ship unknown bytes
        out.resize(base);
        return 0;
    }
    stats_.blocks_saved += n;
    stats_.bytes_saved += static_cast<int64_t>(static_cast<size_t>(n) * payload_bytes_);
    return n;
}

int32_t kv_transfer_endpoint::num_matching(const kept& k, int32_t first,
                                           std::span<const core::block_hash> expected) {
    if (first < 0) return 0;
    int32_t n = 0;
    for (size_t i = 0; i < expected.size(); ++i, ++n) {
        const size_t b = static_cast<size_t>(first) + i;
        if (b >= k.block_ids.size() || k.hashes[b] != expected[i]) break;
    }
    return n;
}

void kv_transfer_endpoint::copy_block_out(int32_t block, uint8_t* dst) const {
    const size_t lb = opts_.block_layer_bytes;
    for (int64_t l = 0; l < opts_.num_layers; ++l)
        io_->read_block_layer(l, block, std::span<uint8_t>(dst + static_cast<size_t>(l) * lb, lb));
}

void kv_transfer_endpoint::copy_block_in(int32_t block, const uint8_t* src) {
    const size_t lb = opts_.block_layer_bytes;
    for (int64_t l = 0; l < opts_.num_layers; ++l)
        io_->write_block_layer(l, block,
                               std::span<const uint8_t>(src + static_cast<size_t>(l) * lb, lb));
}

bool kv_transfer_endpoint::host_pieces(int32_t block, std::vector<iovec>& bufs) const {
    const size_t before = bufs.size();
    for (int64_t l = 0; l < opts_.num_layers; ++l) {
        const host_block_layer h = io_->host_memory(l, block);
        if (h.num_pieces == 0) {
            bufs.resize(before);
            return false;
        }
        for (size_t p = 0; p < h.num_pieces; ++p)
            bufs.push_back(iovec{h.pieces[p].data(), h.pieces[p].size()});
    }
    return true;
}

void kv_transfer_endpoint::release(const std::string& id) {
    std::lock_guard lock(mu_);
    auto it = offers_.find(id);
    if (it == offers_.end()) return;
    if (it->second.streams > 0) {
        it->second.release_pending = true;  // a stream still reads the blocks
        return;
    }
    offers_.erase(it);
    released_.push_back(id);
}

void kv_transfer_endpoint::unpin(const std::string& id) {
    auto it = offers_.find(id);
    if (it == offers_.end() || --it->second.streams > 0 || !it->second.release_pending) return;
    offers_.erase(it);
    released_.push_back(id);
}

kv_transfer_endpoint::stream_ticket kv_transfer_endpoint::open_stream(
    const std::string& id, int32_t first, std::span<const core::block_hash> expected,
    clock::time_point now) {
    std::lock_guard lock(mu_);
    auto it = offers_.find(id);
    if (it == offers_.end() || first < 0) return {};
    kept& k = it->second;
    const int32_t n = num_matching(k, first, expected);
    if (n == 0) return {};
    // The token is the stream's only credential: 128 bits from the OS's entropy.
    static constexpr char k_hex[] = "0123456789abcdef";
    std::random_device rd;
    std::string token(k_token_size, '0');
    for (size_t i = 0; i < k_token_size; i += 8) {
        uint32_t r = rd();
        for (size_t j = 0; j < 8; ++j, r >>= 4) token[i + j] = k_hex[r & 0xf];
    }
    tickets_[token] = ticket{id, first, n, now + opts_.pull_timeout};
    ++k.streams;
    return {token, n};
}

int32_t kv_transfer_endpoint::send_stream(const std::string& token, const tcp_socket& s) {
    std::string offer;
    std::vector<int32_t> blocks;
    {
        std::lock_guard lock(mu_);
        auto t = tickets_.find(token);
        if (t == tickets_.end()) return 0;
        offer = t->second.offer;
        const kept& k = offers_.at(offer);  // pinned: it cannot have gone
        blocks.assign(k.block_ids.begin() + t->second.first,
                      k.block_ids.begin() + t->second.first + t->second.num_blocks);
        tickets_.erase(t);
    }
    std::vector<iovec> bufs;
    std::vector<uint8_t> bounce;  // a cache without host memory (a device) is copied out
    int32_t sent = 0;
    for (int32_t block : blocks) {
        std::shared_lock io_lock(io_mu_);
        if (!io_) break;
        bufs.clear();
        if (!host_pieces(block, bufs)) {
            bounce.resize(payload_bytes_);
            copy_block_out(block, bounce.data());
            bufs.assign(1, iovec{bounce.data(), bounce.size()});
        }
        if (!io_->io_error().ok() || !tcp_send_all(s, bufs)) break;
        ++sent;
    }
    std::lock_guard lock(mu_);
    stats_.blocks_saved += sent;
    stats_.blocks_streamed += sent;
    stats_.bytes_saved += static_cast<int64_t>(static_cast<size_t>(sent) * payload_bytes_);
    unpin(offer);
    return sent;
}

std::vector<std::string> kv_transfer_endpoint::take_released(clock::time_point now) {
    std::lock_guard lock(mu_);
    for (auto t = tickets_.begin(); t != tickets_.end();) {  // never redeemed
        if (t->second.deadline > now) {
            ++t;
            continue;
        }
        unpin(t->second.offer);
        t = tickets_.erase(t);
    }
    for (auto it = offers_.begin(); it != offers_.end();) {
        if (it->second.deadline > now || it->second.streams > 0) {
            ++it;
            continue;
        }
        released_.push_back(it->first);
        ++stats_.saves_skipped;  // kept for nobody: the consumer never came
        it = offers_.erase(it);
    }
    return std::exchange(released_, {});
}

void kv_transfer_endpoint::queue_pull(pull p) {
    std::function<void()> wake;
    {
        std::lock_guard lock(mu_);
        pulls_.push_back(std::move(p));
        wake = wakeup_;
    }
    if (wake) wake();
}

std::vector<kv_transfer_endpoint::pull> kv_transfer_endpoint::take_pulls() {
    std::lock_guard lock(mu_);
    return std::exchange(pulls_, {});
}

bool kv_transfer_endpoint::write(int32_t block_id, std::span<const char> payload) {
    if (payload.size() != payload_bytes_) return false;
    std::shared_lock lock(io_mu_);
    if (!io_) return false;
    copy_block_in(block_id, reinterpret_cast<const uint8_t*>(payload.data()));
    return io_->io_error().ok();
}

int32_t kv_transfer_endpoint::receive_stream(const tcp_socket& s,
                                             std::span<const int32_t> block_ids) {
    std::vector<iovec> bufs;
    std::vector<uint8_t> bounce;  // a cache without host memory (a device) is copied in
    int32_t received = 0;
    for (int32_t block : block_ids) {
        std::shared_lock io_lock(io_mu_);
        if (!io_) break;
        bufs.clear();
        const bool direct = host_pieces(block, bufs);
        if (!direct) {
            bounce.resize(payload_bytes_);
            bufs.assign(1, iovec{bounce.data(), bounce.size()});
        }
        if (!tcp_receive_all(s, bufs)) break;
        if (!direct) copy_block_in(block, bounce.data());
        if (!io_->io_error().ok()) break;
        ++received;
    }
    return received;
}

void kv_transfer_endpoint::finish_pull(const pull& p, int32_t num_loaded, double seconds) {
    if (p.block_ids.empty()) return;  // a release only: the scheduler waits for nothing
    const auto n = static_cast<size_t>(std::clamp<int32_t>(num_loaded, 0,
                                                           static_cast<int32_t>(p.block_ids.size())));
    kv_block_store::load_result r;
    r.req_id = p.req_id;
    r.invalid_block_ids.assign(p.block_ids.begin() + static_cast<std::ptrdiff_t>(n),
                               p.block_ids.end());
    std::lock_guard lock(mu_);
    stats_.blocks_loaded += static_cast<int64_t>(n);
    stats_.bytes_loaded += static_cast<int64_t>(n * payload_bytes_);
    stats_.load_errors += static_cast<int64_t>(p.block_ids.size() - n);
    stats_.load_seconds += seconds;
    finished_pulls_.push_back(std::move(r));
}

std::vector<kv_block_store::load_result> kv_transfer_endpoint::take_finished_pulls() {
    std::lock_guard lock(mu_);
    return std::exchange(finished_pulls_, {});
}

void kv_transfer_endpoint::set_wakeup(std::function<void()> wakeup) {
    std::lock_guard lock(mu_);
    wakeup_ = std::move(wakeup);
}

kv_connector_stats kv_transfer_endpoint::stats() const {
    std::lock_guard lock(mu_);
    kv_connector_stats s = stats_;
    s.blocks_stored = 0;
    for (const auto& [_, k] : offers_) s.blocks_stored += static_cast<int64_t>(k.block_ids.size());
    s.bytes_stored = s.blocks_stored * static_cast<int64_t>(payload_bytes_);
    return s;
}

}  // namespace actorlm::kv
