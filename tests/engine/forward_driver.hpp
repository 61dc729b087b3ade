// Test-only driver for cpu_executor: a tiny block allocator (shuffled free list,
// so tables are never contiguous), per-sequence block tables, forward_batch
// construction in vLLM's layout, and a multi-step greedy loop with a chunked
// prefill budget. Stands in for the real scheduler / KV manager in tests.
#pragma once

#include <doctest/doctest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "backends/cpu/cpu_executor.hpp"

namespace actorlm::test {

/// Hands out block ids in a random order; tests check nothing is leaked.
class block_allocator {
public:
    block_allocator(int32_t num_blocks, uint32_t seed) {
        for (int32_t i = 0; i < num_blocks; ++i) free_.push_back(i);
        std::mt19937 rng(seed);
        std::shuffle(free_.begin(), free_.end(), rng);
    }
    int32_t take() {
        REQUIRE_FALSE(free_.empty());
        const int32_t b = free_.back();
        free_.pop_back();
        return b;
    }
    void give_back(const std::vector<int32_t>& blocks) {
        free_.insert(free_.end(), blocks.begin(), blocks.end());
    }
    size_t num_free() const { return free_.size(); }

private:
    std::vector<int32_t> free_;
};

/// One sequence: its tokens so far (prompt + generated) and how many have K/V cached.
struct test_sequence {
    std::vector<int32_t> tokens;
    int32_t num_prompt = 0;
    int32_t num_computed = 0;
    std::vector<int32_t> blocks;
    std::vector<int32_t> generated;
    bool done = false;
};

/// Work for one step: `num_tokens` new tokens of `seq`, starting at seq->num_computed.
struct step_work {
    test_sequence* seq;
    int32_t num_tokens;
};

/// Builds the batch (allocating blocks as needed); logits are requested for every
/// token when `all_logits`, else only for each sequence's last token.
inline forward_batch make_batch(const std::vector<step_work>& work, int32_t block_size,
                                block_allocator& alloc, bool all_logits = false) {
    forward_batch b;
    b.query_start_loc.push_back(0);
    for (const step_work& w : work) {
        const int32_t seq_len = w.seq->num_computed + w.num_tokens;
        while (static_cast<int32_t>(w.seq->blocks.size()) * block_size < seq_len)
            w.seq->blocks.push_back(alloc.take());
        b.max_blocks_per_seq =
            std::max(b.max_blocks_per_seq, static_cast<int32_t>(w.seq->blocks.size()));
    }
    for (const step_work& w : work) {
        const int32_t start = w.seq->num_computed;
        for (int32_t i = 0; i < w.num_tokens; ++i) {
            const int32_t pos = start + i;
            if (all_logits) b.logits_indices.push_back(b.num_tokens());
            b.token_ids.push_back(w.seq->tokens[static_cast<size_t>(pos)]);
            b.positions.push_back(pos);
            b.slot_mapping.push_back(
                static_cast<int64_t>(w.seq->blocks[static_cast<size_t>(pos / block_size)]) *
                    block_size +
                pos % block_size);
        }
        if (!all_logits) b.logits_indices.push_back(b.num_tokens() - 1);
        b.query_start_loc.push_back(b.num_tokens());
        b.seq_lens.push_back(start + w.num_tokens);
        std::vector<int32_t> row = w.seq->blocks;
        row.resize(static_cast<size_t>(b.max_blocks_per_seq), 0);
        b.block_tables.insert(b.block_tables.end(), row.begin(), row.end());
    }
    return b;
}

inline int32_t argmax(const float* row, int64_t n) {
    return static_cast<int32_t>(std::max_element(row, row + n) - row);
}

/// How the greedy loop schedules: sequence i joins at step i * stagger; each step
/// takes at most `token_budget` prompt tokens in all (decode tokens are always taken).
struct greedy_schedule {
    int32_t token_budget = 1 << 30;
    int32_t stagger = 0;
};

/// Greedy-decodes every prompt (stopping at a token in `stop` or after max_new
/// tokens), batching all live sequences per step. Returns the generated ids and
/// releases every block; `first_logits` gets each sequence's first-step logits.
inline std::vector<std::vector<int32_t>> greedy_generate(
    cpu_executor& ex, const std::vector<std::vector<int32_t>>& prompts, int32_t max_new,
    const std::vector<int32_t>& stop, const greedy_schedule& sched, block_allocator& alloc,
    std::vector<std::vector<float>>* first_logits = nullptr) {
    const int32_t bs = ex.kv_spec().block_size;
    const int64_t vocab = ex.config().vocab_size;
    std::vector<test_sequence> seqs(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        seqs[i].tokens = prompts[i];
        seqs[i].num_prompt = static_cast<int32_t>(prompts[i].size());
    }
    if (first_logits) first_logits->assign(prompts.size(), {});
    std::vector<float> logits;
    for (int32_t step = 0;; ++step) {
        std::vector<step_work> work;
        std::vector<size_t> owners;
        int32_t budget = sched.token_budget;
        for (size_t i = 0; i < seqs.size(); ++i) {
            test_sequence& s = seqs[i];
            if (s.done || step < static_cast<int32_t>(i) * sched.stagger) continue;
            const int32_t remaining = static_cast<int32_t>(s.tokens.size()) - s.num_computed;
            const int32_t n =
                s.num_computed < s.num_prompt ? std::min(remaining, budget) : remaining;
            if (n <= 0) continue;
            if (s.num_computed < s.num_prompt) budget -= n;
            work.push_back({&s, n});
            owners.push_back(i);
        }
        if (work.empty()) {
            if (std::all_of(seqs.begin(), seqs.end(),
                            [](const test_sequence& s) { return s.done; }))
                break;
            continue;  // staggered sequences not started yet
        }
        const forward_batch batch = make_batch(work, bs, alloc);
        const status st = ex.forward(batch, logits);
        REQUIRE_MESSAGE(st.ok(), st.message());
        for (size_t w = 0; w < work.size(); ++w) {
            test_sequence& s = *work[w].seq;
            s.num_computed += work[w].num_tokens;
            if (s.num_computed < static_cast<int32_t>(s.tokens.size())) continue;  // mid-prefill
            const float* row = logits.data() + static_cast<int64_t>(w) * vocab;
            if (first_logits && s.generated.empty())
                (*first_logits)[owners[w]].assign(row, row + vocab);
            const int32_t next = argmax(row, vocab);
            if (std::find(stop.begin(), stop.end(), next) != stop.end()) {
                s.done = true;
            } else {
                s.generated.push_back(next);
                s.tokens.push_back(next);
                if (static_cast<int32_t>(s.generated.size()) >= max_new) s.done = true;
            }
            if (s.done) {
                alloc.give_back(s.blocks);
                s.blocks.clear();
            }
        }
    }
    std::vector<std::vector<int32_t>> out;
    for (const test_sequence& s : seqs) out.push_back(s.generated);
    return out;
}

}  // namespace actorlm::test
