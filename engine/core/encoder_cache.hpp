// encoder_cache: encoder outputs (e.g. image embeddings) keyed by the content
// hash of their input, shared by every request that carries the same input.
// Budget in payload bytes; an entry stays while any request references it and is
// evicted least-recently-released-first only when room is needed (vLLM's lazy
// eviction), so a later request with the same image skips the encoder.
// Single-threaded: owned by the encoder-cache actor (or a test).
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "base/result.hpp"

namespace actorlm {

class encoder_cache {
public:
    using content_hash = std::string;  // hex digest of the encoder input
    using payload = std::shared_ptr<const std::vector<char>>;

    /// capacity_bytes: payload bytes held at most (> 0).
    explicit encoder_cache(size_t capacity_bytes);

    /// If `hash` is cached, records that `request_id` uses it and returns true
    /// (a hit); the entry can no longer be evicted until released.
    bool acquire(const content_hash& hash, const std::string& request_id);

    /// Whether insert() of `bytes` would succeed now: free room plus the room of
    /// unreferenced entries holds it.
    bool can_insert(size_t bytes) const;

    /// Stores a new encoder output referenced by `request_id`, evicting the least
    /// recently released unreferenced entries until it fits. Fails (no change) when
    /// the referenced entries leave no room for it or the hash is already present.
    status insert(const content_hash& hash, const std::string& request_id, payload data);

    /// The cached output, or nullptr.
    payload get(const content_hash& hash) const;

    /// Drops `request_id`'s reference to `hash` (no-op when it holds none).
    void release(const content_hash& hash, const std::string& request_id);
    /// Drops every reference `request_id` holds (on finish or abort).
    void release_request(const std::string& request_id);

    size_t size() const { return entries_.size(); }
    size_t used_bytes() const { return used_; }
    size_t capacity_bytes() const { return capacity_; }
    size_t num_evictable() const { return evictable_.size(); }
    int64_t num_queries() const { return num_queries_; }
    int64_t num_hits() const { return num_hits_; }

private:
    struct entry {
        payload data;
        std::unordered_set<std::string> holders;         // request ids referencing it
        std::list<content_hash>::iterator lru_position;  // valid while holders is empty
    };

    void make_evictable(const content_hash& hash, entry& e);

    size_t capacity_;
    size_t used_ = 0;
    size_t evictable_bytes_ = 0;  // payload bytes of the entries in evictable_
    std::unordered_map<content_hash, entry> entries_;
    std::list<content_hash> evictable_;  // unreferenced entries, front = evict first
    std::unordered_map<std::string, std::unordered_set<content_hash>> by_request_;
    int64_t num_queries_ = 0;
    int64_t num_hits_ = 0;
};

}  // namespace actorlm
