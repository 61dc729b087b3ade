// multi_connector implementation. The scheduler side remembers which connector
// loads each request and, when more than one connector delays a finished
// request's free, how many extra save completions to wait for; that count rides
// to the worker side in the step's metadata (as in vLLM), which reports the
// request in finished_sending only after the last of them.
#include "kv/multi_connector.hpp"

#include <algorithm>
#include <unordered_map>

#include "core/request.hpp"

namespace actorlm::kv {
namespace {

struct multi_metadata final : kv_connector_metadata {
    std::vector<std::shared_ptr<const kv_connector_metadata>> parts;  // one per connector
    std::vector<std::pair<std::string, int32_t>> extra_async_saves;   // request, count
};

class multi_scheduler final : public kv_connector_scheduler {
public:
    explicit multi_scheduler(std::vector<std::unique_ptr<kv_connector_scheduler>> subs)
        : subs_(std::move(subs)) {}

    match get_num_new_matched_tokens(const core::request& req,
                                     int32_t num_computed_tokens) override {
        match chosen;
        loader_.erase(req.id());
        // Every connector is asked (each counts its queries); the first with a hit loads.
        for (size_t i = 0; i < subs_.size(); ++i) {
            match m = subs_[i]->get_num_new_matched_tokens(req, num_computed_tokens);
            if (chosen.num_tokens == 0 && m.num_tokens > 0) {
                chosen = m;
                loader_[req.id()] = i;
            }
        }
        return chosen;
    }

    void update_state_after_alloc(const core::request& req, std::span<const int32_t> block_ids,
                                  int32_t num_external_tokens) override {
        auto it = loader_.find(req.id());
        // The others learn the block table too (they save from it) but load nothing.
        for (size_t i = 0; i < subs_.size(); ++i) {
            const bool loads = it != loader_.end() && it->second == i;
            subs_[i]->update_state_after_alloc(req, block_ids, loads ? num_external_tokens : 0);
        }
    }

    std::shared_ptr<const kv_connector_metadata> build_connector_meta(
        const core::scheduler_output& so) override {
        auto meta = std::make_shared<multi_metadata>();
        bool any = !pending_extra_saves_.empty();
        for (auto& s : subs_) {
            meta->parts.push_back(s->build_connector_meta(so));
            any = any || meta->parts.back() != nullptr;
        }
        meta->extra_async_saves = std::exchange(pending_extra_saves_, {});
        if (!any) return nullptr;
        return meta;
    }

    void update_connector_output(const kv_connector_output& out) override {
        for (auto& s : subs_) s->update_connector_output(out);
    }

    finished_request request_finished(const core::request& req,
                                      std::span<const int32_t> block_ids) override {
        loader_.erase(req.id());
        int32_t delaying = 0;
        finished_request out;
        for (auto& s : subs_) {
            finished_request f = s->request_finished(req, block_ids);
            delaying += f.delay_free_blocks ? 1 : 0;
            // One connector hands the KV to another engine (the first that offers).
            if (!out.kv_transfer_params) out.kv_transfer_params = std::move(f.kv_transfer_params);
        }
        if (delaying > 1) pending_extra_saves_.emplace_back(req.id(), delaying - 1);
        out.delay_free_blocks = delaying > 0;
        return out;
    }

    std::optional<actorlm::kv_transfer_params> offer_snapshot(
        const core::request& req, std::span<const int32_t> block_ids,
        const std::string& ticket) override {
        for (auto& s : subs_)  // the first that serves pulls; one ticket, one release
            if (auto p = s->offer_snapshot(req, block_ids, ticket)) return p;
        return std::nullopt;
    }

    std::vector<kv_event> take_events() override {
        std::vector<kv_event> all;
        for (auto& s : subs_) {
            auto ev = s->take_events();
            all.insert(all.end(), std::make_move_iterator(ev.begin()),
                       std::make_move_iterator(ev.end()));
        }
        return all;
    }

    kv_connector_stats stats() const override {
        kv_connector_stats t;
        for (const auto& s : subs_) {
            const kv_connector_stats k = s->stats();
            t.queries = std::max(t.queries, k.queries);  // the same tokens, asked of each
            t.hits += k.hits;                            // only the chosen one loads
            t.blocks_loaded += k.blocks_loaded;
            t.bytes_loaded += k.bytes_loaded;
            t.blocks_saved += k.blocks_saved;
            t.blocks_streamed += k.blocks_streamed;
            t.bytes_saved += k.bytes_saved;
            t.load_errors += k.load_errors;
            t.save_errors += k.save_errors;
            t.saves_skipped += k.saves_skipped;
            t.evictions += k.evictions;
            t.blocks_stored += k.blocks_stored;
            t.bytes_stored += k.bytes_stored;
            t.load_seconds += k.load_seconds;
            t.save_seconds += k.save_seconds;
        }
        return t;
    }

private:
    std::vector<std::unique_ptr<kv_connector_scheduler>> subs_;
    std::unordered_map<std::string, size_t> loader_;  // request -> the connector it loads from
    std::vector<std::pair<std::string, int32_t>> pending_extra_saves_;
};

class multi_worker final : public kv_connector_worker {
public:
    explicit multi_worker(std::vector<std::unique_ptr<kv_connector_worker>> subs)
        : subs_(std::move(subs)) {}

    status register_kv_caches(kv_block_io& caches) override {
        for (auto& s : subs_) ACTORLM_TRY(s->register_kv_caches(caches));
        return {};
    }

    void bind_connector_metadata(std::shared_ptr<const kv_connector_metadata> meta) override {
        meta_ = meta;
        const auto* m = static_cast<const multi_metadata*>(meta.get());
        if (m)
            for (const auto& [id, n] : m->extra_async_saves) extra_saves_[id] += n;
        for (size_t i = 0; i < subs_.size(); ++i)
            subs_[i]->bind_connector_metadata(m && i < m->parts.size() ? m->parts[i] : nullptr);
    }

    void clear_connector_metadata() override {
        for (auto& s : subs_) s->clear_connector_metadata();
        meta_.reset();
    }

    void start_load_kv() override {
        for (auto& s : subs_) s->start_load_kv();
    }
    void wait_for_layer_load(int64_t layer) override {
        for (auto& s : subs_) s->wait_for_layer_load(layer);
    }
    void save_kv_layer(int64_t layer) override {
        for (auto& s : subs_) s->save_kv_layer(layer);
    }
    void wait_for_save() override {
        for (auto& s : subs_) s->wait_for_save();
    }
    void shutdown() override {
        for (auto& s : subs_) s->shutdown();
    }

    kv_connector_output get_finished(std::span<const std::string> finished_req_ids) override {
        kv_connector_output out;
        for (auto& s : subs_) {
            kv_connector_output o = s->get_finished(finished_req_ids);
            out.finished_recving.insert(out.finished_recving.end(), o.finished_recving.begin(),
                                        o.finished_recving.end());
            out.invalid_block_ids.insert(out.invalid_block_ids.end(), o.invalid_block_ids.begin(),
                                         o.invalid_block_ids.end());
            for (auto& id : o.finished_sending) {
                auto it = extra_saves_.find(id);
                if (it == extra_saves_.end()) {
                    out.finished_sending.push_back(std::move(id));
                } else if (--it->second == 0) {
                    extra_saves_.erase(it);  // the next completion is the last one
                }
            }
        }
        std::sort(out.invalid_block_ids.begin(), out.invalid_block_ids.end());
        out.invalid_block_ids.erase(
            std::unique(out.invalid_block_ids.begin(), out.invalid_block_ids.end()),
            out.invalid_block_ids.end());
        return out;
    }

private:
    std::vector<std::unique_ptr<kv_connector_worker>> subs_;
    std::unordered_map<std::string, int32_t> extra_saves_;  // completions still to swallow
};

}  // namespace

std::vector<std::string> multi_connector_extra_keys() { return {"connectors"}; }

result<kv_connector_pair> make_multi_connector(const kv_transfer_config& cfg,
                                               const kv_connector_context& ctx) {
    if (cfg.connectors.empty())
        return make_error(
            "kv_transfer_config: MultiConnector needs kv_connector_extra_config "
            "'connectors' (a non-empty array of connector configs)");
    std::vector<std::unique_ptr<kv_connector_scheduler>> scheds;
    std::vector<std::unique_ptr<kv_connector_worker>> workers;
    std::shared_ptr<kv_transfer_endpoint> transfer;
    for (size_t i = 0; i < cfg.connectors.size(); ++i) {
        auto pair = make_kv_connector(cfg.connectors[i], ctx);
        if (!pair) return make_error("connectors[%zu]: %s", i, pair.message().c_str());
        if (pair->transfer && transfer)
            return make_error("connectors[%zu]: only one chained connector may hand KV to "
                              "other engines", i);
        if (pair->transfer) transfer = std::move(pair->transfer);
        scheds.push_back(std::move(pair->scheduler));
        workers.push_back(std::move(pair->worker));
    }
    kv_connector_pair p;
    p.transfer = std::move(transfer);
    p.scheduler = std::make_unique<multi_scheduler>(std::move(scheds));
    p.worker = std::make_unique<multi_worker>(std::move(workers));
    return p;
}

}  // namespace actorlm::kv
