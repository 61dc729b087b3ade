// logprobs implementation: double accumulation for the normalizer; partial sort
// for the top-k; rank = 1 + the number of tokens strictly more likely.
#include "core/logprobs.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace actorlm::core {

void log_softmax(std::span<const float> logits, std::vector<float>& out) {
    out.resize(logits.size());
    const double mx = *std::max_element(logits.begin(), logits.end());
    double total = 0.0;
    for (float l : logits) total += std::exp(static_cast<double>(l) - mx);
    const double lse = mx + std::log(total);
    for (size_t i = 0; i < logits.size(); ++i)
        out[i] = static_cast<float>(static_cast<double>(logits[i]) - lse);
}

position_logprobs gather_logprobs(std::span<const float> logprobs, int32_t token_id,
                                  int32_t top_k) {
    position_logprobs r;
    const float lp = logprobs[static_cast<size_t>(token_id)];
    r.token_ids.push_back(token_id);
    r.logprobs.push_back(lp);
    int32_t greater = 0;
    for (float x : logprobs) greater += x > lp;
    r.rank = greater + 1;
    const auto k =
        static_cast<size_t>(std::clamp<int64_t>(top_k, 0, static_cast<int64_t>(logprobs.size())));
    if (k > 0) {
        std::vector<int32_t> idx(logprobs.size());
        std::iota(idx.begin(), idx.end(), 0);
        std::partial_sort(idx.begin(), idx.begin() + static_cast<std::ptrdiff_t>(k), idx.end(),
                          [&](int32_t a, int32_t b) {
                              const float x = logprobs[static_cast<size_t>(a)];
                              const float y = logprobs[static_cast<size_t>(b)];
                              return x != y ? x > y : a < b;
                          });
        for (size_t i = 0; i < k; ++i) {
            r.token_ids.push_back(idx[i]);
            r.logprobs.push_back(logprobs[static_cast<size_t>(idx[i])]);
        }
    }
    return r;
}

}  // namespace actorlm::core
