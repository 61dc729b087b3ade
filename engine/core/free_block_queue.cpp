// free_block_queue implementation: index-linked list; slot num_blocks is the
// sentinel, so the list is circular and has no null checks.
#include "core/free_block_queue.hpp"

#include "base/check.hpp"

namespace actorlm::core {

free_block_queue::free_block_queue(int32_t num_blocks)
    : next_(static_cast<size_t>(num_blocks) + 1),
      prev_(static_cast<size_t>(num_blocks) + 1),
      linked_(static_cast<size_t>(num_blocks), false) {
    const int32_t s = num_blocks;
    next_[static_cast<size_t>(s)] = s;
    prev_[static_cast<size_t>(s)] = s;
    for (int32_t b = 0; b < num_blocks; ++b) push_back(b);
}

void free_block_queue::link_after(size_t pos, int32_t block_id) {
    const auto b = static_cast<size_t>(block_id);
    ACTORLM_CHECK(!linked_[b], "block %d is already in the free queue", block_id);
    const auto nxt = static_cast<size_t>(next_[pos]);
    next_[b] = static_cast<int32_t>(nxt);
    prev_[b] = static_cast<int32_t>(pos);
    next_[pos] = block_id;
    prev_[nxt] = block_id;
    linked_[b] = true;
    ++size_;
}

int32_t free_block_queue::pop_front() {
    ACTORLM_CHECK(size_ > 0, "pop_front on an empty free block queue");
    const int32_t b = next_[sentinel()];
    remove(b);
    return b;
}

void free_block_queue::push_back(int32_t block_id) {
    link_after(static_cast<size_t>(prev_[sentinel()]), block_id);
}

void free_block_queue::push_front(int32_t block_id) { link_after(sentinel(), block_id); }

void free_block_queue::remove(int32_t block_id) {
    const auto b = static_cast<size_t>(block_id);
    ACTORLM_CHECK(linked_[b], "block %d is not in the free queue", block_id);
    const auto p = static_cast<size_t>(prev_[b]);
    const auto n = static_cast<size_t>(next_[b]);
    next_[p] = static_cast<int32_t>(n);
    prev_[n] = static_cast<int32_t>(p);
    linked_[b] = false;
    --size_;
}

std::vector<int32_t> free_block_queue::to_vector() const {
    std::vector<int32_t> out;
    out.reserve(static_cast<size_t>(size_));
    for (auto i = static_cast<size_t>(next_[sentinel()]); i != sentinel();
         i = static_cast<size_t>(next_[i]))
        out.push_back(static_cast<int32_t>(i));
    return out;
}

}  // namespace actorlm::core
