// Test-side paged-sequence bookkeeper for the GPU suite: builds forward_batch steps
// the way the scheduler does, with blocks from a shuffled free list so that block
// tables are scattered like a long-running server's. The double reference model is
// tests/support/reference_model.hpp. Single-threaded test code.
#pragma once

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

#include "model/forward_batch.hpp"

namespace actorlm::test {

/// Sequences in a paged KV cache: blocks come from a shuffled free list, so
/// block tables are scattered like a long-running server's.
class paged_sequences {
public:
    paged_sequences(int32_t num_blocks, int32_t block_size, uint32_t seed);

    /// Adds a sequence whose tokens are known up front (prompt + teacher-forced
    /// continuation); returns its id.
    int32_t add(std::vector<int32_t> tokens);

    /// The next step: for each (sequence, count), its next `count` uncomputed
    /// tokens; logits are asked for the last token of each entry.
    forward_batch step(const std::vector<std::pair<int32_t, int32_t>>& work);

    /// Appends a token to a sequence (generation).
    void append(int32_t seq, int32_t token) {
        seqs_[static_cast<size_t>(seq)].tokens.push_back(token);
    }
    const std::vector<int32_t>& tokens(int32_t seq) const {
        return seqs_[static_cast<size_t>(seq)].tokens;
    }
    int32_t computed(int32_t seq) const { return seqs_[static_cast<size_t>(seq)].computed; }

private:
    struct sequence {
        std::vector<int32_t> tokens;
        std::vector<int32_t> blocks;
        int32_t computed = 0;
    };
    std::vector<sequence> seqs_;
    std::vector<int32_t> free_;
    int32_t block_size_;
};

}  // namespace actorlm::test
