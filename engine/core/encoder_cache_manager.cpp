// encoder_cache_manager implementation. Two counters keep can_allocate O(evictions):
// free slots (room no output takes) and freeable slots (free plus unreferenced).
#include "core/encoder_cache_manager.hpp"

#include "base/check.hpp"

namespace actorlm::core {

encoder_cache_manager::encoder_cache_manager(int32_t cache_size)
    : cache_size_(cache_size), num_free_slots_(cache_size), num_freeable_slots_(cache_size) {}

bool encoder_cache_manager::check_and_update_cache(const request& req, size_t input) {
    auto it = cached_.find(req.mm_features().at(input).mm_hash);
    if (it == cached_.end()) {
        ++num_queries_;
        return false;
    }
    entry& e = it->second;
    // A request's later chunks through the same input find its own reference: not a
    // new lookup, so the counters count inputs, not steps.
    if (e.holders.count(req.id())) return true;
    ++num_queries_;
    ++num_hits_;
    if (e.holders.empty()) {  // referenced again: no longer evictable
        freeable_.erase(e.freeable);
        num_freeable_slots_ -= e.num_tokens;
    }
    e.holders.insert(req.id());
    return true;
}

bool encoder_cache_manager::can_allocate(const request& req, size_t input, int32_t compute_budget,
                                         int32_t num_tokens_to_schedule) {
    const int32_t n = req.mm_features().at(input).length;
    if (n > compute_budget) return false;
    const int32_t needed = n + num_tokens_to_schedule;
    if (needed <= num_free_slots_) return true;
    if (needed > num_freeable_slots_) return false;
    while (needed > num_free_slots_) {  // evict the oldest released first
        const std::string victim = freeable_.front();
        freeable_.pop_front();
        auto it = cached_.find(victim);
        num_free_slots_ += it->second.num_tokens;
        cached_.erase(it);
        freed_.push_back(victim);
    }
    return true;
}

void encoder_cache_manager::allocate(const request& req, size_t input) {
    const mm_feature& f = req.mm_features().at(input);
    auto [it, fresh] = cached_.try_emplace(f.mm_hash);
    if (fresh) {
        it->second.num_tokens = f.length;
        num_free_slots_ -= f.length;
        num_freeable_slots_ -= f.length;
        ACTORLM_CHECK(num_free_slots_ >= 0, "encoder cache over its size: %d free slots",
                      num_free_slots_);
    } else if (it->second.holders.empty()) {
        freeable_.erase(it->second.freeable);
        num_freeable_slots_ -= it->second.num_tokens;
    }
    it->second.holders.insert(req.id());
}

void encoder_cache_manager::release(const std::string& mm_hash, const std::string& req_id) {
    auto it = cached_.find(mm_hash);
    if (it == cached_.end() || it->second.holders.erase(req_id) == 0) return;
    if (!it->second.holders.empty()) return;
    it->second.freeable = freeable_.insert(freeable_.end(), mm_hash);
    num_freeable_slots_ += it->second.num_tokens;
}

void encoder_cache_manager::free_encoder_input(const request& req, size_t input) {
    release(req.mm_features().at(input).mm_hash, req.id());
}

void encoder_cache_manager::free(const request& req) {
    for (const mm_feature& f : req.mm_features()) release(f.mm_hash, req.id());
}

std::vector<std::string> encoder_cache_manager::take_freed_mm_hashes() {
    return std::exchange(freed_, {});
}

std::vector<size_t> encoder_cache_manager::cached_inputs(const request& req) const {
    std::vector<size_t> out;
    const auto& features = req.mm_features();
    for (size_t i = 0; i < features.size(); ++i) {
        auto it = cached_.find(features[i].mm_hash);
        if (it != cached_.end() && it->second.holders.count(req.id())) out.push_back(i);
    }
    return out;
}

}  // namespace actorlm::core
