// model_weights round trips through the model writers: a loaded GGUF written
// as HF (and the reverse) is the same model as the shared reference conversion,
// rope scaling survives both formats, and sharded HF checkpoints load.
#include <doctest/doctest.h>

#include <fstream>

#include "loader_test_support.hpp"
#include "model/model_loader.hpp"
#include "model/gguf_config.hpp"
#include "model/model_writer.hpp"
#include "model/safetensors_file.hpp"
#include "model/safetensors_writer.hpp"
#include "model/test_model_writer.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using actorlm::test::check_same_weights;
using actorlm::test::scratch_dir;
using actorlm::test::shared_path;

TEST_CASE("stories260K.gguf written as HF equals the shared HF conversion") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/model.safetensors");
    scratch_dir dir;
    auto gg = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE(gg.ok());
    REQUIRE(write_hf_model(gg->config, gg->weights, dir.file("hf")).ok());
    auto mine = load_model(dir.file("hf"));
    REQUIRE_MESSAGE(mine.ok(), (mine.ok() ? "" : mine.message()));
    auto ref = load_model(shared_path("models/stories260K-hf"));
    REQUIRE(ref.ok());
    CHECK(mine->config.rope_neox);
    // Un-permuted Q/K rows: the very bytes of the reference conversion.
    for (size_t l = 0; l < 5; ++l) {
        const tensor& a = mine->weights.layers[l].wq;
        const tensor& b = ref->weights.layers[l].wq;
        CHECK(std::memcmp(a.data, b.data, a.num_bytes) == 0);
        CHECK(std::memcmp(mine->weights.layers[l].wk.data, ref->weights.layers[l].wk.data,
                          b.num_bytes / 2) == 0);
    }
    check_same_weights(mine->config, mine->weights, ref->config, ref->weights);
}

TEST_CASE("the stories260K HF directory written as GGUF equals stories260K.gguf") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/model.safetensors");
    scratch_dir dir;
    auto hf = load_model(shared_path("models/stories260K-hf"));
    REQUIRE(hf.ok());
    auto ref = load_model(shared_path("models/stories260K.gguf"));
    REQUIRE(ref.ok());
    model_write_options opt;
    opt.tokenizer_source = ref->gguf.get();  // carry the SentencePiece vocab along
    REQUIRE(write_gguf_model(hf->config, hf->weights, dir.file("s.gguf"), opt).ok());
    auto mine = load_model(dir.file("s.gguf"));
    REQUIRE_MESSAGE(mine.ok(), (mine.ok() ? "" : mine.message()));
    CHECK_FALSE(mine->config.rope_neox);
    for (size_t l = 0; l < 5; ++l) {
        const tensor& a = mine->weights.layers[l].wq;
        const tensor& b = ref->weights.layers[l].wq;
        REQUIRE(a.num_bytes == b.num_bytes);
        CHECK(std::memcmp(a.data, b.data, a.num_bytes) == 0);  // re-permuted like llama.cpp
    }
    check_same_weights(mine->config, mine->weights, ref->config, ref->weights);
    CHECK(mine->gguf->get_string_array("tokenizer.ggml.tokens") ==
          ref->gguf->get_string_array("tokenizer.ggml.tokens"));
    CHECK(mine->gguf->get_float_array("tokenizer.ggml.scores") ==
          ref->gguf->get_float_array("tokenizer.ggml.scores"));
    CHECK(mine->config.bos_token_id == 1);
    CHECK(mine->config.eos_token_ids == std::vector<int32_t>{2});
}

TEST_CASE("a GGUF written from GGUF weights keeps quantized and F16 matrices as they are") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    scratch_dir dir;
    auto a = load_model(shared_path("models/llama-2-tiny-random.gguf"));
    REQUIRE(a.ok());
    model_write_options opt;
    opt.tokenizer_source = a->gguf.get();
    REQUIRE(write_gguf_model(a->config, a->weights, dir.file("copy.gguf"), opt).ok());
    auto b = load_model(dir.file("copy.gguf"));
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.message()));
    CHECK(b->weights.layers[0].wq.type == dtype::f16);
    CHECK(std::memcmp(a->weights.layers[0].wq.data, b->weights.layers[0].wq.data,
                      a->weights.layers[0].wq.num_bytes) == 0);  // no double permutation
    check_same_weights(a->config, a->weights, b->config, b->weights);
    // Converting on the way out works where the rows fit the target's blocks.
    opt.matrix_type = dtype::bf16;
    REQUIRE(write_gguf_model(a->config, a->weights, dir.file("bf16.gguf"), opt).ok());
    auto bf = load_model(dir.file("bf16.gguf"));
    REQUIRE(bf.ok());
    CHECK(bf->weights.layers[0].w_up.type == dtype::bf16);
    opt.matrix_type = dtype::q8_0;  // hidden size 8 cannot hold 32-element blocks
    status q8 = write_gguf_model(a->config, a->weights, dir.file("q8.gguf"), opt);
    REQUIRE_FALSE(q8.ok());
    CHECK(q8.message().find("token_embd.weight") != std::string::npos);
    CHECK(q8.message().find("block size") != std::string::npos);
}

TEST_CASE("rope scaling survives GGUF and HF round trips") {
    scratch_dir dir;
    test_model_spec spec;
    auto m = generate_test_model(spec);
    REQUIRE(m.ok());
    SUBCASE("llama3 scaling becomes a rope_freqs tensor and is recovered from it") {
        m->config.rope_theta = 500000.0f;
        m->config.head_dim = 16;
        m->config.rope_scaling = {rope_scaling_type::llama3, 8.0f, 1.0f, 4.0f, 64};
        REQUIRE(write_gguf_model(m->config, m->weights, dir.file("l3.gguf")).ok());
        auto g = load_model(dir.file("l3.gguf"));
        REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.message()));
        REQUIRE(g->gguf->find_tensor("rope_freqs.weight") != nullptr);
        const rope_scaling& rs = g->config.rope_scaling;
        CHECK(rs.type == rope_scaling_type::llama3);
        CHECK(rs.factor == 8.0f);
        // Any parameters that reproduce the tensor are the same scaling; check the divisors.
        std::vector<float> got = llama3_rope_divisors(g->config);
        std::vector<float> want = llama3_rope_divisors(m->config);
        REQUIRE(got.size() == want.size());
        for (size_t i = 0; i < got.size(); ++i)
            CHECK(got[i] == doctest::Approx(want[i]).epsilon(1e-3));
        REQUIRE(write_hf_model(m->config, m->weights, dir.file("hf")).ok());
        auto h = load_model(dir.file("hf"));
        REQUIRE(h.ok());
        CHECK(h->config.rope_scaling.type == rope_scaling_type::llama3);
        CHECK(h->config.rope_scaling.original_max_position == 64);
        CHECK(h->config.rope_scaling.high_freq_factor == 4.0f);
    }
    SUBCASE("Llama-3.1's published parameters are recovered exactly") {
        spec.head_dim = 128;
        spec.num_heads = 1;
        spec.num_kv_heads = 1;
        auto big = generate_test_model(spec);
        REQUIRE(big.ok());
        big->config.rope_theta = 500000.0f;
        big->config.rope_scaling = {rope_scaling_type::llama3, 8.0f, 1.0f, 4.0f, 8192};
        REQUIRE(write_gguf_model(big->config, big->weights, dir.file("l31.gguf")).ok());
        auto g = load_model(dir.file("l31.gguf"));
        REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.message()));
        const rope_scaling& rs = g->config.rope_scaling;
        CHECK(rs.type == rope_scaling_type::llama3);
        CHECK(rs.factor == 8.0f);
        CHECK(rs.low_freq_factor == 1.0f);
        CHECK(rs.high_freq_factor == 4.0f);
        CHECK(rs.original_max_position == 8192);
    }
    SUBCASE("linear scaling") {
        m->config.rope_scaling.type = rope_scaling_type::linear;
        m->config.rope_scaling.factor = 2.5f;
        REQUIRE(write_gguf_model(m->config, m->weights, dir.file("lin.gguf")).ok());
        REQUIRE(write_hf_model(m->config, m->weights, dir.file("hf")).ok());
        for (const std::string& p : {dir.file("lin.gguf"), dir.file("hf")}) {
            auto g = load_model(p);
            REQUIRE(g.ok());
            CHECK(g->config.rope_scaling.type == rope_scaling_type::linear);
            CHECK(g->config.rope_scaling.factor == 2.5f);
        }
    }
}

TEST_CASE("sharded HF checkpoints load through model.safetensors.index.json") {
    scratch_dir dir;
    test_model_spec spec;
    spec.arch = "qwen2";
    REQUIRE(write_test_model_hf(spec, dir.file("one")).ok());
    auto whole = load_model(dir.file("one"));
    REQUIRE(whole.ok());
    // Split the single file into two shards plus an index, as transformers does.
    std::filesystem::create_directories(dir.file("two"));
    for (const char* f : {"config.json", "generation_config.json"})
        std::filesystem::copy_file(dir.file(std::string("one/") + f),
                                   dir.file(std::string("two/") + f));
    auto src = safetensors_file::open(dir.file("one/model.safetensors"));
    REQUIRE(src.ok());
    safetensors_writer shard[2];
    std::string index = "{\"metadata\": {}, \"weight_map\": {";
    size_t i = 0;
    for (const auto& t : (*src)->tensors()) {
        const char* file =
            i % 2 ? "model-00002-of-00002.safetensors" : "model-00001-of-00002.safetensors";
        shard[i % 2].add_tensor(t.name, t.dtype, t.shape,
                                std::vector<uint8_t>(t.data, t.data + t.num_bytes));
        index += (i ? ", \"" : "\"") + t.name + "\": \"" + file + "\"";
        ++i;
    }
    index += "}}";
    REQUIRE(shard[0].write(dir.file("two/model-00001-of-00002.safetensors")).ok());
    REQUIRE(shard[1].write(dir.file("two/model-00002-of-00002.safetensors")).ok());
    test::write_text(dir.file("two/model.safetensors.index.json"), index);
    auto sharded = load_model(dir.file("two"));
    REQUIRE_MESSAGE(sharded.ok(), (sharded.ok() ? "" : sharded.message()));
    check_same_weights(whole->config, whole->weights, sharded->config, sharded->weights);
    CHECK(sharded->weights.storage.size() >= 2);  // both shard maps kept alive

    // An index naming a shard that does not exist is an error naming the file.
    test::write_text(dir.file("two/model.safetensors.index.json"),
                     "{\"weight_map\": {\"x\": \"model-00003-of-00003.safetensors\"}}");
    auto missing = load_model(dir.file("two"));
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("model-00003-of-00003.safetensors") != std::string::npos);
    test::write_text(dir.file("two/model.safetensors.index.json"),
                     "{\"weight_map\": {\"x\": \"../../etc/passwd\"}}");
    auto escape = load_model(dir.file("two"));
    REQUIRE_FALSE(escape.ok());
    CHECK(escape.message().find("not a plain file name") != std::string::npos);
}

TEST_CASE("K-quant matrices (Q4_K, Q6_K) load as zero-copy views of their blocks") {
    scratch_dir dir;
    test_model_spec spec;
    spec.hidden_size = 256;
    spec.intermediate_size = 256;
    spec.num_heads = 4;
    spec.num_kv_heads = 4;
    spec.head_dim = 64;
    spec.num_layers = 1;
    auto m = generate_test_model(spec);
    REQUIRE(m.ok());
    // Arbitrary block bytes stand in for llama-quantize output: the loader never decodes them.
    auto fake = [&](dtype t, tensor& dst, std::vector<uint8_t>& buf) {
        buf.resize(dtype_row_bytes(t, dst.cols()) * size_t(dst.rows()));
        for (size_t i = 0; i < buf.size(); ++i) buf[i] = uint8_t(i * 31 + 7);
        dst.type = t;
        dst.data = buf.data();
        dst.num_bytes = buf.size();
    };
    std::vector<uint8_t> q4k, q6k;
    fake(dtype::q4_k, m->weights.layers[0].wq, q4k);
    fake(dtype::q6_k, m->weights.layers[0].w_down, q6k);
    REQUIRE(write_gguf_model(m->config, m->weights, dir.file("k.gguf")).ok());
    auto g = load_model(dir.file("k.gguf"));
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? "" : g.message()));
    const tensor& wq = g->weights.layers[0].wq;
    CHECK(wq.type == dtype::q4_k);
    CHECK(wq.shape == std::vector<int64_t>{256, 256});
    CHECK(wq.num_bytes == 256 * 144);
    // llama GGUF rows are permuted by whole rows: row 1 of the file is NeoX row 32.
    CHECK(std::memcmp(static_cast<const uint8_t*>(wq.data) + 144, q4k.data() + 32 * 144, 144) == 0);
    const tensor& down = g->weights.layers[0].w_down;
    CHECK(down.type == dtype::q6_k);
    CHECK(std::memcmp(down.data, q6k.data(), q6k.size()) == 0);
    // The HF writer cannot hold K-quants without a conversion it does not implement.
    status hf = write_hf_model(m->config, m->weights, dir.file("hf"));
    REQUIRE_FALSE(hf.ok());
    CHECK(hf.message().find("converting Q4_K to F32 is not supported") != std::string::npos);
}
