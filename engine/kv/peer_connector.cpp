// peer_connector implementation. Only whole prompt blocks move, and a consumer
// pulls at most up to the block before its last prompt token, which it always
// computes itself (its logits give the first token), as after any prefix hit. The
// producer offers its blocks with their hashes; the consumer asks with the hashes it
// computed, so a block of another prompt, salt, model or KV layout is never used.
#include "kv/peer_connector.hpp"

#include <algorithm>
#include <charconv>
#include <unordered_set>

#include "base/host_port.hpp"
#include "core/request.hpp"
#include "core/scheduler_output.hpp"
#include "kv/kv_transfer_endpoint.hpp"

namespace actorlm::kv {
namespace {

struct peer_metadata final : kv_connector_metadata {
    std::vector<kv_transfer_endpoint::pull> pulls;
};

class peer_scheduler final : public kv_connector_scheduler {
public:
    peer_scheduler(std::shared_ptr<kv_transfer_endpoint> endpoint, int32_t block_size,
                   kv_transfer_config cfg, host_port self)
        : endpoint_(std::move(endpoint)),
          block_size_(block_size),
          cfg_(std::move(cfg)),
          self_(std::move(self)) {}

    match get_num_new_matched_tokens(const core::request& req,
                                     int32_t num_computed_tokens) override {
        match m;
        const auto* kt = remote_prefill(req);
        if (!kt || pulled_.count(req.id())) return m;  // one pull; a failed rest is recomputed
        const int32_t first = num_computed_tokens / block_size_;
        const int32_t n = limit(req, *kt) - first;
        if (n <= 0) return m;
        m.num_tokens = n * block_size_;
        m.load_async = true;
        return m;
    }

    void update_state_after_alloc(const core::request& req, std::span<const int32_t> block_ids,
                                  int32_t num_external_tokens) override {
        queries_ += req.num_tokens();
        hits_ += num_external_tokens;
        const auto* kt = remote_prefill(req);
        if (!kt || !pulled_.insert(req.id()).second) return;
        kv_transfer_endpoint::pull p;
        p.req_id = req.id();
        p.host = kt->remote_host;
        p.port = static_cast<uint16_t>(kt->remote_port);
        p.remote_id = kt->remote_request_id;
        // Nothing to load (the device cache had it all): the pull only tells the
        // producer to free its blocks.
        const int32_t first = req.num_computed_tokens / block_size_;
        p.first_remote_block = first;
        for (int32_t b = first; b < first + num_external_tokens / block_size_; ++b) {
            p.hashes.push_back(req.block_hashes()[static_cast<size_t>(b)]);
            p.block_ids.push_back(block_ids[static_cast<size_t>(b)]);
        }
        pending_.push_back(std::move(p));
    }

    std::shared_ptr<const kv_connector_metadata> build_connector_meta(
        const core::scheduler_output&) override {
        if (pending_.empty()) return nullptr;
        auto meta = std::make_shared<peer_metadata>();
        meta->pulls = std::exchange(pending_, {});
        return meta;
    }

    finished_request request_finished(const core::request& req,
                                      std::span<const int32_t> block_ids) override {
        pulled_.erase(req.id());
        finished_request out;
        if (!cfg_.can_save()) return out;
        const auto& kt = req.params().kv_transfer;
        // A prefill leg that ran to its end, or a request migrating to another engine.
        const bool prefilled = kt && kt->do_remote_decode &&
                               (req.status == core::request_status::finished_length_capped ||
                                req.status == core::request_status::finished_stopped);
        if (!prefilled && !req.hand_over_kv) return out;
        out.kv_transfer_params = offer(req, block_ids, req.id());
        out.delay_free_blocks = !out.kv_transfer_params->remote_block_ids.empty();
        return out;
    }

    std::optional<actorlm::kv_transfer_params> offer_snapshot(
        const core::request& req, std::span<const int32_t> block_ids,
        const std::string& ticket) override {
        if (!cfg_.can_save()) return std::nullopt;
        auto p = offer(req, block_ids, ticket);
        if (p.remote_block_ids.empty()) return std::nullopt;
        return p;
    }

    kv_connector_stats stats() const override {
        kv_connector_stats s = endpoint_->stats();
        s.queries = queries_;
        s.hits = hits_;
        return s;
    }

private:
    /// Offers `req`'s whole computed blocks under `ticket` (all of the prompt after a
    /// prefill; a migrating request's prompt and outputs but the last sampled token);
    /// no block ids in the answer when there was nothing to offer.
    actorlm::kv_transfer_params offer(const core::request& req,
                                      std::span<const int32_t> block_ids,
                                      const std::string& ticket) {
        actorlm::kv_transfer_params p;
        p.do_remote_prefill = true;
        p.remote_host = self_.host;
        p.remote_port = self_.port;
        p.remote_request_id = ticket;
        const auto n = static_cast<size_t>(
            std::min<int64_t>({req.num_computed_tokens / block_size_,
                               static_cast<int64_t>(req.block_hashes().size()),
                               static_cast<int64_t>(block_ids.size())}));
        std::vector<int32_t> ids(block_ids.begin(), block_ids.begin() + static_cast<ptrdiff_t>(n));
        std::vector<core::block_hash> hashes(req.block_hashes().begin(),
                                             req.block_hashes().begin() + static_cast<ptrdiff_t>(n));
        if (n > 0 && endpoint_->offer(ticket, ids, std::move(hashes)))
            p.remote_block_ids = std::move(ids);
        return p;
    }

    const actorlm::kv_transfer_params* remote_prefill(const core::request& req) const {
        const auto& kt = req.params().kv_transfer;
        if (!kt || !kt->do_remote_prefill || !cfg_.can_load()) return nullptr;
        return &*kt;
    }

    /// Blocks a consumer may load: the producer's, up to the one before the last token.
    int32_t limit(const core::request& req, const actorlm::kv_transfer_params& kt) const {
        return static_cast<int32_t>(std::min<int64_t>(
            {(req.num_tokens() - 1) / block_size_, static_cast<int64_t>(kt.remote_block_ids.size()),
             static_cast<int64_t>(req.block_hashes().size())}));
    }

    std::shared_ptr<kv_transfer_endpoint> endpoint_;
    int32_t block_size_;
    kv_transfer_config cfg_;
    host_port self_;
    std::unordered_set<std::string> pulled_;  // requests whose pull was planned
    std::vector<kv_transfer_endpoint::pull> pending_;
    int64_t queries_ = 0;
    int64_t hits_ = 0;
};

class peer_worker final : public kv_connector_worker {
public:
    explicit peer_worker(std::shared_ptr<kv_transfer_endpoint> endpoint)
        : endpoint_(std::move(endpoint)) {}

    status register_kv_caches(kv_block_io& caches) override { return endpoint_->attach(&caches); }

    void start_load_kv() override {
        const auto* m = static_cast<const peer_metadata*>(meta_.get());
        if (!m) return;
        for (const auto& p : m->pulls) endpoint_->queue_pull(p);
    }

    // Pulls fill blocks no scheduled request reads, and offered blocks are only read.
    void wait_for_layer_load(int64_t) override {}
    void save_kv_layer(int64_t) override {}
    void wait_for_save() override {}

    kv_connector_output get_finished(std::span<const std::string>) override {
        kv_connector_output out;
        out.finished_sending = endpoint_->take_released();
        for (auto& r : endpoint_->take_finished_pulls()) {
            out.finished_recving.push_back(std::move(r.req_id));
            out.invalid_block_ids.insert(out.invalid_block_ids.end(), r.invalid_block_ids.begin(),
                                         r.invalid_block_ids.end());
        }
        return out;
    }

    void shutdown() override { endpoint_->detach(); }

private:
    std::shared_ptr<kv_transfer_endpoint> endpoint_;
};

result<int64_t> positive(const kv_transfer_config& cfg, const char* key, int64_t fallback,
                         bool byte_size) {
    auto it = cfg.extra.find(key);
    if (it == cfg.extra.end()) return fallback;
    int64_t v = 0;
    if (byte_size) {
        auto n = parse_byte_size(key, it->second);
        if (!n) return n.err();
        v = *n;
    } else {
        const std::string& t = it->second;
        auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
        if (ec != std::errc() || end != t.data() + t.size()) v = 0;
    }
    if (v <= 0)
        return make_error("kv_transfer_config: '%s' must be a positive %s, got '%s'", key,
                          byte_size ? "size" : "integer", it->second.c_str());
    return v;
}

/// The `stream` key: a direct TCP stream for the bytes, on by default. It is plaintext,
/// so a cluster under TLS keeps the bytes in its (encrypted) actor connections.
result<bool> use_stream(const kv_transfer_config& cfg, const kv_connector_context& ctx) {
    auto it = cfg.extra.find("stream");
    if (it == cfg.extra.end()) return !ctx.cluster_tls;
    if (it->second != "true" && it->second != "false")
        return make_error("kv_transfer_config: 'stream' must be true or false, got '%s'",
                          it->second.c_str());
    if (it->second == "true" && ctx.cluster_tls)
        return make_error(
            "kv_transfer_config: 'stream' is a plaintext TCP connection and this cluster uses "
            "TLS; leave it unset (KV then moves through the encrypted actor connections)");
    return it->second == "true";
}

}  // namespace

std::vector<std::string> peer_connector_extra_keys() {
    return {"keep_timeout_ms", "chunk_bytes", "max_inflight_chunks", "pull_timeout_ms", "stream"};
}

result<kv_connector_pair> make_peer_connector(const kv_transfer_config& cfg,
                                              const kv_connector_context& ctx) {
    host_port self;
    if (cfg.can_save()) {
        if (ctx.cluster_address.empty())
            return make_error(
                "kv_transfer_config: PeerConnector as %s needs the engine in a cluster "
                "(--cluster-listen HOST:PORT), where consumers pull the KV it keeps",
                cfg.role == kv_role::producer ? "kv_producer" : "kv_both");
        auto hp = parse_host_port(ctx.cluster_address);
        if (!hp) return make_error("cluster address %s", hp.message().c_str());
        self = *hp;
    }
    kv_transfer_endpoint::options o;
    o.block_layer_bytes = ctx.block_layer_bytes;
    o.num_layers = ctx.num_layers;
    auto keep = positive(cfg, "keep_timeout_ms", o.keep_timeout.count(), false);
    if (!keep) return keep.err();
    o.keep_timeout = std::chrono::milliseconds(*keep);
    auto chunk = positive(cfg, "chunk_bytes", o.chunk_bytes, true);
    if (!chunk) return chunk.err();
    o.chunk_bytes = *chunk;
    auto window = positive(cfg, "max_inflight_chunks", o.max_inflight_chunks, false);
    if (!window) return window.err();
    o.max_inflight_chunks = static_cast<int32_t>(std::min<int64_t>(*window, 1024));
    auto pull_timeout = positive(cfg, "pull_timeout_ms", o.pull_timeout.count(), false);
    if (!pull_timeout) return pull_timeout.err();
    o.pull_timeout = std::chrono::milliseconds(*pull_timeout);
    auto stream = use_stream(cfg, ctx);
    if (!stream) return stream.err();
    o.stream = *stream;
    o.stream_host = self.host;
    auto endpoint = std::make_shared<kv_transfer_endpoint>(o);
    kv_connector_pair p;
    p.scheduler = std::make_unique<peer_scheduler>(endpoint, ctx.block_size, cfg, self);
    p.worker = std::make_unique<peer_worker>(endpoint);
    p.transfer = std::move(endpoint);
    return p;
}

}  // namespace actorlm::kv
