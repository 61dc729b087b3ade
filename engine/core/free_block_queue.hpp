// free_block_queue: the free KV blocks in eviction order (vLLM's
// FreeKVCacheBlockQueue). An intrusive doubly linked list over block ids with a
// sentinel, so popping the front, appending, and removing a block from the middle
// (a cached block touched again by a prefix hit) are all O(1) with no allocation.
// Single-threaded (owned by block_pool). Invariant: a block is linked at most once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace actorlm::core {

class free_block_queue {
public:
    /// Starts with blocks 0..num_blocks-1 free, in id order.
    explicit free_block_queue(int32_t num_blocks);

    int32_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    bool contains(int32_t block_id) const { return linked_[static_cast<size_t>(block_id)]; }

    /// Removes and returns the front block (the next to evict). Precondition: !empty().
    int32_t pop_front();
    /// The front block without removing it; -1 when empty.
    int32_t front() const { return size_ == 0 ? -1 : next_[sentinel()]; }
    /// Appends at the back (evicted last).
    void push_back(int32_t block_id);
    /// Inserts at the front (reused first): for blocks that hold no cached content.
    void push_front(int32_t block_id);
    /// Unlinks a block from anywhere in the queue. Precondition: contains(block_id).
    void remove(int32_t block_id);

    /// Block ids front to back (tests and invariant checks).
    std::vector<int32_t> to_vector() const;

private:
    size_t sentinel() const { return next_.size() - 1; }
    void link_after(size_t pos, int32_t block_id);

    std::vector<int32_t> next_;  // [num_blocks + 1]; the last slot is the sentinel
    std::vector<int32_t> prev_;
    std::vector<bool> linked_;
    int32_t size_ = 0;
};

}  // namespace actorlm::core
