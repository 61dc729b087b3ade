// GGUF reader: values written by gguf_writer read back exactly, and every kind of
// corrupt or truncated file is refused with an error that names the problem.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "loader_test_support.hpp"
#include "model/ggml_types.hpp"
#include "model/gguf_file.hpp"
#include "model/gguf_writer.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using actorlm::test::offset_after;
using actorlm::test::poke;
using actorlm::test::scratch_dir;

namespace {

std::vector<uint8_t> f32_bytes(const std::vector<float>& v) {
    std::vector<uint8_t> b(v.size() * 4);
    std::memcpy(b.data(), v.data(), b.size());
    return b;
}

gguf_writer sample_writer() {
    gguf_writer w;
    w.set_string("general.architecture", "llama");
    w.set_u32("llama.block_count", 5);
    w.set_i32("neg", -7);
    w.set_u64("big", 1ull << 40);
    w.set_f32("llama.rope.freq_base", 500000.0f);
    w.set_bool("tokenizer.ggml.add_bos_token", true);
    w.set_string_array("tokenizer.ggml.tokens", {"<s>", "a", "", "\xc4\xa0hello"});
    w.set_i32_array("tokenizer.ggml.token_type", {3, 1, 1, 1});
    w.set_f32_array("tokenizer.ggml.scores", {0.5f, -1.0f, 2.0f, 0.0f});
    w.add_tensor("t2d", 0, {2, 3}, f32_bytes({1, 2, 3, 4, 5, 6}));
    w.add_tensor("t1d", 0, {5}, f32_bytes({7, 8, 9, 10, 11}));
    return w;
}

std::string open_error(const std::string& path) {
    auto f = gguf_file::open(path);
    REQUIRE_FALSE(f.ok());
    return f.message();
}

}  // namespace

TEST_CASE("gguf reader returns the metadata and tensors that were written") {
    scratch_dir dir;
    REQUIRE(sample_writer().write(dir.file("m.gguf")).ok());
    auto f = gguf_file::open(dir.file("m.gguf"));
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.message()));
    const gguf_file& g = **f;
    CHECK(g.version() == 3);
    CHECK(g.keys().size() == 9);
    CHECK(g.keys()[0] == "general.architecture");
    CHECK(g.get_string("general.architecture") == "llama");
    CHECK(g.get_int("llama.block_count") == 5);
    CHECK(g.get_int("neg") == -7);
    CHECK(g.get_int("big") == (int64_t(1) << 40));
    CHECK(g.get_float("llama.rope.freq_base") == 500000.0);
    CHECK(g.get_float("llama.block_count") == 5.0);  // integers convert to float
    CHECK(g.get_bool("tokenizer.ggml.add_bos_token") == true);
    CHECK(g.type_of("neg") == gguf_type::int32);
    // Type mismatches and absent keys are nullopt, not a guess.
    CHECK_FALSE(g.get_int("general.architecture").has_value());
    CHECK_FALSE(g.get_int("llama.rope.freq_base").has_value());
    CHECK_FALSE(g.get_string("llama.block_count").has_value());
    CHECK_FALSE(g.get_bool("llama.block_count").has_value());
    CHECK_FALSE(g.has("absent"));
    CHECK_FALSE(g.get_int("absent").has_value());

    auto tokens = g.get_string_array("tokenizer.ggml.tokens");
    CHECK(tokens == std::vector<std::string>{"<s>", "a", "", "\xc4\xa0hello"});
    CHECK(g.get_int_array("tokenizer.ggml.token_type") == std::vector<int32_t>{3, 1, 1, 1});
    CHECK(g.get_float_array("tokenizer.ggml.scores") ==
          std::vector<float>{0.5f, -1.0f, 2.0f, 0.0f});
    CHECK(g.get_string_array("tokenizer.ggml.scores").empty());
    CHECK(g.get_int_array("tokenizer.ggml.tokens").empty());
    auto info = g.array_info("tokenizer.ggml.tokens");
    REQUIRE(info.has_value());
    CHECK(info->first == gguf_type::string);
    CHECK(info->second == 4);

    REQUIRE(g.tensors().size() == 2);
    const gguf_tensor_info* t = g.find_tensor("t2d");
    REQUIRE(t != nullptr);
    CHECK(t->shape == std::vector<int64_t>{2, 3});
    CHECK(t->ggml_type == 0);
    CHECK(t->num_bytes == 24);
    CHECK(t->num_elements() == 6);
    CHECK(reinterpret_cast<uintptr_t>(t->data) % 32 == 0);
    float v[6];
    std::memcpy(v, t->data, 24);
    CHECK(v[0] == 1.0f);
    CHECK(v[5] == 6.0f);
    const gguf_tensor_info* t1 = g.find_tensor("t1d");
    REQUIRE(t1 != nullptr);
    CHECK(t1->shape == std::vector<int64_t>{5});
    std::memcpy(v, t1->data, 4);
    CHECK(v[0] == 7.0f);
    CHECK(g.find_tensor("nope") == nullptr);
}

TEST_CASE("gguf reader honours a custom general.alignment") {
    scratch_dir dir;
    gguf_writer w = sample_writer();
    w.set_alignment(64);
    REQUIRE(w.write(dir.file("a.gguf")).ok());
    auto f = gguf_file::open(dir.file("a.gguf"));
    REQUIRE(f.ok());
    CHECK((*f)->alignment() == 64);
    const gguf_tensor_info* t = (*f)->find_tensor("t1d");
    REQUIRE(t != nullptr);
    CHECK(reinterpret_cast<uintptr_t>(t->data) % 64 == 0);
    float x;
    std::memcpy(&x, t->data, 4);
    CHECK(x == 7.0f);
}

TEST_CASE("gguf reader rejects missing, empty and non-GGUF files") {
    scratch_dir dir;
    CHECK(open_error(dir.file("absent.gguf")).find("cannot open") != std::string::npos);
    CHECK(open_error(dir.path().string()).find("not a regular file") != std::string::npos);
    test::write_bytes(dir.file("empty.gguf"), {});
    CHECK(open_error(dir.file("empty.gguf")).find("empty") != std::string::npos);
    test::write_text(dir.file("text.gguf"), "{\"hello\": 1}");
    CHECK(open_error(dir.file("text.gguf")).find("bad magic") != std::string::npos);
}

TEST_CASE("gguf reader rejects unsupported versions") {
    scratch_dir dir;
    auto bytes = sample_writer().serialize();
    for (uint32_t version : {1u, 4u, 0x03000000u}) {
        poke<uint32_t>(bytes, 4, version);
        test::write_bytes(dir.file("v.gguf"), bytes);
        std::string msg = open_error(dir.file("v.gguf"));
        CHECK(msg.find("unsupported GGUF version") != std::string::npos);
    }
    poke<uint32_t>(bytes, 4, 2);  // v2 has the same layout as v3
    test::write_bytes(dir.file("v.gguf"), bytes);
    auto f = gguf_file::open(dir.file("v.gguf"));
    REQUIRE(f.ok());
    CHECK((*f)->version() == 2);
}

TEST_CASE("gguf reader refuses every truncation of a valid file") {
    scratch_dir dir;
    auto bytes = sample_writer().serialize();
    // Every prefix must fail cleanly: a header cut mid-value, or tensor data past the end.
    for (size_t n = 1; n < bytes.size(); ++n) {
        test::write_bytes(dir.file("t.gguf"),
                          std::vector<uint8_t>(bytes.begin(), bytes.begin() + long(n)));
        auto f = gguf_file::open(dir.file("t.gguf"));
        // The last tensor's trailing alignment padding is not needed to read it.
        const size_t last_needed = bytes.size() - 32 + 5 * 4;
        if (n >= last_needed) {
            CHECK(f.ok());
            continue;
        }
        REQUIRE_MESSAGE(!f.ok(), "prefix of " << n << " bytes opened");
        bool named = f.message().find("truncated") != std::string::npos ||
                     f.message().find("corrupt") != std::string::npos ||
                     f.message().find("bad magic") != std::string::npos;
        CHECK_MESSAGE(named, f.message());
    }
}

TEST_CASE("gguf reader rejects absurd counts and lengths without allocating them") {
    scratch_dir dir;
    const auto good = sample_writer().serialize();
    auto check_error = [&](std::vector<uint8_t> bytes, const std::string& expect) {
        test::write_bytes(dir.file("c.gguf"), bytes);
        std::string msg = open_error(dir.file("c.gguf"));
        CHECK_MESSAGE(msg.find(expect) != std::string::npos, msg);
        CHECK(msg.find(dir.file("c.gguf")) != std::string::npos);  // names the file
    };
    auto b = good;
    poke<uint64_t>(b, 8, uint64_t(1) << 60);  // tensor count
    check_error(b, "tensor infos cannot fit");
    b = good;
    poke<uint64_t>(b, 16, std::numeric_limits<uint64_t>::max());  // kv count
    check_error(b, "metadata entries cannot fit");
    b = good;
    poke<uint64_t>(b, 24, uint64_t(1) << 62);  // first key's length
    check_error(b, "corrupt file");
    b = good;
    // Array length of tokenizer.ggml.tokens: after the key, the u32 type and u32 elem type.
    poke<uint64_t>(b, offset_after(b, "tokenizer.ggml.tokens") + 8, uint64_t(1) << 61);
    check_error(b, "claims");
    b = good;
    // String value length of general.architecture (after key and u32 type).
    poke<uint64_t>(b, offset_after(b, "general.architecture") + 4, uint64_t(1) << 50);
    check_error(b, "corrupt file");
}

TEST_CASE("gguf reader rejects bad tensor infos and bad metadata types") {
    scratch_dir dir;
    const auto good = sample_writer().serialize();
    auto check_error = [&](std::vector<uint8_t> bytes, const std::string& expect) {
        test::write_bytes(dir.file("c.gguf"), bytes);
        std::string msg = open_error(dir.file("c.gguf"));
        CHECK_MESSAGE(msg.find(expect) != std::string::npos, msg);
    };
    // Tensor info of "t1d": name, u32 n_dims (1), u64 ne0, u32 type, u64 offset.
    const size_t dims_at = offset_after(good, "t1d");
    const size_t type_at = dims_at + 4 + 8;
    const size_t offset_at = type_at + 4;
    auto b = good;
    poke<uint64_t>(b, offset_at, 1 << 20);
    check_error(b, "extends past the end");
    b = good;
    poke<uint64_t>(b, offset_at, 36);
    check_error(b, "not a multiple of the alignment");
    b = good;
    poke<uint32_t>(b, type_at, 4);  // removed Q4_2
    check_error(b, "unknown ggml type 4");
    b = good;
    poke<uint32_t>(b, type_at, 8);  // Q8_0 with a row of 5 elements
    check_error(b, "not a multiple of Q8_0's block size");
    b = good;
    poke<uint32_t>(b, dims_at, 7);
    check_error(b, "7 dimensions");
    b = good;
    poke<uint64_t>(b, dims_at + 4, uint64_t(1) << 40);  // ne0: a terabyte tensor
    check_error(b, "needs");
    b = good;
    // Found by review for tests/fuzz/gguf_fuzz: with a zero dimension the byte count is 0
    // whatever the others say, and num_elements() overflowed int64 (undefined behaviour).
    {
        gguf_writer w;
        w.add_tensor("zero", 0, {int64_t{1} << 62, int64_t{1} << 62, 0}, {});
        check_error(w.serialize(), "tensor 'zero': element count overflows");
    }
    // The value type of "neg" (an int32): 99 is not a GGUF type.
    poke<uint32_t>(b, offset_after(b, "neg"), 99);
    check_error(b, "unknown value type 99");
    b = good;
    // Rename "t1d" to "t2d": duplicate tensor names.
    b[dims_at - 2] = '2';
    check_error(b, "duplicate tensor name 't2d'");
    b = good;
    // Rename key "neg" to "big": duplicate keys (both are 3 characters long).
    std::memcpy(b.data() + offset_after(b, "neg") - 3, "big", 3);
    check_error(b, "duplicate metadata key 'big'");
}

TEST_CASE("ggml type table knows every block layout, including unsupported ones") {
    CHECK(ggml_type_lookup(13) != nullptr);
    CHECK(std::string(ggml_type_name(13)) == "Q5_K");
    CHECK(ggml_type_lookup(13)->block_bytes == 176);
    CHECK(ggml_type_lookup(30)->block_bytes == 2);
    CHECK(ggml_type_lookup(4) == nullptr);
    CHECK(ggml_type_lookup(1000) == nullptr);
    CHECK(std::string(ggml_type_name(1000)) == "unknown");
}

TEST_CASE("gguf reader opens the shared stories260K model") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto f = gguf_file::open(actorlm::test::shared_path("models/stories260K.gguf"));
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.message()));
    const gguf_file& g = **f;
    CHECK(g.get_string("general.architecture") == "llama");
    CHECK(g.get_int("llama.embedding_length") == 64);
    CHECK(g.get_int("llama.block_count") == 5);
    CHECK(g.get_string_array("tokenizer.ggml.tokens").size() == 512);
    CHECK(g.get_float_array("tokenizer.ggml.scores").size() == 512);
    CHECK(g.get_int_array("tokenizer.ggml.token_type").size() == 512);
    const gguf_tensor_info* emb = g.find_tensor("token_embd.weight");
    REQUIRE(emb != nullptr);
    CHECK(emb->shape == std::vector<int64_t>{512, 64});
    CHECK(emb->ggml_type == 0);
}

TEST_CASE("gguf reader opens the shared F16 llama-2-tiny-random model") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    auto f = gguf_file::open(actorlm::test::shared_path("models/llama-2-tiny-random.gguf"));
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.message()));
    CHECK((*f)->get_string_array("tokenizer.ggml.tokens").size() == 32000);
    bool any_f16 = false;
    for (const auto& t : (*f)->tensors()) any_f16 |= t.ggml_type == 1;
    CHECK(any_f16);
}

TEST_CASE("gguf reader opens the shared vocab-only GGUFs (no tensors)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    for (const char* name : {"gpt-2", "falcon", "llama-spm", "phi-3"}) {
        std::string rel = std::string("tokenizers/vectors/ggml-vocab-") + name + ".gguf";
        if (!std::filesystem::exists(actorlm::test::shared_path(rel))) continue;
        CAPTURE(rel);
        auto f = gguf_file::open(actorlm::test::shared_path(rel));
        REQUIRE_MESSAGE(f.ok(), (f.ok() ? "" : f.message()));
        CHECK((*f)->tensors().empty());
        auto tokens = (*f)->get_string_array("tokenizer.ggml.tokens");
        CHECK(tokens.size() > 1000);
        CHECK((*f)->get_int_array("tokenizer.ggml.token_type").size() == tokens.size());
        std::string model = (*f)->get_string("tokenizer.ggml.model").value_or("");
        CHECK((model == "gpt2" || model == "llama"));
        if (model == "gpt2") CHECK_FALSE((*f)->get_string_array("tokenizer.ggml.merges").empty());
    }
}
