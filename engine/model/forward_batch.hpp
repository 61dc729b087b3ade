// forward_batch: one flattened forward pass in vLLM's layout. Prefill chunks and
// decode tokens of many sequences sit side by side; sequence s owns tokens
// [query_start_loc[s], query_start_loc[s+1]). K/V of every token is written to
// its slot (block_id * block_size + offset) and attention reads the sequence's
// whole context through its row of block_tables.
#pragma once

#include <cstdint>
#include <vector>

namespace actorlm {

struct forward_batch {
    std::vector<int32_t> token_ids;        // [num_tokens]
    std::vector<int32_t> positions;        // [num_tokens], absolute position in its sequence
    /// M-RoPE models only (model_config::mrope_section): the rotary positions of every token,
    /// [num_tokens][3] as (temporal, height, width); `positions` still places the token in
    /// its sequence (KV slot, causal mask). Empty: the rotary position is `positions`, which
    /// is M-RoPE's too for text (three equal positions), so a batch without images leaves it
    /// empty.
    std::vector<int32_t> mrope_positions;
    std::vector<int32_t> query_start_loc;  // [num_seqs + 1]
    std::vector<int32_t> seq_lens;         // [num_seqs], context length after this step
    std::vector<int64_t> slot_mapping;     // [num_tokens]
    std::vector<int32_t> block_tables;     // [num_seqs * max_blocks_per_seq], row-major
    int32_t max_blocks_per_seq = 0;
    /// Blocks per block index in a row (kv_cache_spec::num_kv_groups): entry i * groups + g
    /// is group g's block for positions [i * block_size, (i + 1) * block_size). slot_mapping
    /// is group 0's; an executor with groups derives the others from the tables.
    int32_t num_kv_groups = 1;
    std::vector<int32_t> logits_indices;  // token indices whose logits are returned, in order
    /// Token indices whose final-norm hidden states are returned (pooling requests: the
    /// rows an embedding is pooled from), in order; empty for pure generation.
    std::vector<int32_t> hidden_indices;
    /// Rows that replace the token embeddings at some token indices — a multimodal
    /// input's encoder output at its placeholder positions — applied after any
    /// embedding scale, as HF models merge image features into inputs_embeds. Each
    /// points to hidden_size floats that outlive the forward; first pipeline stage only.
    struct embedding_row {
        int32_t token_index = 0;
        const float* values = nullptr;
    };
    std::vector<embedding_row> embedding_overrides;

    int32_t num_tokens() const { return static_cast<int32_t>(token_ids.size()); }
    int32_t num_seqs() const { return static_cast<int32_t>(seq_lens.size()); }
};

}  // namespace actorlm
