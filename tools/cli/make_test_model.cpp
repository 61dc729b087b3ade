// `actorlm make-test-model`: writes a deterministic random-weight model (GGUF
// or Hugging Face directory) with an embedded byte-level BPE tokenizer, for
// tests and benchmarks. Single-threaded; exits non-zero with a message on error.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>

#include "command_registry.hpp"
#include "model/test_model_writer.hpp"

namespace {

int run_make_test_model(const std::vector<std::string>& args) {
    CLI::App app{"Write a deterministic random-weight test model", "actorlm make-test-model"};
    std::string out, format = "gguf", preset = "tiny", type = "f32";
    app.add_option("-o,--out", out, "output .gguf file or HF directory")->required();
    app.add_option("--format", format, "gguf or hf")->check(CLI::IsMember({"gguf", "hf"}));
    app.add_option("--preset", preset, "tiny or smollm2-135m (other options override it)")
        ->check(CLI::IsMember(actorlm::test_model_preset_names()));
    app.add_option("--type", type, "matrix type: f32, f16, bf16, q8_0 (GGUF only)")
        ->check(CLI::IsMember({"f32", "f16", "bf16", "q8_0"}));
    std::string arch;
    std::optional<int64_t> vocab, hidden, ffn, layers, heads, kv_heads, head_dim, ctx;
    std::optional<uint64_t> seed;
    std::optional<float> theta, std_dev;
    bool untied = false;
    std::string name;
    app.add_option("--arch", arch, "llama, mistral, qwen2 or qwen3 (default llama)")
        ->check(CLI::IsMember({"llama", "mistral", "qwen2", "qwen3"}));
    app.add_option("--vocab", vocab, "vocabulary size");
    app.add_option("--hidden", hidden, "hidden size");
    app.add_option("--ffn", ffn, "FFN (intermediate) size");
    app.add_option("--layers", layers, "number of layers");
    app.add_option("--heads", heads, "attention heads");
    app.add_option("--kv-heads", kv_heads, "KV heads");
    app.add_option("--head-dim", head_dim, "head dimension");
    app.add_option("--ctx", ctx, "context length");
    app.add_option("--rope-theta", theta, "RoPE base");
    app.add_option("--seed", seed, "random seed (default 1234)");
    app.add_option("--std", std_dev, "weight std (default 0.02)");
    app.add_option("--name", name, "general.name");
    app.add_flag("--untied", untied, "write a separate output / lm_head matrix");

    std::vector<std::string> argv_s = {"actorlm make-test-model"};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& a : argv_s) argv.push_back(a.data());
    try {
        app.parse(int(argv.size()), argv.data());
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

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
    std::fprintf(stderr, "wrote %s: %s %s, %lld layers, hidden %lld, vocab %lld, seed %llu (%.1f s)\n",
                 out.c_str(), spec->arch.c_str(), type.c_str(), (long long)spec->num_layers,
                 (long long)spec->hidden_size, (long long)spec->vocab_size,
                 (unsigned long long)spec->seed, s);
    return 0;
}

actorlm::cli::command_registration reg("make-test-model",
                                       "write a deterministic random-weight GGUF / HF test model",
                                       run_make_test_model);

}  // namespace
