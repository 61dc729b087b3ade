// tensor_parallel_plan: which slice of every weight matrix a tensor-parallel rank
// owns (Megatron layout: column-parallel Q/K/V/gate/up, row-parallel O/down,
// replicated embedding, norms and lm_head). Host-only, no CUDA, so it is unit
// tested in CI. Invariant: the slices of all ranks tile each matrix exactly once.
#pragma once

#include <cstdint>
#include <vector>

#include "model/model_config.hpp"
#include "base/result.hpp"

namespace actorlm {

/// A half-open range [begin, begin + count) of rows, columns or heads.
struct index_range {
    int64_t begin = 0;
    int64_t count = 0;
    int64_t end() const { return begin + count; }
    bool operator==(const index_range&) const = default;
};

/// What one rank of a tensor-parallel group owns. Row ranges index the
/// {out_features, in_features} row-major matrices of model_weights.
struct tp_shard {
    int32_t rank = 0;
    int32_t size = 1;
    index_range q_heads;      // attention heads computed on this rank
    index_range kv_heads;     // KV heads stored in this rank's cache
    index_range wq_rows;      // rows of wq (= q_heads * head_dim); also bq
    index_range wk_rows;      // rows of wk and wv (= kv_heads * head_dim); also bk, bv
    index_range wo_cols;      // columns of wo (same range as wq_rows)
    index_range ffn_rows;     // rows of w_gate and w_up
    index_range w_down_cols;  // columns of w_down (same range as ffn_rows)
    /// True when this rank adds the residual stream into its row-parallel
    /// output, so that the all-reduce sum counts the residual exactly once.
    bool adds_residual() const { return rank == 0; }
};

/// The sharding of one model over `size` ranks.
class tensor_parallel_plan {
public:
    /// Checks that `config` splits evenly over `tp_size` ranks (attention heads,
    /// KV heads and the MLP width divisible by it) and builds every rank's shard.
    /// The error names the dimension that does not divide.
    static result<tensor_parallel_plan> make(const model_config& config, int32_t tp_size);

    int32_t size() const { return static_cast<int32_t>(shards_.size()); }
    /// The shard of `rank`; rank must be in [0, size()).
    const tp_shard& shard(int32_t rank) const;
    const std::vector<tp_shard>& shards() const { return shards_; }

    /// Bytes of weights rank `rank` holds when every matrix element takes
    /// `bytes_per_element` (norms counted as 4-byte floats, embedding and
    /// lm_head replicated).
    int64_t rank_weight_bytes(const model_config& config, int32_t rank,
                              int64_t bytes_per_element) const;

private:
    std::vector<tp_shard> shards_;
};

}  // namespace actorlm
