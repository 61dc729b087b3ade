// Device sampling: greedy equals the argmax (lowest id on ties), seeds reproduce
// tokens, top-k / top-p / min-p never let a filtered token through, and sampled
// frequencies follow the (tempered, renormalized) distribution.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "cuda/philox.hpp"
#include "cuda/sampling.cuh"
#include "backends/cuda/sampling_bridge.hpp"
#include "gpu_test_support.hpp"

using namespace actorlm;
using namespace actorlm::cuda;
using namespace actorlm::test;

namespace {

// Samples `rows` copies of one logits row with params differing only in `step`.
std::vector<int32_t> sample_many(const std::vector<float>& row, gpu_sampling_params p,
                                 int32_t rows) {
    const int32_t vocab = static_cast<int32_t>(row.size());
    std::vector<float> logits;
    std::vector<gpu_sampling_params> params;
    for (int32_t r = 0; r < rows; ++r) {
        logits.insert(logits.end(), row.begin(), row.end());
        p.step = static_cast<uint64_t>(r);
        params.push_back(p);
    }
    device_array d_logits(logits), d_params(params), d_ids(rows * sizeof(int32_t));
    REQUIRE(sample_tokens(d_logits.as<float>(), rows, vocab, d_params.as<gpu_sampling_params>(),
                          d_ids.as<int32_t>(), nullptr)
                .ok());
    return d_ids.read<int32_t>();
}

std::vector<float> log_probs(const std::vector<double>& p) {
    std::vector<float> l;
    for (double v : p) l.push_back(static_cast<float>(std::log(v)) + 3.0f);  // shift: irrelevant
    return l;
}

}  // namespace

TEST_CASE("gpu: greedy sampling returns the argmax, lowest id on ties") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(21);
    for (int32_t vocab : {7, 1000, 32000, 128256}) {
        const int32_t rows = 5;
        auto logits = random_floats(rng, static_cast<size_t>(rows) * vocab, -10, 10);
        logits[static_cast<size_t>(3) * vocab + vocab / 2] = 50.0f;  // row 3: tie at two ids
        logits[static_cast<size_t>(3) * vocab + vocab - 1] = 50.0f;
        std::vector<gpu_sampling_params> params(rows);
        params[4].temperature = 1.0f;
        params[4].top_k = 1;  // top-k 1 is greedy too
        device_array d_logits(logits), d_params(params), d_ids(rows * sizeof(int32_t));
        REQUIRE(sample_tokens(d_logits.as<float>(), rows, vocab, d_params.as<gpu_sampling_params>(),
                              d_ids.as<int32_t>(), nullptr)
                    .ok());
        auto ids = d_ids.read<int32_t>();
        for (int32_t r = 0; r < rows; ++r) {
            auto begin = logits.begin() + static_cast<size_t>(r) * vocab;
            CHECK(ids[r] == std::max_element(begin, begin + vocab) - begin);
        }
        CHECK(ids[3] == vocab / 2);
    }
}

TEST_CASE("gpu: sampled frequencies follow softmax(logits / temperature)") {
    ACTORLM_REQUIRE_GPU();
    const std::vector<double> p = {0.4, 0.25, 0.15, 0.1, 0.05, 0.03, 0.015, 0.005};
    for (float temperature : {1.0f, 2.0f}) {
        gpu_sampling_params sp;
        sp.temperature = temperature;
        sp.seed = 1234;
        const int32_t draws = 20000;
        auto ids = sample_many(log_probs(p), sp, draws);
        std::vector<double> q(p.size());
        double z = 0;
        for (size_t i = 0; i < p.size(); ++i) z += q[i] = std::pow(p[i], 1.0 / temperature);
        std::vector<int> count(p.size(), 0);
        for (int32_t id : ids) {
            REQUIRE(id >= 0);
            REQUIRE(id < static_cast<int32_t>(p.size()));
            ++count[id];
        }
        for (size_t i = 0; i < p.size(); ++i) {
            const double expect = q[i] / z * draws;
            const double sigma = std::sqrt(expect * (1 - q[i] / z));
            CHECK_MESSAGE(std::abs(count[i] - expect) < 5 * sigma + 2, "T=" << temperature << " id "
                                                                            << i << ": " << count[i]
                                                                            << " vs " << expect);
        }
    }
}

TEST_CASE("gpu: top-k, top-p and min-p never sample a filtered token") {
    ACTORLM_REQUIRE_GPU();
    const std::vector<double> p = {0.05, 0.4,  0.03,
                                   0.3,  0.02, 0.2};  // ids by prob: 1, 3, 5, 0, 2, 4
    auto logits = log_probs(p);
    gpu_sampling_params sp;
    sp.temperature = 1.0f;
    sp.seed = 99;
    auto counts = [&](gpu_sampling_params q) {
        std::map<int32_t, int> c;
        for (int32_t id : sample_many(logits, q, 6000)) ++c[id];
        return c;
    };
    gpu_sampling_params k = sp;
    k.top_k = 2;
    auto ck = counts(k);
    CHECK(ck.size() == 2);
    CHECK(ck.count(1) == 1);
    CHECK(ck.count(3) == 1);
    CHECK(std::abs(double(ck[1]) / ck[3] - 4.0 / 3.0) < 0.15);  // renormalized 0.4 : 0.3

    gpu_sampling_params tp = sp;
    tp.top_p = 0.75f;  // 0.4 + 0.3 = 0.7 < 0.75: needs 0.2 too
    auto cp = counts(tp);
    CHECK(cp.size() == 3);
    CHECK(cp.count(5) == 1);

    gpu_sampling_params mp = sp;
    mp.min_p = 0.6f;  // keeps p >= 0.24: ids 1 and 3
    auto cm = counts(mp);
    CHECK(cm.size() == 2);
    CHECK(cm.count(3) == 1);

    gpu_sampling_params all = sp;
    all.top_k = 3;
    all.top_p = 0.5f;  // within the top 3 (mass 0.9), 0.4 alone is < 0.45 of it
    auto ca = counts(all);
    CHECK(ca.size() == 2);
}

TEST_CASE("gpu: the same seed and step give the same token, other seeds differ") {
    ACTORLM_REQUIRE_GPU();
    std::mt19937 rng(23);
    auto row = random_floats(rng, 32000, -3, 3);
    gpu_sampling_params sp;
    sp.temperature = 1.0f;
    sp.top_p = 0.95f;
    sp.top_k = 500;
    sp.seed = 7;
    auto a = sample_many(row, sp, 64);
    auto b = sample_many(row, sp, 64);
    CHECK(a == b);
    sp.seed = 8;
    auto c = sample_many(row, sp, 64);
    CHECK(a != c);
    std::map<int32_t, int> distinct;
    for (int32_t id : a) ++distinct[id];
    CHECK(distinct.size() > 16);  // steps advance the counter
}

TEST_CASE("gpu: sampling parameters are validated with the field named (host)") {
    std::vector<gpu_sampling_params> p(3);
    CHECK(validate_sampling_params(p.data(), 3).ok());
    p[1].top_p = 0.0f;
    auto e = validate_sampling_params(p.data(), 3);
    REQUIRE_FALSE(e.ok());
    CHECK(e.message().find("row 1") != std::string::npos);
    CHECK(e.message().find("top_p") != std::string::npos);
    p[1].top_p = 1.0f;
    p[2].min_p = 1.0f;
    CHECK(validate_sampling_params(p.data(), 3).message().find("min_p") != std::string::npos);
    p[2].min_p = 0.0f;
    p[0].temperature = NAN;
    CHECK(validate_sampling_params(p.data(), 3).message().find("temperature") != std::string::npos);
}

TEST_CASE("gpu: philox matches the published known-answer vector (host)") {
    // Random123 kat_vectors: philox4x32_10, counter = 0, key = 0.
    const philox_block z = philox4x32_10(0, 0);
    CHECK(z.v[0] == 0x6627e8d5u);
    CHECK(z.v[1] == 0xe169c58du);
    CHECK(z.v[2] == 0xbc57ac4cu);
    CHECK(z.v[3] == 0x9b00dbd8u);
}

TEST_CASE("gpu: request sampling params map to device rows, or to the host sampler (host)") {
    sampling_params p;
    p.temperature = 0.7f;
    p.top_k = -1;
    p.top_p = 0.9f;
    p.min_p = 0.05f;
    auto g = to_device_sampling(p, 0, 5, 77);
    REQUIRE(g.has_value());
    CHECK(g->temperature == 0.7f);
    CHECK(g->top_k == 0);  // -1 means off
    CHECK(g->top_p == 0.9f);
    CHECK(g->min_p == 0.05f);
    CHECK(g->seed == 77);  // unseeded: the caller's fallback
    CHECK(g->step == 5);
    p.seed = 123;
    CHECK(to_device_sampling(p, 0, 5, 77)->seed == 123);

    sampling_params pen = p;
    pen.repetition_penalty = 1.1f;
    CHECK_FALSE(to_device_sampling(pen, 0, 0, 0).has_value());
    sampling_params bias = p;
    bias.logit_bias = {{3, -100.0f}};
    CHECK_FALSE(to_device_sampling(bias, 0, 0, 0).has_value());
    sampling_params lp = p;
    lp.logprobs = 0;
    CHECK_FALSE(to_device_sampling(lp, 0, 0, 0).has_value());
    sampling_params min_tokens = p;
    min_tokens.min_tokens = 4;
    CHECK_FALSE(to_device_sampling(min_tokens, 3, 0, 0).has_value());
    CHECK(to_device_sampling(min_tokens, 4, 0, 0).has_value());
}
