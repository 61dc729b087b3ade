// tensor_codec: converts weight rows between dtypes for the model writers:
// decodes F32/F16/BF16/Q8_0/Q4_0 to fp32 and encodes fp32 as F32/F16/BF16/Q8_0
// (Q8_0 exactly as ggml's reference quantizer). Scalar reference code, meant
// for writing files, not for inference. Stateless; any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "base/dtype.hpp"
#include "model/model_weights.hpp"
#include "base/result.hpp"

namespace actorlm {

/// True when decode_f32 can read `t`.
bool can_decode(dtype t);
/// True when encode_f32 can write `t`.
bool can_encode(dtype t);

/// Decodes n elements (a multiple of the block size) of type `t` at `src` into fp32.
/// `t` must satisfy can_decode (checked).
void decode_f32(dtype t, const void* src, int64_t n, float* dst);
/// Encodes n fp32 values (a multiple of the block size) as `t` (must satisfy can_encode).
std::vector<uint8_t> encode_f32(dtype t, const float* src, int64_t n);

/// The bytes of `src` in type `target`: a copy when the types agree, otherwise decoded and
/// re-encoded. Errors name the tensor when a conversion is not supported.
result<std::vector<uint8_t>> convert_tensor(const tensor& src, dtype target);

/// Every element of `src` as fp32 (errors when its type cannot be decoded).
result<std::vector<float>> tensor_to_f32(const tensor& src);

}  // namespace actorlm
