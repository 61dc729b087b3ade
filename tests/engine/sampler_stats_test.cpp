// Statistical checks of the random sampling path: with a fixed seed and 100k
// draws the empirical distribution matches the intended one within 0.01 (the
// standard error is ~0.0016), and excluded tokens are never drawn. A top-p
// that keeps one token too few, or a min-p that compares logits instead of
// probabilities, fails these.
#include <doctest/doctest.h>

#include <cmath>

#include "core/sampler.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace {

constexpr int64_t k_vocab = 6;
// Probabilities 0.4, 0.25, 0.15, 0.1, 0.06, 0.04 at temperature 1.
const std::vector<double> k_probs = {0.4, 0.25, 0.15, 0.1, 0.06, 0.04};

std::vector<double> empirical(const sampling_params& p, int draws) {
    sampler s(42);
    std::vector<float> row;
    for (double q : k_probs) row.push_back(static_cast<float>(std::log(q)));
    std::vector<double> freq(k_vocab, 0.0);
    const int batch = 1000;
    std::vector<sampling_row> rows(batch, sampling_row{&p, {}, {}, {}});
    for (int done = 0; done < draws; done += batch) {
        std::vector<float> logits;
        for (int b = 0; b < batch; ++b) logits.insert(logits.end(), row.begin(), row.end());
        for (auto& r : s.sample(logits, k_vocab, rows)) freq[static_cast<size_t>(r.token_id)] += 1;
    }
    for (double& f : freq) f /= draws;
    return freq;
}

std::vector<double> renormalized(std::vector<double> w) {
    double z = 0;
    for (double x : w) z += x;
    for (double& x : w) x /= z;
    return w;
}

void check_close(const std::vector<double>& got, const std::vector<double>& want) {
    for (size_t i = 0; i < want.size(); ++i) {
        INFO("token " << i << " got " << got[i] << " want " << want[i]);
        if (want[i] == 0.0)
            CHECK(got[i] == 0.0);
        else
            CHECK(std::abs(got[i] - want[i]) < 0.01);
    }
}

}  // namespace

TEST_CASE("sampler_stats: temperature 1 reproduces softmax, 0.5 sharpens it") {
    sampling_params p;
    p.temperature = 1.0f;
    check_close(empirical(p, 100000), k_probs);
    p.temperature = 0.5f;
    std::vector<double> sq;
    for (double q : k_probs) sq.push_back(q * q);  // p^(1/T) with T = 0.5
    check_close(empirical(p, 100000), renormalized(sq));
}

TEST_CASE("sampler_stats: top-k keeps exactly the k most likely tokens") {
    sampling_params p;
    p.top_k = 3;
    check_close(empirical(p, 100000), renormalized({0.4, 0.25, 0.15, 0, 0, 0}));
}

TEST_CASE("sampler_stats: top-p keeps the smallest set reaching p") {
    sampling_params p;
    p.top_p = 0.75f;  // 0.4 + 0.25 = 0.65 < 0.75, + 0.15 = 0.8: three tokens
    check_close(empirical(p, 100000), renormalized({0.4, 0.25, 0.15, 0, 0, 0}));
    p.top_p = 0.65f;  // exactly reached by two tokens
    check_close(empirical(p, 100000), renormalized({0.4, 0.25, 0, 0, 0, 0}));
}

TEST_CASE("sampler_stats: min-p drops tokens below min_p times the top probability") {
    sampling_params p;
    p.min_p = 0.3f;  // threshold 0.12: keeps 0.4, 0.25, 0.15
    check_close(empirical(p, 100000), renormalized({0.4, 0.25, 0.15, 0, 0, 0}));
}

TEST_CASE("sampler_stats: top-k, top-p and temperature combine") {
    sampling_params p;
    p.temperature = 0.5f;  // squared: .16 .0625 .0225 .01 ...; normalized .6295 .2459 .0885 ...
    p.top_k = 4;
    p.top_p = 0.8f;  // .6295 + .2459 = .875 >= .8: two tokens
    check_close(empirical(p, 100000), renormalized({0.16, 0.0625, 0, 0, 0, 0}));
}
