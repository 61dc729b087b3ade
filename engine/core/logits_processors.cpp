// logits_processors implementation. Probabilities are computed in double with
// the max subtracted, so masked (-inf) entries contribute exactly zero.
#include "core/logits_processors.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

namespace actorlm::core {
namespace {

constexpr float k_neg_inf = -std::numeric_limits<float>::infinity();

float max_of(std::span<const float> x) { return *std::max_element(x.begin(), x.end()); }

}  // namespace

void apply_token_bitmask(std::span<float> logits, std::span<const uint32_t> allowed) {
    const size_t n = logits.size();
    const size_t covered = std::min(n, allowed.size() * 32);
    // Masks are mostly whole words of 0 (a literal expected) or of 1 (inside a string):
    // those take a fill or nothing; only mixed words go bit by bit.
    for (size_t w = 0; w * 32 < covered; ++w) {
        const uint32_t bits = allowed[w];
        const size_t begin = w * 32, end = std::min(covered, begin + 32);
        if (bits == 0xFFFFFFFFu) continue;
        if (bits == 0) {
            std::fill(logits.begin() + static_cast<std::ptrdiff_t>(begin),
                      logits.begin() + static_cast<std::ptrdiff_t>(end), k_neg_inf);
            continue;
        }
        for (size_t i = begin; i < end; ++i)
            if (!((bits >> (i - begin)) & 1u)) logits[i] = k_neg_inf;
    }
    for (size_t i = covered; i < n; ++i) logits[i] = k_neg_inf;
}

void apply_min_tokens(std::span<float> logits, const actorlm::sampling_params& p,
                      int32_t num_output_tokens, std::span<const int32_t> eos_token_ids) {
    if (num_output_tokens >= p.min_tokens) return;
    const auto v = static_cast<int32_t>(logits.size());
    if (!p.ignore_eos)
        for (int32_t t : eos_token_ids)
            if (t >= 0 && t < v) logits[static_cast<size_t>(t)] = k_neg_inf;
    for (int32_t t : p.stop_token_ids)
        if (t >= 0 && t < v) logits[static_cast<size_t>(t)] = k_neg_inf;
}

void apply_logit_bias(std::span<float> logits, const actorlm::sampling_params& p) {
    const auto v = static_cast<int32_t>(logits.size());
    for (const auto& [t, bias] : p.logit_bias)
        if (t >= 0 && t < v) logits[static_cast<size_t>(t)] += bias;
}

void apply_penalties(std::span<float> logits, const actorlm::sampling_params& p,
                     std::span<const int32_t> prompt_token_ids,
                     std::span<const int32_t> output_token_ids, std::vector<int32_t>& scratch) {
    const bool rep = p.repetition_penalty != 1.0f;
    const bool freq = p.frequency_penalty != 0.0f || p.presence_penalty != 0.0f;
    if (!rep && !freq) return;
    const auto v = static_cast<int32_t>(logits.size());
    if (rep) {
        // Each distinct token once: mark in scratch, apply, unmark.
        scratch.assign(logits.size(), 0);
        auto penalize = [&](int32_t t) {
            if (t < 0 || t >= v || scratch[static_cast<size_t>(t)]) return;
            scratch[static_cast<size_t>(t)] = 1;
            float& l = logits[static_cast<size_t>(t)];
            l = l > 0.0f ? l / p.repetition_penalty : l * p.repetition_penalty;
        };
        for (int32_t t : prompt_token_ids) penalize(t);
        for (int32_t t : output_token_ids) penalize(t);
    }
    if (freq) {
        scratch.assign(logits.size(), 0);
        for (int32_t t : output_token_ids)
            if (t >= 0 && t < v) ++scratch[static_cast<size_t>(t)];
        for (int32_t t : output_token_ids) {
            if (t < 0 || t >= v) continue;
            int32_t& c = scratch[static_cast<size_t>(t)];
            if (c == 0) continue;  // already applied
            logits[static_cast<size_t>(t)] -=
                p.frequency_penalty * static_cast<float>(c) + p.presence_penalty;
            c = 0;
        }
    }
}

void apply_temperature(std::span<float> logits, float temperature) {
    const float inv = 1.0f / temperature;
    for (float& l : logits) l *= inv;
}

void apply_min_p(std::span<float> logits, float min_p) {
    if (min_p <= 0.0f) return;
    // p_i / p_max = exp(l_i - l_max) < min_p  <=>  l_i < l_max + log(min_p)
    const float cut = max_of(logits) + std::log(min_p);
    for (float& l : logits)
        if (l < cut) l = k_neg_inf;
}

void apply_top_k_top_p(std::span<float> logits, int32_t top_k, float top_p) {
    const auto v = static_cast<int32_t>(logits.size());
    const bool use_k = top_k > 0 && top_k < v;
    const bool use_p = top_p < 1.0f;
    if (!use_k && !use_p) return;
    if (use_k) {
        std::vector<float> tmp(logits.begin(), logits.end());
        std::nth_element(tmp.begin(), tmp.begin() + (top_k - 1), tmp.end(), std::greater<float>());
        const float kth = tmp[static_cast<size_t>(top_k - 1)];
        for (float& l : logits)
            if (l < kth) l = k_neg_inf;
    }
    if (!use_p) return;
    // Candidates (finite logits) in descending order; keep the shortest head whose
    // probability mass reaches top_p (vLLM masks the ascending tail with
    // cumulative mass <= 1 - top_p, which is the same set).
    std::vector<int32_t> idx;
    idx.reserve(logits.size());
    for (int32_t i = 0; i < v; ++i)
        if (logits[static_cast<size_t>(i)] != k_neg_inf) idx.push_back(i);
    std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) {
        return logits[static_cast<size_t>(a)] > logits[static_cast<size_t>(b)];
    });
    const double mx = logits[static_cast<size_t>(idx[0])];
    double total = 0.0;
    for (int32_t i : idx)
        total += std::exp(static_cast<double>(logits[static_cast<size_t>(i)]) - mx);
    const double need = static_cast<double>(top_p) * total;
    double acc = 0.0;
    size_t keep = 0;
    while (keep < idx.size()) {
        acc += std::exp(static_cast<double>(logits[static_cast<size_t>(idx[keep])]) - mx);
        ++keep;
        if (acc >= need * (1.0 - 1e-12)) break;
    }
    for (size_t j = keep; j < idx.size(); ++j) logits[static_cast<size_t>(idx[j])] = k_neg_inf;
}

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

int32_t sample_from_logits(std::span<const float> logits, double u) {
    // One exp per entry, kept for the scan; thread_local so rows reuse the buffer.
    thread_local std::vector<float> e;
    e.resize(logits.size());
    const float mx = max_of(logits);
    double total = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) {
        e[i] = std::exp(logits[i] - mx);
        total += e[i];
    }
    const double target = u * total;
    double acc = 0.0;
    int32_t last_nonzero = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
        if (e[i] == 0.0f) continue;
        acc += e[i];
        last_nonzero = static_cast<int32_t>(i);
        if (acc > target) return last_nonzero;
    }
    return last_nonzero;  // rounding at u close to 1
}

}  // namespace actorlm::core
