// expert_binding: the router and expert matrices of a sparse layer (moe_config.hpp), bound
// from the layouts files use: one 3-D tensor per matrix {experts, rows, cols} (GGUF's
// ffn_gate_exps / ffn_up_exps / ffn_down_exps), transformers' fused {experts, 2 * ffn, hidden}
// gate_up_proj with a 3-D down_proj, or one 2-D tensor per expert (Hugging Face checkpoints,
// also what transformers 5 save_pretrained writes). Each expert is a view into the mapped
// file: a 3-D tensor is sliced, never copied. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"
#include "base/tensor.hpp"

namespace actorlm {

struct model_config;
struct layer_weights;

/// The matrices of one expert's SwiGLU FFN.
enum class expert_matrix : uint8_t { gate, up, down };

/// How a format names a layer's router and experts; an empty function: that layout is not
/// used by the format.
struct expert_names {
    std::function<std::string(int64_t layer)> router;
    /// One 3-D tensor per matrix.
    std::function<std::string(int64_t layer, expert_matrix m)> stacked;
    /// transformers' fused gate and up {experts, 2 * ffn, hidden} (with stacked down).
    std::function<std::string(int64_t layer)> stacked_gate_up;
    /// One 2-D tensor per expert.
    std::function<std::string(int64_t layer, int64_t expert, expert_matrix m)> single;
};

/// GGUF names: blk.N.ffn_gate_inp.weight, blk.N.ffn_{gate,up,down}_exps.weight.
expert_names gguf_expert_names();
/// Hugging Face names of architecture table entry `router` / `experts` / matrices (null:
/// dense, empty names), plus transformers 5's model.layers.N.mlp.experts.{gate_up,down}_proj.
expert_names hf_expert_names(const char* layer_prefix, const char* router, const char* experts,
                             const char* const* matrices);

/// Binds layer `layer`'s router and experts into `l` through `lookup` (a view, or a view with
/// data == nullptr when absent). Errors name the missing or malformed tensor; a 3-D tensor's
/// expert count, shape and byte size are checked before it is sliced.
status bind_layer_experts(const model_config& c, int64_t layer, const expert_names& names,
                          const std::function<result<tensor>(const std::string&)>& lookup,
                          layer_weights& l);

/// The router and every expert view of sparse layer `layer` have the config's shapes, whole
/// blocks per row and the bytes their shapes need (validate_weights' rule).
status validate_layer_experts(const model_config& c, int64_t layer, const layer_weights& l);

}  // namespace actorlm
