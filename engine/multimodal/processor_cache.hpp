// processor_cache: processed multimodal inputs (pixel values and their placeholder
// counts) by mm_hash, least recently used out first, bounded in bytes (vLLM's
// ProcessorCache). The frontend keeps one so a repeated image is neither decoded nor
// preprocessed again; the engine side keeps a mirror of the same capacity. Both see the
// same lookups and inserts in the same order, so their contents stay equal, and the
// frontend sends a cached image across the actor boundary as its hash only, knowing the
// mirror holds it (vLLM's sender/receiver caches). An item larger than the whole capacity
// is never kept on either side, so it always travels in full. Single-threaded (each
// side owns its own).
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace actorlm::multimodal {

template <class T>
class processor_cache {
public:
    using item_ptr = std::shared_ptr<const T>;

    explicit processor_cache(size_t capacity_bytes) : capacity_(capacity_bytes) {}

    /// The item under `hash`, now the most recently used; null on a miss. Counted unless
    /// `counted` is false (a lookup that only checks a request, such as /tokenize).
    item_ptr lookup(const std::string& hash, bool counted = true) {
        queries_ += counted;
        auto it = items_.find(hash);
        if (it == items_.end()) return nullptr;
        hits_ += counted;
        order_.splice(order_.end(), order_, it->second.position);
        return it->second.item;
    }

    /// Keeps `item` (`bytes` large) under `hash` as the most recently used, evicting the
    /// least recently used until it fits; false (nothing kept, nothing evicted) when it
    /// is larger than the capacity or the hash is already present.
    bool insert(const std::string& hash, item_ptr item, size_t bytes) {
        if (bytes > capacity_ || items_.count(hash)) return false;
        while (used_ + bytes > capacity_) {
            auto victim = items_.find(order_.front());
            used_ -= victim->second.bytes;
            items_.erase(victim);
            order_.pop_front();
            ++evictions_;
        }
        order_.push_back(hash);
        items_.emplace(hash, entry{std::move(item), bytes, std::prev(order_.end())});
        used_ += bytes;
        return true;
    }

    bool contains(const std::string& hash) const { return items_.count(hash) != 0; }
    size_t size() const { return items_.size(); }
    size_t used_bytes() const { return used_; }
    size_t capacity_bytes() const { return capacity_; }
    int64_t num_queries() const { return queries_; }
    int64_t num_hits() const { return hits_; }
    int64_t num_evictions() const { return evictions_; }

private:
    struct entry {
        item_ptr item;
        size_t bytes = 0;
        std::list<std::string>::iterator position;
    };

    size_t capacity_;
    size_t used_ = 0;
    std::unordered_map<std::string, entry> items_;
    std::list<std::string> order_;  // front: least recently used
    int64_t queries_ = 0;
    int64_t hits_ = 0;
    int64_t evictions_ = 0;
};

}  // namespace actorlm::multimodal
