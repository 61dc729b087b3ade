// encoder_cache_manager: the scheduler's account of encoder outputs (vLLM v1's
// EncoderCacheManager). It holds no tensors — workers and the encoder-cache actor do —
// only which mm_hashes have outputs, who references them, and room counted in
// embedding tokens. An output stays while a request references it (its placeholders
// are not yet all in the KV cache); unreferenced ones stay too, freeable, and are
// evicted oldest-released-first only when room is needed (lazy eviction), so a later
// request with the same image finds it. Evicted hashes are handed to the workers with
// the next step. Single-threaded: owned by the scheduler.
#pragma once

#include <cstdint>
#include <list>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/request.hpp"

namespace actorlm::core {

class encoder_cache_manager {
public:
    /// `cache_size`: embedding tokens the outputs may take in all.
    explicit encoder_cache_manager(int32_t cache_size);

    /// Whether input `input` of `req` has an output; if so `req` now references it.
    bool check_and_update_cache(const request& req, size_t input);
    /// Whether input `input` fits: its tokens within `compute_budget`, and room for
    /// them plus `num_tokens_to_schedule` (inputs already chosen this step) — evicting
    /// freeable outputs if that makes room.
    bool can_allocate(const request& req, size_t input, int32_t compute_budget,
                      int32_t num_tokens_to_schedule);
    /// Records input `input` of `req` as computed this step, referenced by `req`.
    void allocate(const request& req, size_t input);
    /// `req` no longer needs input `input` (its placeholders are in the KV cache).
    void free_encoder_input(const request& req, size_t input);
    /// `req` ended or was preempted: drops every reference it holds.
    void free(const request& req);
    /// Hashes evicted since the last call (the workers drop their outputs).
    std::vector<std::string> take_freed_mm_hashes();

    /// Inputs of `req` it references now.
    std::vector<size_t> cached_inputs(const request& req) const;
    int32_t cache_size() const { return cache_size_; }
    int32_t num_free_slots() const { return num_free_slots_; }
    int32_t num_freeable_slots() const { return num_freeable_slots_; }
    /// Lookups and hits of check_and_update_cache (the encoder-cache hit rate), once per
    /// request and input: a request's later chunks through an input it holds do not count.
    int64_t num_queries() const { return num_queries_; }
    int64_t num_hits() const { return num_hits_; }

private:
    struct entry {
        int32_t num_tokens = 0;
        std::unordered_set<std::string> holders;     // request ids
        std::list<std::string>::iterator freeable;  // valid while holders is empty
    };
    void release(const std::string& mm_hash, const std::string& req_id);

    int32_t cache_size_;
    int32_t num_free_slots_;      // not taken by any output
    int32_t num_freeable_slots_;  // free plus those of unreferenced outputs
    std::unordered_map<std::string, entry> cached_;
    std::list<std::string> freeable_;  // unreferenced outputs, oldest released first
    std::vector<std::string> freed_;
    int64_t num_queries_ = 0;
    int64_t num_hits_ = 0;
};

}  // namespace actorlm::core
