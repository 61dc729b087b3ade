// kv_model_identity: the model identity that roots block-hash chains
// (core::model_identity): a weights fingerprint, the KV-shaping config fields, the
// weights and KV dtypes, the block size and a tokenizer fingerprint. Computed once
// at engine start-up on the caller's thread; pure functions, no state.
#pragma once

#include <string>

#include "core/block_hash.hpp"
#include "model/model_config.hpp"
#include "model/model_executor.hpp"
#include "model/model_weights.hpp"
#include "tokenizer/tokenizer.hpp"

namespace actorlm::kv {

/// A stable digest of the weights: every tensor's name, dtype and shape plus up to
/// 4 KiB of its bytes at the start, middle and end. Reads ~12 KiB per tensor, so it
/// is cheap for any model size, and a fine-tune or requantization changes it.
std::string model_weights_fingerprint(const model_weights& w);

/// A digest of the vocabulary (every token's text), BOS and EOS ids.
std::string tokenizer_fingerprint(const tokenizer& tok);

/// The config fields that shape the KV a model computes (sizes, RoPE, recipe, the sliding
/// window and which layers slide, local layers' RoPE, expert routing), as one string:
/// model_identity::architecture.
std::string model_architecture_key(const model_config& mc);

/// The identity of (model, KV cache) for model_root_block_hash. `weights_fingerprint`
/// may be empty when the weights are not visible (config fields still separate models).
core::model_identity make_model_identity(const model_config& mc,
                                         const std::string& weights_fingerprint,
                                         const kv_cache_spec& kv, const tokenizer& tok);

}  // namespace actorlm::kv
