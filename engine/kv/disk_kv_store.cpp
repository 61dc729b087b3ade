// disk_kv_store implementation. Files are written to a temporary name and renamed,
// so a reader never sees a half-written block under a real name; a crash can still
// leave a short file, which open() and the size/checksum checks turn into a miss.
// Several engines may share one directory: each write has its own temporary name
// (process id and a counter), the rename is atomic, and open() removes only
// temporary files too old to be a write in flight.
// A load reads a file with one preadv: straight into the cache where it exposes host
// memory (one copy, checksummed in place), else into a buffer copied layer by layer.
#include "kv/disk_kv_store.hpp"
#include "base/check.hpp"
#include "base/elapsed.hpp"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xxhash.h>
#if defined(__x86_64__) && __has_include(<xxh_x86dispatch.h>)
// The *_dispatch names explicitly: no macro renaming that a unity batch would spread.
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#undef XXH_DISPATCH_DISABLE_REPLACE
#define ACTORLM_XXH3_DISPATCH 1
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace actorlm::kv {
namespace {

namespace fs = std::filesystem;

constexpr char k_magic[8] = {'A', 'L', 'M', 'K', 'V', 'B', '0', '1'};
constexpr const char* k_suffix = ".kvb";
/// A temporary file older than this is an interrupted write (a block write takes
/// milliseconds), not another engine's write in flight.
constexpr auto k_stale_write_age = std::chrono::minutes(10);

/// A temporary name for one write of `final_path`, unique across the processes and
/// threads writing into the directory.
std::string temporary_path(const std::string& final_path) {
    static std::atomic<uint64_t> counter{0};
    return final_path + "." + std::to_string(::getpid()) + "." +
           std::to_string(counter.fetch_add(1, std::memory_order_relaxed)) + ".tmp";
}

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

// XXH3-64 through libxxhash's run-time dispatch (AVX2 / AVX-512 where the CPU has them)
// where the library has it: 75 instead of 19 GB/s over a 3 MiB block on the EPYC of
// docs/benchmarks.md, a third of a load's time before. The hash values are the same.
uint64_t xxh3_of(const void* p, size_t n) {
#ifdef ACTORLM_XXH3_DISPATCH
    return XXH3_64bits_dispatch(p, n);
#else
    return XXH3_64bits(p, n);
#endif
}

void xxh3_update(XXH3_state_t* state, const void* p, size_t n) {
#ifdef ACTORLM_XXH3_DISPATCH
    XXH3_64bits_update_dispatch(state, p, n);
#else
    XXH3_64bits_update(state, p, n);
#endif
}

/// Fills `iov` from `fd` starting at byte 0, resuming after partial reads (and in
/// IOV_MAX batches); false on an error or when the file ends first. Consumes `iov`.
bool preadv_fully(int fd, std::vector<iovec>& iov) {
    off_t offset = 0;
    size_t first = 0;
    while (first < iov.size()) {
        const int count = static_cast<int>(std::min<size_t>(iov.size() - first, IOV_MAX));
        const ssize_t n = ::preadv(fd, iov.data() + first, count, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        offset += n;
        auto left = static_cast<size_t>(n);
        while (first < iov.size() && left >= iov[first].iov_len) left -= iov[first++].iov_len;
        if (left > 0) {
            iov[first].iov_base = static_cast<uint8_t*>(iov[first].iov_base) + left;
            iov[first].iov_len -= left;
        }
    }
    return true;
}

/// Block `block`'s host memory in `io`, every layer in kv_block_io order, with pieces
/// that touch merged (a cross-layer layout becomes one piece); false when `io` exposes
/// no host memory.
bool host_block_pieces(kv_block_io& io, int32_t block, int64_t num_layers,
                       std::vector<std::span<uint8_t>>& out) {
    out.clear();
    for (int64_t l = 0; l < num_layers; ++l) {
        const host_block_layer h = io.host_memory(l, block);
        if (h.num_pieces == 0) return false;
        size_t bytes = 0;
        for (size_t p = 0; p < h.num_pieces; ++p) {
            const std::span<uint8_t> s = h.pieces[p];
            bytes += s.size();
            if (s.empty()) continue;
            if (!out.empty() && out.back().data() + out.back().size() == s.data())
                out.back() = std::span<uint8_t>(out.back().data(), out.back().size() + s.size());
            else
                out.push_back(s);
        }
        ACTORLM_CHECK(bytes == io.block_layer_bytes(),
                      "KV cache exposes %zu bytes of a %zu-byte block-layer", bytes,
                      io.block_layer_bytes());
    }
    return true;
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
        if (name.find(".tmp") != std::string::npos) {
            const auto written = fs::last_write_time(p, ec);
            if (!ec && fs::file_time_type::clock::now() - written > k_stale_write_age)
                fs::remove(p, ec);  // an interrupted write
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
    hdr.checksum = xxh3_of(payload.data(), payload.size());
    hdr.num_layers = static_cast<uint64_t>(opts_.num_layers);
    const std::string final_path = path_of(h);
    const std::string tmp_path = temporary_path(final_path);
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

bool disk_kv_store::read_block(const core::block_hash& h,
                               std::span<const std::span<uint8_t>> dst) {
    const int fd = ::open(path_of(h).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    file_header hdr{};
    std::vector<iovec> iov;
    iov.reserve(dst.size() + 1);
    iov.push_back({&hdr, sizeof(hdr)});
    for (const auto& d : dst) iov.push_back({d.data(), d.size()});
    // The size first: a longer file (another shape) must not be read in part and pass.
    struct stat st {};
    bool ok = ::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) == file_bytes() &&
              preadv_fully(fd, iov);
    ::close(fd);
    if (!ok || std::memcmp(hdr.magic, k_magic, sizeof(k_magic)) != 0 || hdr.hash_low != h.low ||
        hdr.hash_high != h.high || hdr.payload_bytes != payload_bytes() ||
        hdr.num_layers != static_cast<uint64_t>(opts_.num_layers))
        return false;
    // XXH3 over the bytes where they landed, piece by piece (equal to the one-shot hash
    // the save computed over the contiguous payload).
    XXH3_state_t* state = XXH3_createState();
    ACTORLM_CHECK(state != nullptr, "out of memory for an XXH3 state");
    XXH3_64bits_reset(state);
    for (const auto& d : dst) xxh3_update(state, d.data(), d.size());
    const uint64_t sum = XXH3_64bits_digest(state);
    XXH3_freeState(state);
    return sum == hdr.checksum;
}

bool disk_kv_store::load_one_block(const load_block& b, kv_block_io& io,
                                   std::vector<uint8_t>& buf,
                                   std::vector<std::span<uint8_t>>& pieces) {
    // Direct: one copy, from the page cache into the cache's own memory. Bytes of a
    // block that then fails its checks stay there, but the block is reported invalid,
    // so the scheduler never caches it and recomputes those slots.
    if (host_block_pieces(io, b.block_id, opts_.num_layers, pieces))
        return read_block(b.hash, pieces);
    buf.resize(payload_bytes());
    const std::span<uint8_t> whole(buf);
    if (!read_block(b.hash, std::span<const std::span<uint8_t>>(&whole, 1))) return false;
    for (int64_t l = 0; l < opts_.num_layers; ++l)
        io.write_block_layer(l, b.block_id,
                             std::span<const uint8_t>(buf).subspan(
                                 static_cast<size_t>(l) * opts_.layer_bytes, opts_.layer_bytes));
    return true;
}

void disk_kv_store::load_async(std::string req_id, std::vector<load_block> blocks,
                               kv_block_io* io) {
    submit([this, id = std::move(req_id), blocks = std::move(blocks), io]() mutable {
        const auto t0 = std::chrono::steady_clock::now();
        load_result res;
        res.req_id = std::move(id);
        std::vector<uint8_t> buf;
        std::vector<std::span<uint8_t>> pieces;
        int64_t loaded = 0;
        size_t i = 0;
        for (; i < blocks.size(); ++i) {
            if (!load_one_block(blocks[i], *io, buf, pieces)) {
                // Corrupt, truncated or gone: a miss; the scheduler recomputes from here.
                std::error_code ec;
                fs::remove(path_of(blocks[i].hash), ec);
                std::lock_guard lock(mu_);
                ++stats_.load_errors;
                index_erase_locked(blocks[i].hash, false);
                break;
            }
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

#undef ACTORLM_XXH3_DISPATCH  // file-local (unity builds)
