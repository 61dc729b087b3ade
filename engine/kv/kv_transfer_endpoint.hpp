// kv_transfer_endpoint: where KV blocks leave and enter one engine when requests
// are handed between engines (prefill/decode disaggregation, the PeerConnector).
// Three parties share it: the connector's scheduler side offers a finished
// producer request's blocks; its worker side registers the cache and queues the
// pulls a consumer must make; the network side (the KV-cache actor's transfer
// actor) serves other engines' pulls from the offered blocks and fills queued
// pulls from producers. Blocks are read and written only while the cache is
// attached; detach() waits for a copy in progress, so no byte lands after the worker
// frees its cache. Offered blocks stay allocated until the consumer releases them or
// the keep timeout passes (vLLM's delayed free). Blocks also move over a byte stream
// (tcp_stream), straight between the two caches: a producer pins an offer for a
// stream ticket, so it outlives its keep timeout until the stream ends. Thread-safe;
// CAF-free.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <vector>

#include "core/block_hash.hpp"
#include "kv/kv_block_io.hpp"
#include "kv/kv_block_store.hpp"
#include "kv/kv_connector.hpp"
#include "kv/tcp_stream.hpp"

namespace actorlm::kv {

class kv_transfer_endpoint {
public:
    using clock = std::chrono::steady_clock;

    struct options {
        size_t block_layer_bytes = 0;
        int64_t num_layers = 0;
        /// How long an offer is kept for a consumer that never comes.
        std::chrono::milliseconds keep_timeout{60000};
        // How the network side pulls: payload bytes per request, requests in flight per
        // pull (the producer never holds more than this many chunks for one consumer),
        // and how long one request may take before the pull gives up.
        int64_t chunk_bytes = int64_t{256} << 10;
        int32_t max_inflight_chunks = 4;
        std::chrono::milliseconds pull_timeout{10000};
        /// Blocks move over a direct TCP stream between the caches when both sides
        /// allow it (else, or when the stream fails, in chunks through the actors).
        bool stream = true;
        /// Where a producer's stream listens (its cluster host).
        std::string stream_host;
    };

    /// A producer's promise to send blocks to whoever connects with `token`.
    struct stream_ticket {
        std::string token;       ///< 32 hex digits, random
        int32_t num_blocks = 0;  ///< 0: nothing matched; no ticket was kept
    };
    static constexpr size_t k_token_size = 32;

    /// One consumer request's KV to fetch from a producer: the producer's blocks
    /// [first_remote_block, +hashes.size()) of transfer `remote_id`, into `block_ids`.
    /// No blocks: only tell the producer it may free its offer.
    struct pull {
        std::string req_id;
        std::string host;
        uint16_t port = 0;
        std::string remote_id;
        int32_t first_remote_block = 0;
        std::vector<core::block_hash> hashes;
        std::vector<int32_t> block_ids;
    };

    explicit kv_transfer_endpoint(const options& o);

    /// Bytes of one block, every layer (the unit of a pull's payload).
    size_t payload_bytes() const { return payload_bytes_; }
    const options& config() const { return opts_; }

    // ---- the worker's cache
    status attach(kv_block_io* io);
    /// Waits for a copy in progress; later reads and writes fail.
    void detach();

    // ---- producer
    /// Keeps `block_ids` (whose hashes are `hashes`) for a consumer, under `id`.
    /// False (nothing kept) if `id` is already offered.
    bool offer(const std::string& id, std::vector<int32_t> block_ids,
               std::vector<core::block_hash> hashes);
    bool offered(const std::string& id) const;
    /// Appends the payloads of offered blocks first, first+1, ... while their hashes
    /// equal `expected` (a consumer never gets KV of another prompt or model);
    /// returns how many it appended: 0 for an unknown or expired offer.
    int32_t read(const std::string& id, int32_t first, std::span<const core::block_hash> expected,
                 std::vector<char>& out);
    /// Pins the offered blocks first, first+1, ... whose hashes equal `expected` for one
    /// stream; the ticket expires unused after the pull timeout.
    stream_ticket open_stream(const std::string& id, int32_t first,
                              std::span<const core::block_hash> expected,
                              clock::time_point now = clock::now());
    /// Sends the blocks of ticket `token` on `s`, straight from the cache; returns how
    /// many went whole (0 for an unknown ticket). Unpins them.
    int32_t send_stream(const std::string& token, const tcp_socket& s);
    /// The consumer has the blocks (or gave up): they may be freed.
    void release(const std::string& id);
    /// Offers released or past the keep timeout since the last call (their request ids:
    /// the connector's finished_sending).
    std::vector<std::string> take_released(clock::time_point now = clock::now());

    // ---- consumer
    /// Queues a pull and wakes the network side.
    void queue_pull(pull p);
    std::vector<pull> take_pulls();
    /// Writes one block's payload (every layer) into the cache.
    bool write(int32_t block_id, std::span<const char> payload);
    /// Receives whole blocks from `s` straight into `block_ids`, in order; returns how
    /// many arrived whole (a block cut short is not counted: it is recomputed).
    int32_t receive_stream(const tcp_socket& s, std::span<const int32_t> block_ids);
    /// A pull is done: its leading `num_loaded` blocks are in the cache, the rest must be
    /// recomputed.
    void finish_pull(const pull& p, int32_t num_loaded, double seconds);
    std::vector<kv_block_store::load_result> take_finished_pulls();

    /// Called (from the queuing thread) whenever a pull is queued; the network side
    /// installs it. Must not block.
    void set_wakeup(std::function<void()> wakeup);

    kv_connector_stats stats() const;

private:
    struct kept {
        std::vector<int32_t> block_ids;
        std::vector<core::block_hash> hashes;
        clock::time_point deadline;
        int32_t streams = 0;           // open tickets and streams in progress
        bool release_pending = false;  // released while streamed: freed when they end
    };
    struct ticket {
        std::string offer;
        int32_t first = 0;
        int32_t num_blocks = 0;
        clock::time_point deadline;
    };
    /// One stream of `id` ended (with mu_ held): frees a release that waited for it.
    void unpin(const std::string& id);
    /// How many of `k`'s blocks from `first` on have the hashes `expected`, in order.
    static int32_t num_matching(const kept& k, int32_t first,
                                std::span<const core::block_hash> expected);
    // With io_mu_ held: a block's payload (every layer) out of or into the cache, and the
    // host memory holding it as iovecs (false, none added, when the cache exposes none: a
    // device cache, copied through a buffer instead).
    void copy_block_out(int32_t block, uint8_t* dst) const;
    void copy_block_in(int32_t block, const uint8_t* src);
    bool host_pieces(int32_t block, std::vector<iovec>& bufs) const;

    options opts_;
    size_t payload_bytes_;

    // Shared for every copy into or out of the cache (copies of distinct blocks run in
    // parallel), exclusive to attach or detach it.
    mutable std::shared_mutex io_mu_;
    kv_block_io* io_ = nullptr;

    mutable std::mutex mu_;  // everything below
    std::map<std::string, kept> offers_;
    std::map<std::string, ticket> tickets_;
    std::vector<std::string> released_;
    std::vector<pull> pulls_;
    std::vector<kv_block_store::load_result> finished_pulls_;
    std::function<void()> wakeup_;
    kv_connector_stats stats_;
};

}  // namespace actorlm::kv
