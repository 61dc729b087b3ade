// cpu_moe: routing and the grouped expert FFN (see cpu_moe.hpp).
#include "backends/cpu/cpu_moe.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "cpu/activation.hpp"
#include "cpu/matmul.hpp"

namespace actorlm {

void moe_route(const float* logits, int64_t num_tokens, const moe_config& moe, moe_routing& out) {
    const int64_t n = moe.num_experts, k = moe.num_experts_used;
    out.num_tokens = num_tokens;
    out.top_k = k;
    out.expert.resize(size_t(num_tokens * k));
    out.weight.resize(size_t(num_tokens * k));
    std::vector<float> p(static_cast<size_t>(n));
    std::vector<bool> taken(static_cast<size_t>(n));
    for (int64_t t = 0; t < num_tokens; ++t) {
        const float* l = logits + t * n;
        float max = l[0];
        for (int64_t e = 1; e < n; ++e) max = std::max(max, l[e]);
        float sum = 0.0f;
        for (int64_t e = 0; e < n; ++e) sum += (p[size_t(e)] = std::exp(l[e] - max));
        for (int64_t e = 0; e < n; ++e) p[size_t(e)] /= sum;
        std::fill(taken.begin(), taken.end(), false);
        int32_t* ex = out.expert.data() + t * k;
        float* w = out.weight.data() + t * k;
        float chosen = 0.0f;
        for (int64_t j = 0; j < k; ++j) {
            int64_t best = -1;
            for (int64_t e = 0; e < n; ++e)  // strict >: a tie keeps the lower index
                if (!taken[size_t(e)] && (best < 0 || p[size_t(e)] > p[size_t(best)])) best = e;
            taken[size_t(best)] = true;
            ex[j] = int32_t(best);
            w[j] = p[size_t(best)];
            chosen += w[j];
        }
        if (moe.normalize_top_k)
            for (int64_t j = 0; j < k; ++j) w[j] /= chosen;
    }
}

status check_cpu_moe(const model_config& c) {
    if (!c.recipe.mixture_of_experts) return status::success();
    if (c.recipe.activation != ffn_activation::silu || !c.recipe.gated_ffn || c.recipe.linear_bias)
        return make_error(
            "the CPU backend runs mixture-of-experts layers with SwiGLU experts "
            "without biases only");
    return check_moe_config(c);
}

void moe_ffn(const layer_weights& w, const model_config& c, const float* x, int64_t num_tokens,
             float* out, cpu::thread_pool& pool, moe_scratch& s) {
    const int64_t h = c.hidden_size, f = c.moe.expert_intermediate_size, n = c.moe.num_experts,
                  k = c.moe.num_experts_used;
    s.logits.resize(size_t(num_tokens * n));
    cpu::matmul(w.ffn_gate_inp, x, num_tokens, s.logits.data(), pool);
    moe_route(s.logits.data(), num_tokens, c.moe, s.routing);
    std::memset(out, 0, size_t(num_tokens * h) * sizeof(float));
    // Per expert, in increasing index: gather its rows, run gate/up/down, scatter-add.
    // Counting first keeps the gather one pass per expert over an index list.
    std::vector<int64_t> count(size_t(n), 0);
    for (int64_t i = 0; i < num_tokens * k; ++i) ++count[size_t(s.routing.expert[size_t(i)])];
    std::vector<int64_t> start(size_t(n) + 1, 0);
    for (int64_t e = 0; e < n; ++e) start[size_t(e) + 1] = start[size_t(e)] + count[size_t(e)];
    s.token_of_row.resize(size_t(num_tokens * k));
    s.weight_of_row.resize(size_t(num_tokens * k));
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t t = 0; t < num_tokens; ++t)  // tokens stay in order inside each group
        for (int64_t j = 0; j < k; ++j) {
            const int32_t e = s.routing.expert[size_t(t * k + j)];
            const int64_t r = fill[size_t(e)]++;
            s.token_of_row[size_t(r)] = int32_t(t);
            s.weight_of_row[size_t(r)] = s.routing.weight[size_t(t * k + j)];
        }
    const int64_t most = *std::max_element(count.begin(), count.end());
    s.rows_in.resize(size_t(most * h));
    s.gate.resize(size_t(most * f));
    s.up.resize(size_t(most * f));
    s.rows_out.resize(size_t(most * h));
    for (int64_t e = 0; e < n; ++e) {
        const int64_t m = count[size_t(e)], r0 = start[size_t(e)];
        if (m == 0) continue;
        for (int64_t r = 0; r < m; ++r)
            std::memcpy(s.rows_in.data() + r * h, x + int64_t(s.token_of_row[size_t(r0 + r)]) * h,
                        size_t(h) * sizeof(float));
        cpu::matmul(w.expert_gate[size_t(e)], s.rows_in.data(), m, s.gate.data(), pool);
        cpu::matmul(w.expert_up[size_t(e)], s.rows_in.data(), m, s.up.data(), pool);
        cpu::silu_mul(s.gate.data(), s.up.data(), s.gate.data(), m * f);
        cpu::matmul(w.expert_down[size_t(e)], s.gate.data(), m, s.rows_out.data(), pool);
        for (int64_t r = 0; r < m; ++r) {
            float* y = out + int64_t(s.token_of_row[size_t(r0 + r)]) * h;
            const float* d = s.rows_out.data() + r * h;
            const float wt = s.weight_of_row[size_t(r0 + r)];
            for (int64_t i = 0; i < h; ++i) y[i] += wt * d[i];
        }
    }
}

}  // namespace actorlm
