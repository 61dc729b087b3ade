// Binding a sparse layer's router and experts (expert_binding.hpp). Sizes come from the
// checked model_config (moe_config.cpp bounds them); a file's tensor is sliced only after
// its shape and byte count are checked against them.
#include "model/expert_binding.hpp"

#include <string>
#include <vector>

#include "model/model_config.hpp"
#include "model/model_weights.hpp"

namespace actorlm {

namespace {

const char* expert_matrix_name(expert_matrix m) {
    switch (m) {
        case expert_matrix::gate: return "gate";
        case expert_matrix::up: return "up";
        case expert_matrix::down: return "down";
    }
    return "?";
}

std::string expert_shape_text(const std::vector<int64_t>& s) {
    std::string out = "{";
    for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
    return out + "}";
}

// {rows, cols} of matrix `m` of one expert.
std::vector<int64_t> expert_shape(const model_config& c, expert_matrix m) {
    const int64_t h = c.hidden_size, f = c.moe.expert_intermediate_size;
    return m == expert_matrix::down ? std::vector<int64_t>{h, f} : std::vector<int64_t>{f, h};
}

// A matrix view against its expected {rows, cols}: shape, whole blocks, bytes.
status check_expert_matrix(const tensor& t, const char* what, const std::vector<int64_t>& want) {
    if (!t.present()) return make_error("missing tensor '%s' (%s)", t.name.c_str(), what);
    if (t.shape != want)
        return make_error("tensor '%s' has shape %s, but the config needs %s", t.name.c_str(),
                          expert_shape_text(t.shape).c_str(), expert_shape_text(want).c_str());
    const int64_t block = dtype_block_elems(t.type);
    if (block == 0 || want[1] % block != 0)
        return make_error("tensor '%s': row length %lld is not a multiple of %s blocks",
                          t.name.c_str(), (long long)want[1], dtype_name(t.type));
    const size_t need = size_t(want[0]) * dtype_row_bytes(t.type, want[1]);
    if (t.num_bytes != 0 && t.num_bytes < need)
        return make_error("tensor '%s' holds %zu bytes, its shape needs %zu", t.name.c_str(),
                          t.num_bytes, need);
    return status::success();
}

// Views of experts [0, E) of a 3-D {E, rows_per_expert, cols} tensor: rows [row0, row0 +
// rows) of each expert's slice. The whole tensor is checked first.
status slice_experts(const tensor& t, const std::string& name, int64_t num_experts,
                     int64_t rows_per_expert, int64_t row0, int64_t rows, int64_t cols,
                     std::vector<tensor>& out) {
    const std::vector<int64_t> want{num_experts, rows_per_expert, cols};
    if (t.shape != want)
        return make_error("tensor '%s' has shape %s, but the config needs %s", name.c_str(),
                          expert_shape_text(t.shape).c_str(), expert_shape_text(want).c_str());
    const int64_t block = dtype_block_elems(t.type);
    if (block == 0 || cols % block != 0)
        return make_error("tensor '%s': row length %lld is not a multiple of %s blocks",
                          name.c_str(), (long long)cols, dtype_name(t.type));
    const size_t row_bytes = dtype_row_bytes(t.type, cols);
    const size_t need = size_t(num_experts) * size_t(rows_per_expert) * row_bytes;
    if (t.num_bytes < need)
        return make_error("tensor '%s' holds %zu bytes, its shape needs %zu", name.c_str(),
                          t.num_bytes, need);
    out.clear();
    for (int64_t e = 0; e < num_experts; ++e) {
        tensor v;
        v.name = name + "[" + std::to_string(e) + "]";
        v.type = t.type;
        v.shape = {rows, cols};
        v.data = static_cast<const uint8_t*>(t.data) +
                 (size_t(e) * size_t(rows_per_expert) + size_t(row0)) * row_bytes;
        v.num_bytes = size_t(rows) * row_bytes;
        out.push_back(std::move(v));
    }
    return status::success();
}

std::vector<tensor>& expert_list(layer_weights& l, expert_matrix m) {
    return m == expert_matrix::gate ? l.expert_gate
           : m == expert_matrix::up ? l.expert_up
                                    : l.expert_down;
}

constexpr expert_matrix k_expert_matrices[] = {expert_matrix::gate, expert_matrix::up,
                                               expert_matrix::down};

}  // namespace

expert_names gguf_expert_names() {
    expert_names n;
    n.router = [](int64_t l) { return "blk." + std::to_string(l) + ".ffn_gate_inp.weight"; };
    n.stacked = [](int64_t l, expert_matrix m) {
        return "blk." + std::to_string(l) + ".ffn_" + expert_matrix_name(m) + "_exps.weight";
    };
    return n;
}

expert_names hf_expert_names(const char* layer_prefix, const char* router, const char* experts,
                             const char* const* matrices) {
    expert_names n;
    if (!router || !experts) return n;
    const std::string pre = layer_prefix;
    n.router = [pre, r = std::string(router)](int64_t l) {
        return pre + std::to_string(l) + "." + r;
    };
    n.single = [pre, x = std::string(experts), g = std::string(matrices[0]),
                u = std::string(matrices[1]),
                d = std::string(matrices[2])](int64_t l, int64_t e, expert_matrix m) {
        const std::string& s = m == expert_matrix::gate ? g : m == expert_matrix::up ? u : d;
        return pre + std::to_string(l) + "." + x + std::to_string(e) + "." + s;
    };
    // transformers 5's module layout (Mixtral's block_sparse_moe becomes mlp there too).
    n.stacked_gate_up = [pre](int64_t l) {
        return pre + std::to_string(l) + ".mlp.experts.gate_up_proj";
    };
    n.stacked = [pre](int64_t l, expert_matrix m) {
        return m == expert_matrix::down ? pre + std::to_string(l) + ".mlp.experts.down_proj"
                                        : std::string();
    };
    return n;
}

status bind_layer_experts(const model_config& c, int64_t layer, const expert_names& names,
                          const std::function<result<tensor>(const std::string&)>& lookup,
                          layer_weights& l) {
    const int64_t num_experts = c.moe.num_experts, h = c.hidden_size,
                  f = c.moe.expert_intermediate_size;
    if (!names.router) return make_error("this format names no expert tensors");
    // The named tensor, absent (data == nullptr) or an error for an unsupported type.
    auto fetch = [&](const std::string& name) -> result<tensor> {
        if (name.empty()) return tensor{};
        auto t = lookup(name);
        if (!t) return t.err();
        t->name = name;
        return t;
    };
    auto router = fetch(names.router(layer));
    if (!router) return router.err();
    if (!router->present())
        return make_error("missing tensor '%s' (expert router)", names.router(layer).c_str());
    l.ffn_gate_inp = std::move(*router);
    if (names.single) {
        auto probe = fetch(names.single(layer, 0, expert_matrix::gate));
        if (!probe) return probe.err();
        if (probe->present()) {
            for (expert_matrix m : k_expert_matrices) {
                std::vector<tensor>& out = expert_list(l, m);
                out.clear();
                for (int64_t e = 0; e < num_experts; ++e) {
                    auto t = fetch(names.single(layer, e, m));
                    if (!t) return t.err();
                    if (!t->present())
                        return make_error("missing tensor '%s' (expert %lld of %lld)",
                                          t->name.c_str(), (long long)e, (long long)num_experts);
                    out.push_back(std::move(*t));
                }
            }
            return validate_layer_experts(c, layer, l);
        }
    }
    if (names.stacked_gate_up) {
        auto gu = fetch(names.stacked_gate_up(layer));
        if (!gu) return gu.err();
        if (gu->present()) {
            auto down = fetch(names.stacked(layer, expert_matrix::down));
            if (!down) return down.err();
            if (!down->present())
                return make_error("missing tensor '%s' (beside '%s')",
                                  names.stacked(layer, expert_matrix::down).c_str(),
                                  gu->name.c_str());
            if (status s = slice_experts(*gu, gu->name, num_experts, 2 * f, 0, f, h, l.expert_gate);
                !s)
                return s;
            if (status s = slice_experts(*gu, gu->name, num_experts, 2 * f, f, f, h, l.expert_up);
                !s)
                return s;
            if (status s = slice_experts(*down, down->name, num_experts, h, 0, h, f, l.expert_down);
                !s)
                return s;
            return validate_layer_experts(c, layer, l);
        }
    }
    const std::string gate_name = names.stacked ? names.stacked(layer, expert_matrix::gate) : "";
    if (gate_name.empty())
        return make_error("missing the experts of layer %lld (no '%s')", (long long)layer,
                          names.single ? names.single(layer, 0, expert_matrix::gate).c_str() : "?");
    for (expert_matrix m : k_expert_matrices) {
        const std::string name = names.stacked(layer, m);
        auto t = fetch(name);
        if (!t) return t.err();
        if (!t->present())
            return make_error("missing tensor '%s' (%s of every expert)", name.c_str(),
                              expert_matrix_name(m));
        const std::vector<int64_t> s = expert_shape(c, m);
        if (status st =
                slice_experts(*t, name, num_experts, s[0], 0, s[0], s[1], expert_list(l, m));
            !st)
            return st;
    }
    return validate_layer_experts(c, layer, l);
}

status validate_layer_experts(const model_config& c, int64_t layer, const layer_weights& l) {
    const int64_t num_experts = c.moe.num_experts;
    tensor router = l.ffn_gate_inp;
    if (router.name.empty()) router.name = "blk." + std::to_string(layer) + ".ffn_gate_inp.weight";
    if (status s = check_expert_matrix(router, "expert router", {num_experts, c.hidden_size}); !s)
        return s;
    for (expert_matrix m : k_expert_matrices) {
        const std::vector<tensor>& v = m == expert_matrix::gate ? l.expert_gate
                                       : m == expert_matrix::up ? l.expert_up
                                                                : l.expert_down;
        if (int64_t(v.size()) != num_experts)
            return make_error("layer %lld has %zu %s experts, the config says %lld",
                              (long long)layer, v.size(), expert_matrix_name(m),
                              (long long)num_experts);
        for (const tensor& t : v)
            if (status s = check_expert_matrix(t, expert_matrix_name(m), expert_shape(c, m)); !s)
                return s;
    }
    return status::success();
}

}  // namespace actorlm
