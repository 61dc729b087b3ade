// disk_kv_store implementation. Files are written to a temporary name and renamed,
// so a reader never sees a half-written block under a real name; a crash can still
// leave a short file, which open() and the size/checksum checks turn into a miss.
#include "kv/disk_kv_store.hpp"

#include <xxhash.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace actorlm::kv {
namespace {

namespace fs = std::filesystem;

constexpr char k_magic[8] = {'A', 'L', 'M', 'K', 'V', 'B', '0', '1'};
constexpr const char* k_suffix = ".kvb";

/// The fixed 64-byte header in front of every block's payload (little-endian).
struct file_header {
    char magic[8];
    uint64_t hash_low;
    uint64_t hash_high;
    uint64_t payload_bytes;
    uint64_t checksum;  // XXH3-64 of the payload
    uint64_t num_layers;
    uint64_t reserved[2];
};
static_assert(sizeof(file_header) == 64);

bool parse_hex_hash(const std::string& s, core::block_hash& h) {
    if (s.size() != 32) return false;
    uint64_t parts[2] = {0, 0};
    for (size_t i = 0; i < 32; ++i) {
        const char c = s[i];
        uint64_t d;
        if (c >= '0' && c <= '9')
            d = static_cast<uint64_t>(c - '0');
        else if (c >= 'a' && c <= 'f')
            d = static_cast<uint64_t>(c - 'a' + 10);
        else
            return false;
        parts[i / 16] = (parts[i / 16] << 4) | d;
    }
    h = core::block_hash{parts[1], parts[0]};
    return true;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

disk_kv_store::disk_kv_store(const options& opts) : opts_(opts) {}

size_t disk_kv_store::file_bytes() const { return sizeof(file_header) + payload_bytes(); }

std::string disk_kv_store::path_of(const core::block_hash& h) const {
    return (fs::path(opts_.dir) / (core::to_hex(h) + k_suffix)).string();
}

result<std::shared_ptr<disk_kv_store>> disk_kv_store::open(const options& opts) {
    if (opts.dir.empty()) return make_error("disk KV tier: no directory given (disk_path)");
    if (opts.capacity_bytes <= 0)
        return make_error("disk KV tier: capacity must be positive, got %lld",
                          static_cast<long long>(opts.capacity_bytes));
    if (opts.layer_bytes == 0 || opts.num_layers <= 0)
        return make_error("disk KV tier: the KV cache has no bytes per block");
    std::error_code ec;
    fs::create_directories(opts.dir, ec);
    if (ec || !fs::is_directory(opts.dir, ec))
        return make_error("disk KV tier: cannot create directory '%s': %s", opts.dir.c_str(),
                          ec ? ec.message().c_str() : "not a directory");
    std::shared_ptr<disk_kv_store> s(new disk_kv_store(opts));

    // The directory is the index: every well-named file of the right size, oldest first.
    struct found {
        core::block_hash hash;
        fs::file_time_type mtime;
    };
    std::vector<found> files;
    for (const auto& ent : fs::directory_iterator(opts.dir, ec)) {
        const fs::path& p = ent.path();
        const std::string name = p.filename().string();
        if (name.find(".tmp") != std::string::npos) {  // an interrupted write
            fs::remove(p, ec);
            continue;
        }
        if (p.extension() != k_suffix) continue;
        core::block_hash h;
        if (!parse_hex_hash(p.stem().string(), h)) continue;
        const auto size = fs::file_size(p, ec);
        if (ec || size != s->file_bytes()) {
            // Truncated, or another cache shape: a miss, never loaded.
            ++s->stats_.load_errors;
            fs::remove(p, ec);
            continue;
        }
        files.push_back({h, fs::last_write_time(p, ec)});
    }
    std::sort(files.begin(), files.end(),
              [](const found& a, const found& b) { return a.mtime < b.mtime; });
    {
        std::lock_guard lock(s->mu_);
        for (const auto& f : files) s->index_insert_locked(f.hash);
        // A smaller capacity than last time: drop the oldest.
        while (s->stats_.bytes_stored > opts.capacity_bytes && !s->lru_.empty()) {
            const core::block_hash victim = s->lru_.front();
            s->index_erase_locked(victim, true);
            fs::remove(s->path_of(victim), ec);
        }
    }
    s->io_ = std::make_unique<tier_io_thread>();
    return s;
}

disk_kv_store::~disk_kv_store() {
    io_.reset();  // runs the queued saves and loads while the index still exists
}

void disk_kv_store::submit(std::function<void()> job) { io_->submit(std::move(job)); }

void disk_kv_store::flush() { io_->flush(); }

void disk_kv_store::index_insert_locked(const core::block_hash& h) {
    if (index_.count(h)) return;
    lru_.push_back(h);
    index_[h] = std::prev(lru_.end());
    stats_.blocks_stored += 1;
    stats_.bytes_stored += static_cast<int64_t>(file_bytes());
}

void disk_kv_store::index_erase_locked(core::block_hash h, bool evicted) {
    auto it = index_.find(h);
    if (it == index_.end()) return;
    lru_.erase(it->second);
    index_.erase(it);
    stats_.blocks_stored -= 1;
    stats_.bytes_stored -= static_cast<int64_t>(file_bytes());
    if (evicted) ++stats_.evictions;
    events_.push_back(kv_event{kv_event::kind::block_removed, {h}, "disk"});
}

bool disk_kv_store::contains(const core::block_hash& h) const {
    std::lock_guard lock(mu_);
    return index_.count(h) != 0;
}

bool disk_kv_store::reserve_save(const core::block_hash& h) {
    std::lock_guard lock(mu_);
    if (index_.count(h) || pending_.count(h)) return false;
    if (saving_stopped_ || static_cast<int64_t>(file_bytes()) > opts_.capacity_bytes) {
        ++stats_.saves_skipped;
        return false;
    }
    pending_.insert(h);
    return true;
}

void disk_kv_store::cancel_save(const core::block_hash& h) {
    std::lock_guard lock(mu_);
    pending_.erase(h);
}

void disk_kv_store::save_async(const core::block_hash& h, std::vector<uint8_t> payload) {
    submit([this, h, p = std::move(payload)] { do_save(h, p); });
}

void disk_kv_store::do_save(const core::block_hash& h, const std::vector<uint8_t>& payload) {
    const auto t0 = std::chrono::steady_clock::now();
    std::error_code ec;
    std::vector<core::block_hash> victims;
    {
        std::lock_guard lock(mu_);
        if (saving_stopped_ || payload.size() != payload_bytes()) {
            pending_.erase(h);
            ++stats_.saves_skipped;
            return;
        }
        // Make room: least recently used first.
        while (stats_.bytes_stored + static_cast<int64_t>(file_bytes()) > opts_.capacity_bytes &&
               !lru_.empty()) {
            const core::block_hash victim = lru_.front();  // a copy: erasing frees the node
            victims.push_back(victim);
            index_erase_locked(victim, true);
        }
    }
    for (const auto& v : victims) fs::remove(path_of(v), ec);

    file_header hdr{};
    std::memcpy(hdr.magic, k_magic, sizeof(k_magic));
    hdr.hash_low = h.low;
    hdr.hash_high = h.high;
    hdr.payload_bytes = payload.size();
    hdr.checksum = XXH3_64bits(payload.data(), payload.size());
    hdr.num_layers = static_cast<uint64_t>(opts_.num_layers);
    const std::string final_path = path_of(h);
    const std::string tmp_path = final_path + ".tmp";
    bool ok = false;
    if (FILE* f = std::fopen(tmp_path.c_str(), "wb")) {
        ok = std::fwrite(&hdr, sizeof(hdr), 1, f) == 1 &&
             std::fwrite(payload.data(), 1, payload.size(), f) == payload.size();
        ok = (std::fclose(f) == 0) && ok;
    }
    if (ok) {
        fs::rename(tmp_path, final_path, ec);
        ok = !ec;
    }
    std::lock_guard lock(mu_);
    pending_.erase(h);
    if (!ok) {
        fs::remove(tmp_path, ec);
        ++stats_.save_errors;
        if (!saving_stopped_)
            std::fprintf(stderr,
                         "actorlm: warning: disk KV tier '%s': writing a block failed (%s); "
                         "saving stops, serving continues\n",
                         opts_.dir.c_str(), std::strerror(errno));
        saving_stopped_ = true;
        return;
    }
    index_insert_locked(h);
    stats_.blocks_saved += 1;
    stats_.bytes_saved += static_cast<int64_t>(payload.size());
    stats_.save_seconds += seconds_since(t0);
    events_.push_back(kv_event{kv_event::kind::block_stored, {h}, "disk"});
}

bool disk_kv_store::read_block(const core::block_hash& h, std::vector<uint8_t>& buf) {
    FILE* f = std::fopen(path_of(h).c_str(), "rb");
    if (!f) return false;
    file_header hdr{};
    buf.resize(payload_bytes());
    bool ok = std::fread(&hdr, sizeof(hdr), 1, f) == 1 &&
              std::fread(buf.data(), 1, buf.size(), f) == buf.size();
    char extra;
    ok = ok && std::fread(&extra, 1, 1, f) == 0;  // nothing after the payload
    std::fclose(f);
    return ok && std::memcmp(hdr.magic, k_magic, sizeof(k_magic)) == 0 && hdr.hash_low == h.low &&
           hdr.hash_high == h.high && hdr.payload_bytes == buf.size() &&
           hdr.num_layers == static_cast<uint64_t>(opts_.num_layers) &&
           hdr.checksum == XXH3_64bits(buf.data(), buf.size());
}

void disk_kv_store::load_async(std::string req_id, std::vector<load_block> blocks,
                               kv_block_io* io) {
    submit([this, id = std::move(req_id), blocks = std::move(blocks), io]() mutable {
        const auto t0 = std::chrono::steady_clock::now();
        load_result res;
        res.req_id = std::move(id);
        std::vector<uint8_t> buf;
        int64_t loaded = 0;
        size_t i = 0;
        for (; i < blocks.size(); ++i) {
            if (!read_block(blocks[i].hash, buf)) {
                // Corrupt, truncated or gone: a miss; the scheduler recomputes from here.
                std::error_code ec;
                fs::remove(path_of(blocks[i].hash), ec);
                std::lock_guard lock(mu_);
                ++stats_.load_errors;
                index_erase_locked(blocks[i].hash, false);
                break;
            }
            for (int64_t l = 0; l < opts_.num_layers; ++l)
                io->write_block_layer(
                    l, blocks[i].block_id,
                    std::span<const uint8_t>(buf).subspan(
                        static_cast<size_t>(l) * opts_.layer_bytes, opts_.layer_bytes));
            if (!io->io_error().ok()) {  // the device copy failed: not loaded
                std::lock_guard lock(mu_);
                ++stats_.load_errors;
                break;
            }
            ++loaded;
        }
        for (; i < blocks.size(); ++i) res.invalid_block_ids.push_back(blocks[i].block_id);
        std::lock_guard lock(mu_);
        for (size_t k = 0; k < static_cast<size_t>(loaded); ++k) {
            auto it = index_.find(blocks[k].hash);
            if (it != index_.end()) lru_.splice(lru_.end(), lru_, it->second);  // most recent
        }
        stats_.blocks_loaded += loaded;
        stats_.bytes_loaded += loaded * static_cast<int64_t>(payload_bytes());
        stats_.load_seconds += seconds_since(t0);
        finished_loads_.push_back(std::move(res));
    });
}

std::vector<disk_kv_store::load_result> disk_kv_store::take_finished_loads() {
    std::lock_guard lock(mu_);
    return std::exchange(finished_loads_, {});
}

std::vector<core::block_hash> disk_kv_store::hashes() const {
    std::lock_guard lock(mu_);
    return {lru_.begin(), lru_.end()};
}

kv_connector_stats disk_kv_store::stats() const {
    std::lock_guard lock(mu_);
    return stats_;
}

std::vector<kv_event> disk_kv_store::take_events() {
    std::lock_guard lock(mu_);
    return std::exchange(events_, {});
}

}  // namespace actorlm::kv
