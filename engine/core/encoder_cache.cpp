// encoder_cache implementation; see the header for the eviction contract.
#include "core/encoder_cache.hpp"

namespace actorlm {

encoder_cache::encoder_cache(size_t capacity_bytes) : capacity_(capacity_bytes) {
    ACTORLM_CHECK(capacity_bytes > 0, "encoder cache needs a positive capacity");
}

namespace {
size_t payload_bytes(const encoder_cache::payload& p) { return p ? p->size() : 0; }
}  // namespace

bool encoder_cache::acquire(const content_hash& hash, const std::string& request_id) {
    ++num_queries_;
    auto it = entries_.find(hash);
    if (it == entries_.end()) return false;
    ++num_hits_;
    entry& e = it->second;
    if (e.holders.empty()) {
        evictable_.erase(e.lru_position);
        evictable_bytes_ -= payload_bytes(e.data);
    }
    e.holders.insert(request_id);
    by_request_[request_id].insert(hash);
    return true;
}

bool encoder_cache::can_insert(size_t bytes) const {
    return bytes <= capacity_ - used_ + evictable_bytes_;
}

status encoder_cache::insert(const content_hash& hash, const std::string& request_id,
                             payload data) {
    if (entries_.count(hash) != 0)
        return make_error("encoder cache: entry %s is already present", hash.c_str());
    const size_t bytes = payload_bytes(data);
    if (!can_insert(bytes))
        return make_error("encoder cache: %zu bytes do not fit (%zu of %zu held by entries in use)",
                          bytes, used_ - evictable_bytes_, capacity_);
    while (used_ + bytes > capacity_) {
        auto victim = entries_.find(evictable_.front());
        evictable_.pop_front();
        const size_t freed = payload_bytes(victim->second.data);
        used_ -= freed;
        evictable_bytes_ -= freed;
        entries_.erase(victim);
    }
    entry& e = entries_[hash];
    e.data = std::move(data);
    used_ += bytes;
    e.holders.insert(request_id);
    by_request_[request_id].insert(hash);
    return status::success();
}

encoder_cache::payload encoder_cache::get(const content_hash& hash) const {
    auto it = entries_.find(hash);
    return it == entries_.end() ? nullptr : it->second.data;
}

void encoder_cache::make_evictable(const content_hash& hash, entry& e) {
    e.lru_position = evictable_.insert(evictable_.end(), hash);
    evictable_bytes_ += payload_bytes(e.data);
}

void encoder_cache::release(const content_hash& hash, const std::string& request_id) {
    auto it = entries_.find(hash);
    if (it == entries_.end()) return;
    entry& e = it->second;
    if (e.holders.erase(request_id) == 0) return;
    if (e.holders.empty()) make_evictable(hash, e);
    auto req = by_request_.find(request_id);
    if (req != by_request_.end()) {
        req->second.erase(hash);
        if (req->second.empty()) by_request_.erase(req);
    }
}

void encoder_cache::release_request(const std::string& request_id) {
    auto req = by_request_.find(request_id);
    if (req == by_request_.end()) return;
    std::unordered_set<content_hash> hashes = std::move(req->second);
    by_request_.erase(req);
    for (const auto& hash : hashes) {
        auto it = entries_.find(hash);
        if (it == entries_.end()) continue;
        if (it->second.holders.erase(request_id) != 0 && it->second.holders.empty())
            make_evictable(hash, it->second);
    }
}

}  // namespace actorlm
