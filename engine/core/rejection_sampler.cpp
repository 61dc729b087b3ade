// rejection_sampler implementation: row by row, stopping at the first mismatch, so a
// rejected draft's later rows are never processed (their penalties and draws would
// assume a history that did not happen).
#include "core/rejection_sampler.hpp"

#include "base/check.hpp"

namespace actorlm::core {

std::vector<sample_result> rejection_sample(sampler& s, std::span<float> logits,
                                            int64_t vocab_size,
                                            std::span<const sampling_row> rows,
                                            std::span<const int32_t> drafts) {
    const auto v = static_cast<size_t>(vocab_size);
    ACTORLM_CHECK(rows.size() == drafts.size() + 1 && logits.size() >= rows.size() * v,
                  "rejection_sample: %zu rows, %zu drafts, %zu logits", rows.size(),
                  drafts.size(), logits.size());
    std::vector<sample_result> out;
    out.reserve(rows.size());
    for (size_t j = 0; j < rows.size(); ++j) {
        auto r = s.sample(logits.subspan(j * v, v), vocab_size, rows.subspan(j, 1));
        out.push_back(std::move(r[0]));
        if (j == drafts.size() || out.back().token_id != drafts[j]) break;
    }
    return out;
}

}  // namespace actorlm::core
