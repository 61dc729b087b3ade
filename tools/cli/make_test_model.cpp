// `actorlm make-test-model`: writes a deterministic random-weight model (GGUF
// or Hugging Face directory) with an embedded byte-level BPE tokenizer, for
// tests and benchmarks. Single-threaded; exits non-zero with a message on error.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "cli_values.hpp"
#include "command_registry.hpp"
#include "model/architecture.hpp"
#include "model/test_model_writer.hpp"

namespace make_test_model_command {

struct options {
    std::string out, format = "gguf", preset = "tiny", type = "f32";
    std::string arch;
    std::optional<int64_t> vocab, hidden, ffn, layers, heads, kv_heads, head_dim, ctx;
    std::optional<uint64_t> seed;
    std::optional<float> theta, std_dev;
    bool untied = false;
    std::string name;
};

int run_make_test_model(const options& o) {
    const std::string &out = o.out, &format = o.format, &preset = o.preset, &type = o.type;
    const std::string &arch = o.arch, &name = o.name;
    const auto &vocab = o.vocab, &hidden = o.hidden, &ffn = o.ffn, &layers = o.layers;
    const auto &heads = o.heads, &kv_heads = o.kv_heads, &head_dim = o.head_dim, &ctx = o.ctx;
    const auto& seed = o.seed;
    const auto &theta = o.theta, &std_dev = o.std_dev;
    const bool untied = o.untied;
    auto spec = actorlm::test_model_preset(preset);
    if (!spec) {
        std::fprintf(stderr, "make-test-model: %s\n", spec.message().c_str());
        return 1;
    }
    if (!arch.empty()) spec->arch = arch;
    auto set = [](auto& dst, const auto& opt) {
        if (opt) dst = *opt;
    };
    set(spec->vocab_size, vocab);
    set(spec->hidden_size, hidden);
    set(spec->intermediate_size, ffn);
    set(spec->num_layers, layers);
    set(spec->num_heads, heads);
    set(spec->num_kv_heads, kv_heads);
    set(spec->head_dim, head_dim);
    set(spec->max_position, ctx);
    set(spec->rope_theta, theta);
    set(spec->seed, seed);
    set(spec->init_std, std_dev);
    if (untied) spec->tie_word_embeddings = false;
    if (!name.empty()) spec->name = name;
    spec->weight_type = type == "f16"    ? actorlm::dtype::f16
                        : type == "bf16" ? actorlm::dtype::bf16
                        : type == "q8_0" ? actorlm::dtype::q8_0
                                         : actorlm::dtype::f32;
    if (format == "hf" && spec->weight_type == actorlm::dtype::q8_0) {
        std::fprintf(stderr, "make-test-model: q8_0 is a GGUF type; use f32, f16 or bf16 for hf\n");
        return 1;
    }
    auto t0 = std::chrono::steady_clock::now();
    actorlm::status st = format == "gguf" ? actorlm::write_test_model_gguf(*spec, out)
                                          : actorlm::write_test_model_hf(*spec, out);
    if (!st) {
        std::fprintf(stderr, "make-test-model: %s\n", st.message().c_str());
        return 1;
    }
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr,
                 "wrote %s: %s %s, %lld layers, hidden %lld, vocab %lld, seed %llu (%.1f s)\n",
                 out.c_str(), spec->arch.c_str(), type.c_str(), (long long)spec->num_layers,
                 (long long)spec->hidden_size, (long long)spec->vocab_size,
                 (unsigned long long)spec->seed, s);
    return 0;
}

actorlm::cli::command_action setup(CLI::App& app) {
    auto o = std::make_shared<options>();
    app.add_option("-o,--out", o->out, "output .gguf file or HF directory")->required();
    app.add_option("--format", o->format, "gguf or hf")
        ->check(CLI::IsMember({"gguf", "hf"}))
        ->capture_default_str();
    app.add_option("--preset", o->preset, "tiny or smollm2-135m (other options override it)")
        ->check(CLI::IsMember(actorlm::test_model_preset_names()))
        ->capture_default_str();
    app.add_option("--dtype", o->type, "matrix type: f32, f16, bf16, q8_0 (GGUF only)")
        ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}))
        ->capture_default_str();
    app.add_option("--arch", o->arch, actorlm::hf_model_type_names() + " (default llama)")
        ->check(CLI::IsMember(actorlm::hf_model_type_list()));
    app.add_option("--vocab", o->vocab, "vocabulary size")->check(actorlm::cli::positive());
    app.add_option("--hidden", o->hidden, "hidden size")->check(actorlm::cli::positive());
    app.add_option("--ffn", o->ffn, "FFN (intermediate) size")->check(actorlm::cli::positive());
    app.add_option("--layers", o->layers, "number of layers")->check(actorlm::cli::positive());
    app.add_option("--heads", o->heads, "attention heads")->check(actorlm::cli::positive());
    app.add_option("--kv-heads", o->kv_heads, "KV heads")->check(actorlm::cli::positive());
    app.add_option("--head-dim", o->head_dim, "head dimension")->check(actorlm::cli::positive());
    app.add_option("--ctx", o->ctx, "context length")->check(actorlm::cli::positive());
    app.add_option("--rope-theta", o->theta, "RoPE base")->check(actorlm::cli::positive());
    app.add_option("--seed", o->seed, "random seed (default 1234)");
    app.add_option("--std", o->std_dev, "weight std (default 0.02)")
        ->check(actorlm::cli::positive());
    app.add_option("--name", o->name, "general.name");
    app.add_flag("--untied", o->untied, "write a separate output / lm_head matrix");
    return [o] { return run_make_test_model(*o); };
}

actorlm::cli::command_registration reg("make-test-model",
                                       "write a deterministic random-weight GGUF / HF test model",
                                       setup);

}  // namespace make_test_model_command
