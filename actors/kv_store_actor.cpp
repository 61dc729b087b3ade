// kv_store_actor implementation. Memory holds payloads in one LRU list ordered by
// use (save, load); a block evicted from memory moves to the disk tier of its size
// when there is one, else it is gone and subscribers hear so. Disk loads run on the
// tier's thread into a buffer this actor owns, polled every millisecond until done.
#include "actors/kv_store_actor.hpp"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <list>
#include <map>
#include <memory>
#include <span>
#include <unordered_map>

#include "kv/disk_kv_store.hpp"

namespace actorlm::actors {

namespace {

namespace fs = std::filesystem;

constexpr size_t k_max_blocks_per_request = 1 << 16;
constexpr auto k_disk_poll = std::chrono::milliseconds(1);
constexpr auto k_housekeeping = std::chrono::milliseconds(100);

/// A disk tier written as a single-"layer" cache of `bytes`-sized blocks: the
/// store treats payloads as opaque.
std::string disk_subdir(const std::string& root, int64_t bytes) {
    return (fs::path(root) / ("bytes-" + std::to_string(bytes))).string();
}

result<std::shared_ptr<kv::disk_kv_store>> open_disk(const kv_store_options& o, int64_t bytes) {
    kv::disk_kv_store::options d;
    d.dir = disk_subdir(o.disk_dir, bytes);
    d.capacity_bytes = o.disk_bytes;
    d.layer_bytes = static_cast<size_t>(bytes);
    d.num_layers = 1;
    return kv::disk_kv_store::open(d);
}

/// kv_block_io over a reply buffer: disk loads write block `i` at offset i * bytes.
class buffer_io final : public kv_block_io {
public:
    buffer_io(std::vector<char>* buf, size_t bytes) : buf_(buf), bytes_(bytes) {}
    int64_t num_kv_layers() const override { return 1; }
    int32_t num_kv_blocks() const override { return static_cast<int32_t>(buf_->size() / bytes_); }
    size_t block_layer_bytes() const override { return bytes_; }
    void read_block_layer(int64_t, int32_t block, std::span<uint8_t> dst) const override {
        std::memcpy(dst.data(), buf_->data() + static_cast<size_t>(block) * bytes_, bytes_);
    }
    void write_block_layer(int64_t, int32_t block, std::span<const uint8_t> src) override {
        std::memcpy(buf_->data() + static_cast<size_t>(block) * bytes_, src.data(), bytes_);
    }

private:
    std::vector<char>* buf_;
    size_t bytes_;
};

using load_promise = caf::typed_response_promise<std::vector<char>, int32_t>;

/// A load waiting for its disk blocks.
struct disk_load {
    load_promise promise;
    std::unique_ptr<std::vector<char>> buf;  // stable address for buffer_io
    std::unique_ptr<buffer_io> io;
    std::shared_ptr<kv::disk_kv_store> disk;
    int32_t count = 0;  // leading blocks held when asked (memory or disk)
    int64_t bytes = 0;
};

struct store_state {
    store_state() = default;  // not an aggregate: CAF probes State(self)

    struct entry {
        std::vector<char> payload;
        std::list<core::block_hash>::iterator lru;
    };
    struct subscriber {
        caf::actor handle;
        int64_t payload_bytes = 0;
    };

    kv_store_options opts;
    std::list<core::block_hash> lru;  // front = least recently used
    std::unordered_map<core::block_hash, entry, core::block_hash_hasher> memory;
    std::map<int64_t, std::shared_ptr<kv::disk_kv_store>> disks;  // by payload bytes
    std::vector<subscriber> subscribers;
    std::map<std::string, disk_load> disk_loads;
    uint64_t next_load = 0;
    bool polling = false;
    kv_store_stats stats;
    static inline const char* name = "actorlm.kv_store";

    /// The disk tier holding `h`, or null.
    kv::disk_kv_store* on_disk(const core::block_hash& h) const {
        for (const auto& [_, d] : disks)
            if (d->contains(h)) return d.get();
        return nullptr;
    }
    bool holds(const core::block_hash& h) const { return memory.count(h) || on_disk(h); }
};

using store_pointer = kv_store_actor::stateful_pointer<store_state>;

/// Sends each subscriber the events of its payload size.
void publish(store_pointer self, const std::map<int64_t, kv_store_event>& events) {
    for (const auto& s : self->state.subscribers) {
        auto it = events.find(s.payload_bytes);
        if (it != events.end()) caf::anon_send(s.handle, kvs_event_atom_v, it->second);
    }
}

kv_store_event& event_for(std::map<int64_t, kv_store_event>& events, int64_t bytes) {
    kv_store_event& e = events[bytes];
    e.payload_bytes = bytes;
    return e;
}

/// Drops (or demotes to disk) least recently used blocks until `need` more bytes fit.
void make_room(store_pointer self, int64_t need, std::map<int64_t, kv_store_event>& events) {
    auto& st = self->state;
    while (st.stats.memory_bytes + need > st.opts.memory_bytes && !st.lru.empty()) {
        const core::block_hash victim = st.lru.front();
        st.lru.pop_front();
        auto it = st.memory.find(victim);
        std::vector<char> payload = std::move(it->second.payload);
        st.memory.erase(it);
        const auto bytes = static_cast<int64_t>(payload.size());
        st.stats.memory_bytes -= bytes;
        st.stats.memory_blocks -= 1;
        st.stats.evictions += 1;
        if (!st.opts.disk_dir.empty()) {
            auto d = st.disks.find(bytes);
            if (d == st.disks.end()) {
                auto opened = open_disk(st.opts, bytes);
                if (opened) d = st.disks.emplace(bytes, *opened).first;
            }
            if (d != st.disks.end() && d->second->reserve_save(victim)) {
                // Still held: the disk tier reports it removed if that write fails.
                d->second->save_async(victim, std::vector<uint8_t>(payload.begin(), payload.end()));
                continue;
            }
            if (d != st.disks.end() && d->second->contains(victim)) continue;
        }
        event_for(events, bytes).removed.push_back(victim);
    }
}

/// Disk tiers' own changes: blocks they evicted or found corrupt are gone unless
/// memory holds them again. Also refreshes the disk gauges.
void drain_disk_events(store_pointer self) {
    auto& st = self->state;
    std::map<int64_t, kv_store_event> events;
    int64_t bytes = 0;
    int64_t blocks = 0;
    for (const auto& [size, d] : st.disks) {
        for (const auto& ev : d->take_events())
            if (ev.type == kv::kv_event::kind::block_removed)
                for (const auto& h : ev.block_hashes)
                    if (!st.memory.count(h)) event_for(events, size).removed.push_back(h);
        const auto s = d->stats();
        bytes += s.bytes_stored;
        blocks += s.blocks_stored;
    }
    st.stats.disk_bytes = bytes;
    st.stats.disk_blocks = blocks;
    if (!events.empty()) publish(self, events);
}

/// Answers the disk loads whose blocks arrived; keeps polling while any is left.
void poll_disk_loads(store_pointer self) {
    auto& st = self->state;
    for (const auto& [_, d] : st.disks)
        for (auto& r : d->take_finished_loads()) {
            auto it = st.disk_loads.find(r.req_id);
            if (it == st.disk_loads.end()) continue;
            disk_load& l = it->second;
            int32_t n = l.count;
            for (int32_t bad : r.invalid_block_ids) n = std::min(n, bad);
            l.buf->resize(static_cast<size_t>(n) * static_cast<size_t>(l.bytes));
            st.stats.hits += n;
            st.stats.misses += l.count - n;
            st.stats.bytes_loaded += static_cast<int64_t>(l.buf->size());
            l.promise.deliver(std::move(*l.buf), n);
            st.disk_loads.erase(it);
        }
    st.polling = !st.disk_loads.empty();
    if (st.polling) self->delayed_send(self, k_disk_poll, caf::tick_atom_v, false);
}

caf::result<std::vector<char>, int32_t> load(store_pointer self,
                                             const std::vector<core::block_hash>& hashes,
                                             int64_t bytes) {
    auto& st = self->state;
    if (bytes <= 0) {
        ++st.stats.rejected;
        return caf::make_error(kv_store_errc::bad_size, "payload bytes must be positive");
    }
    if (hashes.size() > k_max_blocks_per_request ||
        static_cast<int64_t>(hashes.size()) > st.opts.max_reply_bytes / bytes) {
        ++st.stats.rejected;
        return caf::make_error(kv_store_errc::too_large,
                               "a load of " + std::to_string(hashes.size()) + " blocks of " +
                                   std::to_string(bytes) + " bytes exceeds the reply limit");
    }
    ++st.stats.loads;
    // The leading blocks held with this size, memory first, then that disk tier.
    auto disk = st.disks.find(bytes);
    std::vector<kv::kv_block_store::load_block> from_disk;
    int32_t count = 0;
    for (const auto& h : hashes) {
        auto it = st.memory.find(h);
        if (it != st.memory.end()) {
            if (static_cast<int64_t>(it->second.payload.size()) != bytes) break;
        } else if (disk != st.disks.end() && disk->second->contains(h)) {
            from_disk.push_back({h, count});
        } else {
            break;
        }
        ++count;
    }
    std::vector<char> out(static_cast<size_t>(count) * static_cast<size_t>(bytes));
    for (int32_t i = 0; i < count; ++i) {
        auto it = st.memory.find(hashes[static_cast<size_t>(i)]);
        if (it == st.memory.end()) continue;
        std::memcpy(out.data() + static_cast<size_t>(i) * static_cast<size_t>(bytes),
                    it->second.payload.data(), static_cast<size_t>(bytes));
        st.lru.splice(st.lru.end(), st.lru, it->second.lru);  // most recently used
    }
    if (from_disk.empty()) {
        st.stats.hits += count;
        st.stats.misses += static_cast<int64_t>(hashes.size()) - count;
        st.stats.bytes_loaded += static_cast<int64_t>(out.size());
        return caf::result<std::vector<char>, int32_t>(std::move(out), count);
    }
    st.stats.misses += static_cast<int64_t>(hashes.size()) - count;
    const std::string id = "load-" + std::to_string(st.next_load++);
    disk_load& l = st.disk_loads[id];
    l.promise = self->make_response_promise<std::vector<char>, int32_t>();
    l.buf = std::make_unique<std::vector<char>>(std::move(out));
    l.io = std::make_unique<buffer_io>(l.buf.get(), static_cast<size_t>(bytes));
    l.disk = disk->second;
    l.count = count;
    l.bytes = bytes;
    l.disk->load_async(id, std::move(from_disk), l.io.get());
    if (!st.polling) {
        st.polling = true;
        self->delayed_send(self, k_disk_poll, caf::tick_atom_v, false);
    }
    return l.promise;
}

caf::result<bool> save(store_pointer self, const core::block_hash& h, int64_t declared,
                       std::vector<char>& payload) {
    auto& st = self->state;
    if (declared <= 0 || static_cast<int64_t>(payload.size()) != declared) {
        ++st.stats.rejected;
        return caf::make_error(kv_store_errc::bad_size, "declared " + std::to_string(declared) +
                                                            " payload bytes, sent " +
                                                            std::to_string(payload.size()));
    }
    if (declared > st.opts.memory_bytes) {
        ++st.stats.rejected;
        return caf::make_error(kv_store_errc::too_large,
                               "a block of " + std::to_string(declared) +
                                   " bytes exceeds the store's memory of " +
                                   std::to_string(st.opts.memory_bytes));
    }
    if (auto it = st.memory.find(h); it != st.memory.end()) {
        st.lru.splice(st.lru.end(), st.lru, it->second.lru);
        return true;
    }
    if (st.on_disk(h)) return true;  // concurrent engines saving one block: kept once
    std::map<int64_t, kv_store_event> events;
    make_room(self, declared, events);
    st.lru.push_back(h);
    st.memory[h] = store_state::entry{std::move(payload), std::prev(st.lru.end())};
    st.stats.memory_bytes += declared;
    st.stats.memory_blocks += 1;
    st.stats.saves += 1;
    st.stats.bytes_saved += declared;
    event_for(events, declared).stored.push_back(h);
    publish(self, events);
    return true;
}

std::vector<core::block_hash> subscribe(store_pointer self, int64_t bytes) {
    auto& st = self->state;
    auto sender = caf::actor_cast<caf::actor>(self->current_sender());
    std::vector<core::block_hash> held;
    if (!sender) return held;
    auto it = std::find_if(st.subscribers.begin(), st.subscribers.end(),
                           [&](const auto& s) { return s.handle == sender; });
    if (it == st.subscribers.end()) {
        self->monitor(sender);
        st.subscribers.push_back({sender, bytes});
    } else {
        it->payload_bytes = bytes;
    }
    st.stats.subscribers = static_cast<int64_t>(st.subscribers.size());
    for (const auto& [h, e] : st.memory)
        if (static_cast<int64_t>(e.payload.size()) == bytes) held.push_back(h);
    if (auto d = st.disks.find(bytes); d != st.disks.end())
        for (const auto& h : d->second->hashes())
            if (!st.memory.count(h)) held.push_back(h);
    return held;
}

kv_store_actor::behavior_type store_impl(store_pointer self, kv_store_options opts,
                                         std::map<int64_t, std::shared_ptr<kv::disk_kv_store>> d) {
    auto& st = self->state;
    st.opts = std::move(opts);
    st.disks = std::move(d);
    st.stats.memory_capacity_bytes = st.opts.memory_bytes;
    st.stats.disk_capacity_bytes = st.opts.disk_dir.empty() ? 0 : st.opts.disk_bytes;
    self->set_down_handler([self](caf::down_msg& m) {
        auto& subs = self->state.subscribers;
        subs.erase(std::remove_if(subs.begin(), subs.end(),
                                  [&](const auto& s) { return s.handle.address() == m.source; }),
                   subs.end());
        self->state.stats.subscribers = static_cast<int64_t>(subs.size());
    });
    // Unmatched messages (an older client, a stray sender) get an error, never a crash.
    self->set_default_handler(
        [self](caf::scheduled_actor*, caf::message_view&) -> caf::result<caf::message> {
            ++self->state.stats.rejected;
            return caf::sec::unexpected_message;
        });
    if (!st.opts.disk_dir.empty()) {
        drain_disk_events(self);
        self->delayed_send(self, k_housekeeping, caf::tick_atom_v, true);
    }
    return {
        [self](kvs_lookup_atom, const std::vector<core::block_hash>& hashes) -> int32_t {
            auto& s = self->state;
            ++s.stats.lookups;
            int32_t n = 0;
            for (const auto& h : hashes) {
                if (!s.holds(h)) break;
                ++n;
            }
            return n;
        },
        [self](kvs_load_atom, const std::vector<core::block_hash>& hashes, int64_t bytes) {
            return load(self, hashes, bytes);
        },
        [self](kvs_save_atom, const core::block_hash& h, int64_t declared,
               std::vector<char>& payload) { return save(self, h, declared, payload); },
        [self](stats_atom) {
            if (!self->state.disks.empty()) drain_disk_events(self);
            return self->state.stats;
        },
        [self](kvs_subscribe_atom, int64_t bytes) { return subscribe(self, bytes); },
        [self](caf::tick_atom, bool housekeeping) {
            if (!housekeeping) return poll_disk_loads(self);
            drain_disk_events(self);
            self->delayed_send(self, k_housekeeping, caf::tick_atom_v, true);
        },
    };
}

}  // namespace

result<kv_store_actor> spawn_kv_store(caf::actor_system& sys, const kv_store_options& opts) {
    if (opts.memory_bytes <= 0) return make_error("kv-store: memory capacity must be positive");
    std::map<int64_t, std::shared_ptr<kv::disk_kv_store>> disks;
    if (!opts.disk_dir.empty()) {
        if (opts.disk_bytes <= 0) return make_error("kv-store: disk capacity must be positive");
        std::error_code ec;
        fs::create_directories(opts.disk_dir, ec);
        if (ec || !fs::is_directory(opts.disk_dir, ec))
            return make_error("kv-store: cannot use disk directory '%s': %s", opts.disk_dir.c_str(),
                              ec ? ec.message().c_str() : "not a directory");
        for (const auto& ent : fs::directory_iterator(opts.disk_dir, ec)) {
            const std::string name = ent.path().filename().string();
            if (!ent.is_directory() || name.rfind("bytes-", 0) != 0) continue;
            char* end = nullptr;
            const long long bytes = std::strtoll(name.c_str() + 6, &end, 10);
            if (*end != '\0' || bytes <= 0) continue;
            auto d = open_disk(opts, bytes);
            if (!d) return d.err();
            disks.emplace(bytes, *d);
        }
    }
    return sys.spawn(store_impl, opts, std::move(disks));
}

}  // namespace actorlm::actors
