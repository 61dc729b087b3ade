// Test-side CPU reference of the whole decoder in double precision (F32 host
// weights), random host models of any config, and a tiny paged-sequence
// bookkeeper that builds forward_batch steps the way the scheduler does.
#pragma once

#include <cstdint>
#include <random>
#include <vector>

#include "model/forward_batch.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"

namespace actorlm::test {

/// F32 host weights of `config`'s shape, uniform with variance ~1/in_features;
/// norms near 1, biases and Q/K norms present when the config asks for them.
model_weights random_model(const model_config& config, uint32_t seed);

/// Logits of every position of `tokens` (one sequence from position 0), computed
/// from scratch in double.
std::vector<std::vector<double>> reference_logits(const model_config& config,
                                                  const model_weights& weights,
                                                  const std::vector<int32_t>& tokens);

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
    void append(int32_t seq, int32_t token) { seqs_[static_cast<size_t>(seq)].tokens.push_back(token); }
    const std::vector<int32_t>& tokens(int32_t seq) const { return seqs_[static_cast<size_t>(seq)].tokens; }
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
