// offloading_connector implementation: the two sides share one kv_block_store;
// the metadata of a step lists the (hash, block) pairs to load per request and
// to save. Block tables are tracked from the scheduler_output deltas, as the
// worker's model_runner tracks them.
#include "kv/offloading_connector.hpp"

#include <algorithm>
#include <filesystem>
#include <unordered_map>

#include "core/request.hpp"
#include "core/scheduler_output.hpp"
#include "kv/disk_kv_store.hpp"
#include "kv/memory_kv_store.hpp"
#include "kv/tiered_kv_store.hpp"

namespace actorlm::kv {
namespace {

struct offload_metadata final : kv_connector_metadata {
    struct load {
        std::string req_id;
        std::vector<kv_block_store::load_block> blocks;
    };
    std::vector<load> loads;
    std::vector<kv_block_store::load_block> saves;
};

class offloading_scheduler final : public kv_connector_scheduler {
public:
    offloading_scheduler(std::shared_ptr<kv_block_store> store, int32_t block_size,
                         kv_transfer_config cfg)
        : store_(std::move(store)), block_size_(block_size), cfg_(std::move(cfg)) {}

    match get_num_new_matched_tokens(const core::request& req,
                                     int32_t num_computed_tokens) override {
        match m;
        // Prompt logprobs need every prompt position computed, as for the device cache.
        if (!cfg_.can_load() || req.params().prompt_logprobs >= 0) return m;
        const auto& hashes = req.block_hashes();
        const int32_t first = num_computed_tokens / block_size_;
        const int32_t limit = std::min<int32_t>((req.num_tokens() - 1) / block_size_,
                                                static_cast<int32_t>(hashes.size()));
        int32_t n = 0;
        for (int32_t b = first; b < limit; ++b, ++n)
            if (!store_->contains(hashes[static_cast<size_t>(b)])) break;
        m.num_tokens = n * block_size_;
        m.load_async = n > 0;
        return m;
    }

    void update_state_after_alloc(const core::request& req, std::span<const int32_t> block_ids,
                                  int32_t num_external_tokens) override {
        tracked& t = requests_[req.id()];
        t.req = &req;
        t.block_ids.assign(block_ids.begin(), block_ids.end());
        t.num_saved_blocks = 0;
        queries_ += req.num_tokens();
        hits_ += num_external_tokens;
        if (num_external_tokens <= 0) return;
        const int32_t first = req.num_computed_tokens / block_size_;
        const int32_t n = num_external_tokens / block_size_;
        offload_metadata::load l;
        l.req_id = req.id();
        for (int32_t b = first; b < first + n; ++b)
            l.blocks.push_back(
                {req.block_hashes()[static_cast<size_t>(b)], block_ids[static_cast<size_t>(b)]});
        pending_loads_.push_back(std::move(l));
    }

    std::shared_ptr<const kv_connector_metadata> build_connector_meta(
        const core::scheduler_output& so) override {
        auto meta = std::make_shared<offload_metadata>();
        meta->loads = std::exchange(pending_loads_, {});
        auto plan_saves = [&](const std::string& id, int32_t end_tokens) {
            auto it = requests_.find(id);
            if (it == requests_.end() || !cfg_.can_save()) return;
            tracked& t = it->second;
            const auto& hashes = t.req->block_hashes();
            const int32_t full =
                std::min<int32_t>({end_tokens / block_size_, static_cast<int32_t>(hashes.size()),
                                   static_cast<int32_t>(t.block_ids.size())});
            for (int32_t b = t.num_saved_blocks; b < full; ++b)
                if (store_->reserve_save(hashes[static_cast<size_t>(b)]))
                    meta->saves.push_back(
                        {hashes[static_cast<size_t>(b)], t.block_ids[static_cast<size_t>(b)]});
            t.num_saved_blocks = std::max(t.num_saved_blocks, full);
        };
        for (const auto& n : so.scheduled_new_reqs) {
            auto it = requests_.find(n.req_id);
            if (it != requests_.end()) it->second.block_ids = n.block_ids;
            plan_saves(n.req_id, n.num_computed_tokens + n.num_scheduled_tokens);
        }
        for (const auto& c : so.scheduled_cached_reqs) {
            auto it = requests_.find(c.req_id);
            if (it == requests_.end()) continue;
            if (c.resumed_from_preemption)
                it->second.block_ids = c.new_block_ids;
            else
                it->second.block_ids.insert(it->second.block_ids.end(), c.new_block_ids.begin(),
                                            c.new_block_ids.end());
            plan_saves(c.req_id, c.num_computed_tokens + c.num_scheduled_tokens);
        }
        if (meta->loads.empty() && meta->saves.empty()) return nullptr;
        return meta;
    }

    finished_request request_finished(const core::request& req,
                                      std::span<const int32_t>) override {
        requests_.erase(req.id());
        return {};  // saves copy the bytes within the step: freeing never waits
    }

    std::vector<kv_event> take_events() override { return store_->take_events(); }

    kv_connector_stats stats() const override {
        kv_connector_stats s = store_->stats();
        s.queries = queries_;
        s.hits = hits_;
        return s;
    }

private:
    struct tracked {
        const core::request* req = nullptr;
        std::vector<int32_t> block_ids;
        int32_t num_saved_blocks = 0;  // leading blocks already considered for saving
    };

    std::shared_ptr<kv_block_store> store_;
    int32_t block_size_;
    kv_transfer_config cfg_;
    std::unordered_map<std::string, tracked> requests_;
    std::vector<offload_metadata::load> pending_loads_;
    int64_t queries_ = 0;
    int64_t hits_ = 0;
};

class offloading_worker final : public kv_connector_worker {
public:
    explicit offloading_worker(std::shared_ptr<kv_block_store> store) : store_(std::move(store)) {}

    status register_kv_caches(kv_block_io& caches) override {
        if (caches.block_layer_bytes() * static_cast<size_t>(caches.num_kv_layers()) !=
            store_->payload_bytes())
            return make_error(
                "KV tier: block size mismatch (%zu bytes per block, the tier "
                "holds %zu)",
                caches.block_layer_bytes() * static_cast<size_t>(caches.num_kv_layers()),
                store_->payload_bytes());
        io_ = &caches;
        return {};
    }

    void start_load_kv() override {
        const auto* m = meta();
        if (!m) return;
        for (const auto& l : m->loads) store_->load_async(l.req_id, l.blocks, io_);
    }

    // Loads are asynchronous into blocks no scheduled request reads: nothing to wait for.
    void wait_for_layer_load(int64_t) override {}

    void save_kv_layer(int64_t layer) override {
        const auto* m = meta();
        if (!m || m->saves.empty()) return;
        const size_t lb = io_->block_layer_bytes();
        staged_.resize(m->saves.size());
        for (size_t i = 0; i < m->saves.size(); ++i) {
            staged_[i].resize(store_->payload_bytes());
            io_->read_block_layer(
                layer, m->saves[i].block_id,
                std::span<uint8_t>(staged_[i]).subspan(static_cast<size_t>(layer) * lb, lb));
        }
    }

    void wait_for_save() override {
        const auto* m = meta();
        if (!m) return;
        // A failed device copy leaves unknown bytes in staged_: they must never be stored.
        if (!io_->io_error().ok()) return;  // clear_connector_metadata cancels the reservations
        for (size_t i = 0; i < m->saves.size() && i < staged_.size(); ++i)
            store_->save_async(m->saves[i].hash, std::move(staged_[i]));
        staged_.clear();
        saves_submitted_ = true;
    }

    void clear_connector_metadata() override {
        // A step that failed before saving: release the reservations it made.
        if (const auto* m = meta(); m && !saves_submitted_)
            for (const auto& sv : m->saves) store_->cancel_save(sv.hash);
        staged_.clear();
        saves_submitted_ = false;
        meta_.reset();
    }

    void shutdown() override { store_->flush(); }

    kv_connector_output get_finished(std::span<const std::string>) override {
        kv_connector_output out;
        for (auto& r : store_->take_finished_loads()) {
            out.finished_recving.push_back(std::move(r.req_id));
            out.invalid_block_ids.insert(out.invalid_block_ids.end(), r.invalid_block_ids.begin(),
                                         r.invalid_block_ids.end());
        }
        return out;
    }

private:
    const offload_metadata* meta() const {
        return static_cast<const offload_metadata*>(meta_.get());
    }

    std::shared_ptr<kv_block_store> store_;
    kv_block_io* io_ = nullptr;
    std::vector<std::vector<uint8_t>> staged_;
    bool saves_submitted_ = false;
};

}  // namespace

std::vector<std::string> offloading_connector_extra_keys() {
    return {"cpu_bytes_to_use", "disk_path", "disk_capacity_bytes"};
}

namespace {

/// A positive size from `key` of the extra config, `fallback` when absent.
result<int64_t> extra_size(const kv_transfer_config& cfg, const char* key, int64_t fallback) {
    auto it = cfg.extra.find(key);
    if (it == cfg.extra.end()) return fallback;
    auto n = parse_byte_size(key, it->second);
    if (!n) return n.err();
    if (*n <= 0) return make_error("kv_transfer_config: '%s' must be positive", key);
    return *n;
}

result<std::shared_ptr<kv_block_store>> open_disk_tier(const kv_transfer_config& cfg,
                                                       const kv_connector_context& ctx) {
    disk_kv_store::options o;
    o.dir = cfg.extra.at("disk_path");
    auto cap = extra_size(cfg, "disk_capacity_bytes", int64_t{1} << 30);
    if (!cap) return cap.err();
    o.capacity_bytes = *cap;
    o.layer_bytes = ctx.block_layer_bytes;
    o.num_layers = ctx.num_layers;
    // One subdirectory per block shape: engines with other shapes share disk_path
    // without ever seeing (or deleting as truncated) each other's files. Equal
    // shapes of different models are kept apart by the hashes' model root.
    o.dir = (std::filesystem::path(o.dir) /
             ("blocks-" + std::to_string(o.num_layers) + "x" + std::to_string(o.layer_bytes)))
                .string();
    auto store = disk_kv_store::open(o);
    if (!store) return store.err();
    return std::shared_ptr<kv_block_store>(std::move(*store));
}

}  // namespace

result<kv_connector_pair> make_offloading_connector(const kv_transfer_config& cfg,
                                                    const kv_connector_context& ctx) {
    auto has = [&](const char* key) {
        auto it = cfg.extra.find(key);
        return it != cfg.extra.end();
    };
    if (has("disk_path") && cfg.extra.at("disk_path").empty())
        return make_error("kv_transfer_config: 'disk_path' is empty");
    if (!has("cpu_bytes_to_use") && !has("disk_path"))
        return make_error(
            "kv_transfer_config: OffloadingConnector needs kv_connector_extra_config "
            "'cpu_bytes_to_use' (host-memory tier), 'disk_path' (disk tier), or both");
    if (has("disk_capacity_bytes") && !has("disk_path"))
        return make_error(
            "kv_transfer_config: 'disk_capacity_bytes' sizes the disk tier, which needs "
            "'disk_path'");
    // Fastest first: host memory in front of disk.
    std::vector<std::shared_ptr<kv_block_store>> tiers;
    if (has("cpu_bytes_to_use")) {
        auto bytes = extra_size(cfg, "cpu_bytes_to_use", 0);
        if (!bytes) return bytes.err();
        memory_kv_store::options o;
        o.capacity_bytes = *bytes;
        o.layer_bytes = ctx.block_layer_bytes;
        o.num_layers = ctx.num_layers;
        auto mem = memory_kv_store::create(o);
        if (!mem) return mem.err();
        tiers.push_back(std::move(*mem));
    }
    if (has("disk_path")) {
        auto disk = open_disk_tier(cfg, ctx);
        if (!disk) return disk.err();
        tiers.push_back(std::move(*disk));
    }
    if (tiers.size() == 1) return make_offloading_connector_over(tiers[0], cfg, ctx.block_size);
    auto tiered = tiered_kv_store::create(std::move(tiers));
    if (!tiered) return tiered.err();
    return make_offloading_connector_over(*tiered, cfg, ctx.block_size);
}

kv_connector_pair make_offloading_connector_over(std::shared_ptr<kv_block_store> store,
                                                 const kv_transfer_config& cfg,
                                                 int32_t block_size) {
    kv_connector_pair p;
    p.scheduler = std::make_unique<offloading_scheduler>(store, block_size, cfg);
    p.worker = std::make_unique<offloading_worker>(std::move(store));
    return p;
}

}  // namespace actorlm::kv
