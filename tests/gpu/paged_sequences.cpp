// The paged-sequence test driver (see paged_sequences.hpp).
#include "paged_sequences.hpp"

#include <doctest/doctest.h>

#include <algorithm>

namespace actorlm::test {

paged_sequences::paged_sequences(int32_t num_blocks, int32_t block_size, uint32_t seed)
    : block_size_(block_size) {
    for (int32_t i = 0; i < num_blocks; ++i) free_.push_back(i);
    std::mt19937 rng(seed);
    std::shuffle(free_.begin(), free_.end(), rng);
}

int32_t paged_sequences::add(std::vector<int32_t> tokens) {
    seqs_.push_back({std::move(tokens), {}, 0});
    return static_cast<int32_t>(seqs_.size()) - 1;
}

forward_batch paged_sequences::step(const std::vector<std::pair<int32_t, int32_t>>& work) {
    forward_batch b;
    int32_t max_blocks = 1;
    for (auto [s, count] : work) {
        sequence& q = seqs_[static_cast<size_t>(s)];
        const int32_t len = q.computed + count;
        REQUIRE(len <= static_cast<int32_t>(q.tokens.size()));
        while (static_cast<int32_t>(q.blocks.size()) * block_size_ < len) {
            REQUIRE(!free_.empty());
            q.blocks.push_back(free_.back());
            free_.pop_back();
        }
        max_blocks = std::max(max_blocks, static_cast<int32_t>(q.blocks.size()));
    }
    b.max_blocks_per_seq = max_blocks;
    b.query_start_loc.push_back(0);
    for (auto [s, count] : work) {
        sequence& q = seqs_[static_cast<size_t>(s)];
        for (int32_t p = q.computed; p < q.computed + count; ++p) {
            b.token_ids.push_back(q.tokens[static_cast<size_t>(p)]);
            b.positions.push_back(p);
            b.slot_mapping.push_back(
                static_cast<int64_t>(q.blocks[static_cast<size_t>(p / block_size_)]) * block_size_ +
                p % block_size_);
        }
        q.computed += count;
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(q.computed);
        b.logits_indices.push_back(b.num_tokens() - 1);
        for (int32_t k = 0; k < max_blocks; ++k)
            b.block_tables.push_back(
                k < static_cast<int32_t>(q.blocks.size()) ? q.blocks[static_cast<size_t>(k)] : 0);
    }
    return b;
}

}  // namespace actorlm::test
