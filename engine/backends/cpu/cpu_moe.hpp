// cpu_moe: the mixture-of-experts FFN of a sparse layer on the CPU (moe_config.hpp). The
// router is one matmul over the batch; each token keeps its top-k experts (softmax over all
// logits, the k largest probabilities with ties to the lower index (torch's topk leaves the
// order of exact ties unspecified; docs/cpu-kernels.md), renormalized when the
// config says so); then, per expert that received tokens, the rows routed to it are gathered
// into one block and run through the ordinary matmul dispatch (so quantized experts use the
// same kernels as dense layers, read from the mapped file), and the weighted outputs are
// scatter-added into the result: grouped matmuls, never one token at a time. Each token's
// sum runs in increasing expert order, so a token's output does not depend on its batch.
// Called from the executor's thread; the matmuls split over the pool.
#pragma once

#include <cstdint>
#include <vector>

#include "base/result.hpp"
#include "cpu/thread_pool.hpp"
#include "model/model_config.hpp"
#include "model/model_weights.hpp"

namespace actorlm {

/// The experts each token goes to: [num_tokens][num_experts_used] indices and weights.
struct moe_routing {
    int64_t num_tokens = 0, top_k = 0;
    std::vector<int32_t> expert;
    std::vector<float> weight;
};

/// Routes `num_tokens` rows of router logits ([num_tokens][moe.num_experts]).
void moe_route(const float* logits, int64_t num_tokens, const moe_config& moe, moe_routing& out);

/// Buffers one executor reuses across layers and calls.
struct moe_scratch {
    std::vector<float> logits, rows_in, gate, up, rows_out;
    std::vector<int32_t> token_of_row;
    std::vector<float> weight_of_row;
    moe_routing routing;
};

/// The sparse layer's FFN the CPU runs: fails for a config it cannot (an activation other
/// than SiLU).
status check_cpu_moe(const model_config& c);

/// out[t] = sum over token t's experts e of weight(t, e) * down_e(silu(gate_e(x_t)) * up_e(x_t))
/// for x ([num_tokens][hidden], the normed FFN input) and the router and experts of `w`.
/// out ([num_tokens][hidden]) is overwritten and must not alias x.
void moe_ffn(const layer_weights& w, const model_config& c, const float* x, int64_t num_tokens,
             float* out, cpu::thread_pool& pool, moe_scratch& s);

}  // namespace actorlm
