// moe_config: a mixture-of-experts FFN (Mixtral, Qwen3-MoE) as model_config holds it, and
// the readers that fill it from config.json and GGUF metadata. A sparse layer replaces the
// dense FFN by a router (a linear layer to num_experts logits), a softmax over all of them,
// the num_experts_used largest probabilities (ties: the lower expert index) and, when
// normalize_top_k, those renormalized to sum 1; the token's FFN output is the weighted sum of
// its chosen experts' SwiGLU FFNs. Plain data; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace simdjson::dom {
class object;
}

namespace actorlm {

class gguf_file;
struct model_config;

/// The largest expert count a file may declare (real models: 8 to 512).
inline constexpr int64_t k_max_config_experts = 4096;

struct moe_config {
    int64_t num_experts = 0;               // 0: no sparse layer (a dense model)
    int64_t num_experts_used = 0;          // top-k, 1 <= k <= num_experts
    int64_t expert_intermediate_size = 0;  // each expert's FFN width
    /// Renormalize the top-k probabilities to sum 1 (Mixtral always; Qwen3-MoE's
    /// norm_topk_prob; llama.cpp's <arch>.expert_weights_norm, true when absent).
    bool normalize_top_k = true;
    /// Per layer: true = a dense FFN of model_config::intermediate_size (Qwen3-MoE's
    /// mlp_only_layers / decoder_sparse_step). Empty: every layer sparse.
    std::vector<bool> dense_layers;
};

/// Whether layer `layer` of `c` runs the mixture of experts.
bool layer_is_moe(const model_config& c, int64_t layer);

/// How a config.json model type names its experts (architecture table).
enum class hf_moe_keys : uint8_t {
    none,     // dense
    mixtral,  // num_local_experts, num_experts_per_tok; experts of intermediate_size
    qwen,     // num_experts (or num_local_experts), num_experts_per_tok, moe_intermediate_size,
           // norm_topk_prob, decoder_sparse_step, mlp_only_layers
};

/// Reads the MoE keys of config.json object `o` into c.moe (num_layers already read) and
/// sets c.recipe.mixture_of_experts. Errors name the key.
status read_hf_moe_config(const simdjson::dom::object& o, hf_moe_keys keys, model_config& c);

/// Reads `<prefix>expert_count`, `expert_used_count`, `expert_feed_forward_length` (default
/// feed_forward_length), `expert_weights_norm` (default true, as llama.cpp's Mixtral and
/// Qwen3-MoE graphs); a layer without blk.N.ffn_gate_inp.weight is dense. No expert_count:
/// dense, success.
status read_gguf_moe_config(const gguf_file& f, const std::string& prefix, model_config& c);

/// The sizes of c.moe against each other and the layer count.
status check_moe_config(const model_config& c);

}  // namespace actorlm
