// rejection_sampler: verifies one request's draft tokens against the target model's
// logits (Leviathan et al., 2023; vLLM's RejectionSampler for a proposer without
// draft probabilities). Row j of the logits is the target's distribution after the
// request's tokens and drafts[0..j); the rows are sampled in order under the request's
// sampling params, exactly as non-speculative decoding would sample that position, and
// verification stops at the first draft the target does not confirm.
// Stateless beyond the sampler it is given; single-threaded.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/sampler.hpp"

namespace actorlm::core {

/// Verifies `drafts` with `drafts.size() + 1` rows of `logits` (vocab_size floats each,
/// modified in place) and their sampling rows; rows[j].output_token_ids must end with
/// drafts[0..j). Returns the emitted tokens: the accepted drafts, then one token of the
/// target's (the correction at the first rejected position, or the bonus token after the
/// last draft when all are accepted); 1..drafts.size() + 1 results.
///
/// The rule, for a draft proposed with certainty (point-mass draft distribution q = δ_x)
/// and the target's processed distribution p at that position: accept x with probability
/// p(x); on rejection emit a token from p with x removed, renormalised — Leviathan's
/// residual max(0, p - q) / (1 - p(x)). The sampler realises it with the one uniform u it
/// would draw for this output position anyway: t = F⁻¹(u) (inverse CDF of p) is accepted
/// iff t == x, which happens with probability p(x), and given t != x, t follows p without
/// x, renormalised. So a seeded request emits the same tokens with and without
/// speculation, and greedy rows accept exactly while argmax == draft.
std::vector<sample_result> rejection_sample(sampler& s, std::span<float> logits,
                                            int64_t vocab_size,
                                            std::span<const sampling_row> rows,
                                            std::span<const int32_t> drafts);

}  // namespace actorlm::core
