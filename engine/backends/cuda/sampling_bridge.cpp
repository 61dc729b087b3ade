// sampling_params -> gpu_sampling_params (see sampling_bridge.hpp).
#include "backends/cuda/sampling_bridge.hpp"

namespace actorlm::cuda {

std::optional<gpu_sampling_params> to_device_sampling(const sampling_params& p,
                                                      int32_t num_generated, uint64_t step,
                                                      uint64_t fallback_seed) {
    const bool penalties =
        p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f || p.repetition_penalty != 1.0f;
    // min_tokens masks EOS until reached: a logits edit the device sampler lacks.
    const bool masks_eos = !p.ignore_eos && num_generated < p.min_tokens;
    if (penalties || !p.logit_bias.empty() || p.logprobs >= 0 || masks_eos) return std::nullopt;
    gpu_sampling_params g;
    g.temperature = p.temperature;
    g.top_k = p.top_k > 0 ? p.top_k : 0;
    g.top_p = p.top_p;
    g.min_p = p.min_p;
    g.seed = p.seed.value_or(fallback_seed);
    g.step = step;
    return g;
}

}  // namespace actorlm::cuda
