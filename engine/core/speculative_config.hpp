// speculative_config: the parsed --speculative-config JSON (vLLM's SpeculativeConfig),
// {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4,
//  "prompt_lookup_min": 2}. Only the n-gram (prompt lookup) proposer exists; parsing
// checks every key and names the one at fault. Plain data; pure functions.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/result.hpp"

namespace actorlm::core {

struct speculative_config {
    /// Draft tokens proposed (and verified) per request per step; 0 = speculation off.
    int32_t num_speculative_tokens = 0;
    /// The n-gram proposer matches suffixes of prompt + output of these lengths.
    int32_t prompt_lookup_min = 0;
    int32_t prompt_lookup_max = 0;

    bool enabled() const { return num_speculative_tokens > 0; }
};

/// The most draft tokens per step we accept (vLLM's rejection sampler caps it at 128).
inline constexpr int32_t k_max_speculative_tokens = 128;
/// The longest n-gram the proposer may match.
inline constexpr int32_t k_max_prompt_lookup = 1024;

/// Parses and checks the JSON text. As vLLM: "method" must be "ngram" ("[ngram]" is
/// accepted as its older spelling), "num_speculative_tokens" is required (1..128);
/// with neither lookup bound given both are 5, with one given the other equals it,
/// and 1 <= prompt_lookup_min <= prompt_lookup_max. Errors name the field.
result<speculative_config> parse_speculative_config(std::string_view json);

}  // namespace actorlm::core
