// tiered_kv_store implementation. A request's load becomes one sub-load per run of
// consecutive blocks that one tier serves (sub-request ids are unique per store);
// take_finished_loads() joins them back in chain order. Promotion rides on the slower
// tier's copy: its kv_block_io is wrapped (promoting_io) so each block's layers are
// also gathered on the host and, once complete, saved into the faster tiers.
#include "kv/tiered_kv_store.hpp"

#include <algorithm>
#include <cstring>

namespace actorlm::kv {

/// The kv_block_io a slower tier loads through: writes go to the real cache and are
/// gathered per block; a complete block that the cache accepted is saved into every
/// faster tier that lacks it. Called only on the slower tier's I/O thread.
class tiered_kv_store::promoting_io final : public kv_block_io {
public:
    promoting_io(kv_block_io* target, std::vector<std::shared_ptr<kv_block_store>> faster,
                 const std::vector<load_block>& blocks, size_t payload_bytes)
        : target_(target), faster_(std::move(faster)), payload_bytes_(payload_bytes) {
        for (const auto& b : blocks) gathering_[b.block_id].hash = b.hash;
    }

    int64_t num_kv_layers() const override { return target_->num_kv_layers(); }
    int32_t num_kv_blocks() const override { return target_->num_kv_blocks(); }
    size_t block_layer_bytes() const override { return target_->block_layer_bytes(); }
    void read_block_layer(int64_t layer, int32_t block, std::span<uint8_t> dst) const override {
        target_->read_block_layer(layer, block, dst);
    }
    void write_block_layer(int64_t layer, int32_t block, std::span<const uint8_t> src) override {
        target_->write_block_layer(layer, block, src);
        auto it = gathering_.find(block);
        if (it == gathering_.end()) return;
        gathered& g = it->second;
        g.payload.resize(payload_bytes_);
        std::memcpy(g.payload.data() + static_cast<size_t>(layer) * src.size(), src.data(),
                    src.size());
        if (++g.num_layers < num_kv_layers()) return;
        if (target_->io_error().ok())
            for (size_t t = 0; t < faster_.size(); ++t)
                if (faster_[t]->reserve_save(g.hash))
                    faster_[t]->save_async(
                        g.hash, t + 1 < faster_.size() ? g.payload : std::move(g.payload));
        gathering_.erase(it);
    }
    status io_error() const override { return target_->io_error(); }

private:
    struct gathered {
        core::block_hash hash;
        std::vector<uint8_t> payload;
        int64_t num_layers = 0;
    };
    kv_block_io* target_;
    std::vector<std::shared_ptr<kv_block_store>> faster_;
    size_t payload_bytes_;
    std::unordered_map<int32_t, gathered> gathering_;
};

result<std::shared_ptr<tiered_kv_store>> tiered_kv_store::create(
    std::vector<std::shared_ptr<kv_block_store>> tiers) {
    if (tiers.empty() || tiers.size() > 32)
        return make_error("tiered KV store: needs 1 to 32 tiers, got %zu", tiers.size());
    for (const auto& t : tiers) {
        if (!t) return make_error("tiered KV store: a tier is missing");
        if (t->payload_bytes() != tiers.front()->payload_bytes())
            return make_error("tiered KV store: tiers hold blocks of %zu and %zu bytes",
                              tiers.front()->payload_bytes(), t->payload_bytes());
    }
    return std::shared_ptr<tiered_kv_store>(new tiered_kv_store(std::move(tiers)));
}

tiered_kv_store::tiered_kv_store(std::vector<std::shared_ptr<kv_block_store>> tiers)
    : tiers_(std::move(tiers)) {}

tiered_kv_store::~tiered_kv_store() {
    // Queued loads write through promoting_io objects that parts_ owns.
    flush();
}

bool tiered_kv_store::contains(const core::block_hash& h) const {
    return std::any_of(tiers_.begin(), tiers_.end(), [&](const auto& t) { return t->contains(h); });
}

bool tiered_kv_store::reserve_save(const core::block_hash& h) {
    uint32_t bits = 0;
    for (size_t t = 0; t < tiers_.size(); ++t)
        if (tiers_[t]->reserve_save(h)) bits |= 1u << t;
    if (bits == 0) return false;
    std::lock_guard lock(mu_);
    reserved_[h] |= bits;
    return true;
}

void tiered_kv_store::cancel_save(const core::block_hash& h) {
    uint32_t bits = 0;
    {
        std::lock_guard lock(mu_);
        auto it = reserved_.find(h);
        if (it == reserved_.end()) return;
        bits = it->second;
        reserved_.erase(it);
    }
    for (size_t t = 0; t < tiers_.size(); ++t)
        if (bits & (1u << t)) tiers_[t]->cancel_save(h);
}

void tiered_kv_store::save_async(const core::block_hash& h, std::vector<uint8_t> payload) {
    uint32_t bits = 0;
    {
        std::lock_guard lock(mu_);
        auto it = reserved_.find(h);
        if (it == reserved_.end()) return;  // not reserved here: nothing to write
        bits = it->second;
        reserved_.erase(it);
    }
    size_t last = 0;
    for (size_t t = 0; t < tiers_.size(); ++t)
        if (bits & (1u << t)) last = t;
    for (size_t t = 0; t < tiers_.size(); ++t)
        if (bits & (1u << t)) tiers_[t]->save_async(h, t == last ? std::move(payload) : payload);
}

void tiered_kv_store::load_async(std::string req_id, std::vector<load_block> blocks,
                                 kv_block_io* io) {
    // Each block from the fastest tier holding it; one that none holds (gone since
    // the lookup) goes to the fastest tier, which reports it as a failed block.
    struct run {
        size_t tier, first, count;
    };
    std::vector<run> runs;
    for (size_t i = 0; i < blocks.size(); ++i) {
        size_t tier = 0;
        for (size_t t = 0; t < tiers_.size(); ++t)
            if (tiers_[t]->contains(blocks[i].hash)) {
                tier = t;
                break;
            }
        if (!runs.empty() && runs.back().tier == tier)
            ++runs.back().count;
        else
            runs.push_back({tier, i, 1});
    }
    struct issue {
        size_t tier;
        std::string sub_id;
        std::vector<load_block> blocks;
        kv_block_io* io;
    };
    std::vector<issue> issues;
    {
        std::lock_guard lock(mu_);
        pending_load& p = pending_[req_id];
        p.blocks = blocks;
        p.parts_left = static_cast<int32_t>(runs.size());
        p.first_invalid = blocks.size();
        if (runs.empty()) {  // nothing to load: done at once
            finished_.push_back({req_id, {}});
            pending_.erase(req_id);
            return;
        }
        for (const run& r : runs) {
            std::vector<load_block> sub(
                blocks.begin() + static_cast<std::ptrdiff_t>(r.first),
                blocks.begin() + static_cast<std::ptrdiff_t>(r.first + r.count));
            part pt;
            pt.req_id = req_id;
            pt.first = r.first;
            kv_block_io* sub_io = io;
            if (r.tier > 0) {
                pt.io = std::make_unique<promoting_io>(
                    io,
                    std::vector<std::shared_ptr<kv_block_store>>(
                        tiers_.begin(), tiers_.begin() + static_cast<std::ptrdiff_t>(r.tier)),
                    sub, payload_bytes());
                sub_io = pt.io.get();
            }
            // \x1f cannot clash with the next part's counter; ids stay unique per store.
            std::string sub_id = req_id + '\x1f' + std::to_string(next_part_++);
            parts_.emplace(sub_id, std::move(pt));
            issues.push_back({r.tier, std::move(sub_id), std::move(sub), sub_io});
        }
    }
    // Registered first: a tier may finish a part before the next one is issued. Fastest
    // tier first: it holds its blocks for the load before a slower tier's promotions
    // into it can evict them.
    std::stable_sort(issues.begin(), issues.end(),
                     [](const issue& a, const issue& b) { return a.tier < b.tier; });
    for (auto& is : issues)
        tiers_[is.tier]->load_async(std::move(is.sub_id), std::move(is.blocks), is.io);
}

std::vector<tiered_kv_store::load_result> tiered_kv_store::take_finished_loads() {
    std::vector<std::vector<load_result>> per_tier;
    for (const auto& t : tiers_) per_tier.push_back(t->take_finished_loads());
    std::lock_guard lock(mu_);
    for (auto& results : per_tier)
        for (auto& r : results) {
            auto it = parts_.find(r.req_id);
            if (it == parts_.end()) continue;  // every load of a tier is ours: cannot happen
            part pt = std::move(it->second);
            parts_.erase(it);
            pending_load& p = pending_[pt.req_id];
            if (!r.invalid_block_ids.empty()) {
                // The part's blocks are a slice of the chain: its first failed one.
                for (size_t k = pt.first; k < p.blocks.size(); ++k)
                    if (p.blocks[k].block_id == r.invalid_block_ids.front()) {
                        p.first_invalid = std::min(p.first_invalid, k);
                        break;
                    }
            }
            if (--p.parts_left > 0) continue;
            load_result done;
            done.req_id = pt.req_id;
            for (size_t k = p.first_invalid; k < p.blocks.size(); ++k)
                done.invalid_block_ids.push_back(p.blocks[k].block_id);
            finished_.push_back(std::move(done));
            pending_.erase(pt.req_id);
        }
    return std::exchange(finished_, {});
}

void tiered_kv_store::flush() {
    for (size_t t = tiers_.size(); t-- > 0;) tiers_[t]->flush();
}

kv_connector_stats tiered_kv_store::stats() const {
    kv_connector_stats s;
    for (const auto& t : tiers_) {
        const kv_connector_stats x = t->stats();
        s.queries += x.queries;
        s.hits += x.hits;
        s.blocks_loaded += x.blocks_loaded;
        s.bytes_loaded += x.bytes_loaded;
        s.blocks_saved += x.blocks_saved;
        s.bytes_saved += x.bytes_saved;
        s.load_errors += x.load_errors;
        s.save_errors += x.save_errors;
        s.saves_skipped += x.saves_skipped;
        s.evictions += x.evictions;
        s.blocks_stored += x.blocks_stored;
        s.bytes_stored += x.bytes_stored;
        s.load_seconds += x.load_seconds;
        s.save_seconds += x.save_seconds;
    }
    return s;
}

std::vector<kv_connector_stats> tiered_kv_store::tier_stats() const {
    std::vector<kv_connector_stats> out;
    for (const auto& t : tiers_) out.push_back(t->stats());
    return out;
}

std::vector<kv_event> tiered_kv_store::take_events() {
    std::vector<kv_event> out;
    for (const auto& t : tiers_) {
        auto e = t->take_events();
        out.insert(out.end(), std::make_move_iterator(e.begin()), std::make_move_iterator(e.end()));
    }
    return out;
}

}  // namespace actorlm::kv
