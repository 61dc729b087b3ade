// model_loader error paths: unknown architecture, unsupported tensor type,
// missing tensor, shape mismatch, bad HF dtype/config, unknown paths. Each
// error must name the offending thing so a user can act on it.
#include <doctest/doctest.h>

#include "loader_test_support.hpp"
#include "model/model_loader.hpp"
#include "model/test_model_writer.hpp"

using namespace actorlm;
using actorlm::test::offset_after;
using actorlm::test::poke;
using actorlm::test::scratch_dir;

namespace {

std::string load_error(const std::string& path) {
    auto m = load_model(path);
    REQUIRE_FALSE(m.ok());
    return m.message();
}

}  // namespace

TEST_CASE("loader names what is wrong with a GGUF model") {
    scratch_dir dir;
    test_model_spec spec;  // llama, hidden 64, 2 layers, 4 heads / 2 KV heads, head_dim 16
    REQUIRE(write_test_model_gguf(spec, dir.file("m.gguf")).ok());
    const auto good = test::read_bytes(dir.file("m.gguf"));
    REQUIRE(load_model(dir.file("m.gguf")).ok());
    auto check_error = [&](const std::vector<uint8_t>& bytes, const std::string& expect) {
        test::write_bytes(dir.file("bad.gguf"), bytes);
        std::string msg = load_error(dir.file("bad.gguf"));
        CHECK_MESSAGE(msg.find(expect) != std::string::npos, msg);
    };
    // Tensor info: name, u32 n_dims, u64 ne[n_dims], u32 type, u64 offset.
    auto b = good;
    // Rename blk.1.ffn_up.weight (same length): the loader misses it.
    b[offset_after(b, "blk.1.ffn_up.weight") - 1] = 'X';
    check_error(b, "missing tensor 'blk.1.ffn_up.weight'");
    b = good;
    // Q4_1 (ggml type 3) is smaller than F32, so the file stays consistent.
    poke<uint32_t>(b, offset_after(b, "blk.0.attn_v.weight") + 4 + 16, 3);
    check_error(b, "tensor 'blk.0.attn_v.weight' has type Q4_1 (3), which is not supported");
    b = good;
    // blk.0.attn_k.weight rows 32 -> 16 (ne[1]).
    poke<uint64_t>(b, offset_after(b, "blk.0.attn_k.weight") + 4 + 8, 16);
    check_error(b,
                "tensor 'blk.0.attn_k.weight' has shape {16, 64}, but the config needs {32, 64}");
    b = good;
    // general.architecture "llama" -> "bloom" (same length).
    size_t arch_at = offset_after(b, "general.architecture") + 4 + 8;
    std::memcpy(b.data() + arch_at, "bloom", 5);
    check_error(b, "architecture 'bloom' is not supported");
    b = good;
    // llama.block_count 2 -> 4000: fails at the first missing layer, no huge allocation.
    poke<uint32_t>(b, offset_after(b, "llama.block_count") + 4, 4000);
    check_error(b, "missing tensor 'blk.2.attn_norm.weight'");
    b = good;
    // Past the layer limit the config reader refuses it before anything is sized from it.
    poke<uint32_t>(b, offset_after(b, "llama.block_count") + 4, 1000000);
    check_error(b, "llama.block_count 1000000 is above the limit 4096");
    b = good;
    poke<uint32_t>(b, offset_after(b, "llama.attention.head_count_kv") + 4, 3);
    check_error(b, "not a multiple of head_count_kv 3");
    b = good;
    poke<uint32_t>(b, offset_after(b, "llama.embedding_length") + 4, 0);
    check_error(b, "missing or invalid llama.embedding_length");
    // A corrupt file reaches the caller as the reader's error.
    b = good;
    b.resize(b.size() / 2);
    check_error(b, "truncated");
}

TEST_CASE("loader names what is wrong with a Hugging Face directory") {
    scratch_dir dir;
    test_model_spec spec;
    REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
    REQUIRE(load_model(dir.file("hf")).ok());
    const auto weights = test::read_bytes(dir.file("hf/model.safetensors"));
    std::string config;
    {
        auto c = test::read_bytes(dir.file("hf/config.json"));
        config.assign(c.begin(), c.end());
    }
    auto replace = [](std::string s, const std::string& from, const std::string& to) {
        size_t at = s.find(from);
        REQUIRE(at != std::string::npos);
        return s.replace(at, from.size(), to);
    };
    SUBCASE("unsupported dtype") {
        auto b = weights;
        // The header lists model.embed_tokens.weight first; F32 -> I32 keeps its size.
        size_t at = offset_after(b, "\"model.embed_tokens.weight\":{\"dtype\":\"");
        b[at] = 'I';
        test::write_bytes(dir.file("hf/model.safetensors"), b);
        CHECK(
            load_error(dir.file("hf"))
                .find("tensor 'model.embed_tokens.weight' has dtype I32, which is not supported") !=
            std::string::npos);
    }
    SUBCASE("shape mismatch") {
        test::write_text(dir.file("hf/config.json"), replace(config, "\"intermediate_size\": 128",
                                                             "\"intermediate_size\": 100"));
        CHECK(load_error(dir.file("hf"))
                  .find("has shape {128, 64}, but the config needs {100, 64}") !=
              std::string::npos);
    }
    SUBCASE("unknown model type") {
        test::write_text(dir.file("hf/config.json"),
                         replace(config, "\"model_type\": \"llama\"", "\"model_type\": \"phi3\""));
        CHECK(load_error(dir.file("hf")).find("model_type 'phi3' is not supported") !=
              std::string::npos);
    }
    SUBCASE("missing tensor") {
        auto b = weights;
        b[offset_after(b, "model.layers.1.mlp.up_proj.weight") - 1] = 'X';
        test::write_bytes(dir.file("hf/model.safetensors"), b);
        CHECK(
            load_error(dir.file("hf")).find("missing tensor 'model.layers.1.mlp.up_proj.weight'") !=
            std::string::npos);
    }
    SUBCASE("missing files") {
        std::filesystem::remove(dir.file("hf/model.safetensors"));
        CHECK(load_error(dir.file("hf")).find("no model.safetensors") != std::string::npos);
        std::filesystem::remove(dir.file("hf/config.json"));
        CHECK(load_error(dir.file("hf")).find("no readable config.json") != std::string::npos);
    }
    SUBCASE("truncated weights") {
        auto b = weights;
        b.resize(b.size() - 100);
        test::write_bytes(dir.file("hf/model.safetensors"), b);
        CHECK(load_error(dir.file("hf")).find("truncated or corrupt") != std::string::npos);
    }
}

TEST_CASE("loader rejects paths that are no model") {
    scratch_dir dir;
    CHECK(load_error(dir.file("nope.gguf")).find("does not exist") != std::string::npos);
    test::write_text(dir.file("notes.txt"), "hello");
    CHECK(load_error(dir.file("notes.txt")).find("neither a GGUF file nor a Hugging Face") !=
          std::string::npos);
    CHECK(load_error(dir.path().string()).find("config.json") != std::string::npos);
}
