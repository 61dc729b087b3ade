// GGUF vocabularies against the tokenizer.json files of the same vocabulary: identical ids
// on a long text, the same special tokens and BOS policy, and clear errors for GGUF files
// whose tokenizer we cannot build.
#include <filesystem>

#include "model/gguf_file.hpp"
#include "model/gguf_writer.hpp"
#include "tokenizer_vectors.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

void check_same_ids(const tokenizer& a, const tokenizer& b, const std::string& text) {
    const auto x = a.encode(text, true, false);
    const auto y = b.encode(text, true, false);
    CHECK(x.size() == y.size());
    CHECK(x == y);
    CHECK(a.decode(x, true) == b.decode(y, true));
}

}  // namespace

TEST_CASE("GGUF llama-spm vocabulary agrees with Llama-2's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/war-and-peace.txt");
    const tokenizer& g = *cached_tokenizer("tokenizers/vectors/ggml-vocab-llama-spm.gguf");
    const tokenizer& h = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    CHECK(g.vocab_size() == h.vocab_size());
    CHECK(g.bos_id() == 1);
    CHECK(g.add_bos());
    CHECK(g.eos_ids() == h.eos_ids());
    CHECK(g.is_special(1));
    CHECK(g.is_special(0));  // <unk>, as in HF's added_tokens
    CHECK(h.is_special(0));
    CHECK(g.token_to_piece(g.token_id("\xE2\x96\x81the")) == " the");
    check_same_ids(g, h, read_file(shared_path("tokenizers/war-and-peace.txt")).substr(0, 300000));
    for (const auto& c : read_vectors("tokenizers/vectors/ggml-vocab-llama-spm.gguf"))
        check_same_ids(g, h, c.text);
    // special tokens written in text are recognized only with parse_special
    CHECK(g.encode("<s>hi", false, true) == h.encode("<s>hi", false, true));
    CHECK(g.encode("<s>hi", false, true).front() == 1);
    CHECK(g.encode("<s>hi", false, false).front() != 1);
}

TEST_CASE("GGUF gpt-2 vocabulary agrees with GPT-2's tokenizer.json") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    ACTORLM_REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/war-and-peace.txt");
    const tokenizer& g = *cached_tokenizer("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    const tokenizer& h = *cached_tokenizer("tokenizers/gpt2/tokenizer.json");
    CHECK(g.vocab_size() == h.vocab_size());
    CHECK_FALSE(g.add_bos());
    const std::string text =
        read_file(shared_path("tokenizers/war-and-peace.txt")).substr(0, 300000);
    CHECK(g.encode(text, false, false) == h.encode(text, false, false));
    CHECK(g.decode(g.encode(text, false, false), false) == text);
}

TEST_CASE("stories260K GGUF and its Hugging Face directory tokenize alike") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/tokenizer.json");
    const tokenizer& g = *cached_tokenizer("models/stories260K.gguf");
    const tokenizer& h = *cached_tokenizer("models/stories260K-hf");
    CHECK(g.vocab_size() == 512);
    CHECK(g.bos_id() == h.bos_id());
    CHECK(g.add_bos() == h.add_bos());
    for (const char* text :
         {"Once upon a time, there was a little girl named Lily.", "Tom said: \"Hi!\"\n\n 12345",
          "  leading spaces and \xC3\xA9\xF0\x9F\xA6\x99 bytes"})
        check_same_ids(g, h, text);
}

TEST_CASE("Llama-2 tiny random GGUF carries the full Llama-2 vocabulary") {
    ACTORLM_REQUIRE_SHARED("models/llama-2-tiny-random.gguf");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const tokenizer& g = *cached_tokenizer("models/llama-2-tiny-random.gguf");
    const tokenizer& h = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    check_same_ids(
        g, h,
        "The quick brown fox jumps over the lazy dog. \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE 3.14159");
}

TEST_CASE("GGUF files without a usable tokenizer give clear errors") {
    ACTORLM_REQUIRE_SHARED("tokenizers/vectors/ggml-vocab-gpt-2.gguf");
    auto missing = load_tokenizer_for_model("/nonexistent/model.gguf");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("/nonexistent/model.gguf") != std::string::npos);

    auto write_and_load = [&](const std::string& name, const gguf_writer& w) {
        const std::string path = actorlm::test::temp_path(name).string();
        REQUIRE(w.write(path).ok());
        return load_tokenizer_for_model(path);
    };
    gguf_writer no_vocab;
    no_vocab.set_string("general.architecture", "llama");
    auto a = write_and_load("actorlm_tok_no_vocab.gguf", no_vocab);
    REQUIRE_FALSE(a.ok());
    CHECK(a.message().find("tokenizer.ggml.model") != std::string::npos);

    gguf_writer t5;
    t5.set_string("tokenizer.ggml.model", "t5");
    t5.set_string_array("tokenizer.ggml.tokens", {"<pad>", "a"});
    auto b = write_and_load("actorlm_tok_t5.gguf", t5);
    REQUIRE_FALSE(b.ok());
    CHECK(b.message().find("'t5'") != std::string::npos);

    gguf_writer bad_scores;
    bad_scores.set_string("tokenizer.ggml.model", "llama");
    bad_scores.set_string_array("tokenizer.ggml.tokens", {"<unk>", "<s>", "</s>", "a"});
    bad_scores.set_f32_array("tokenizer.ggml.scores", {0.0f, 0.0f});
    auto c = write_and_load("actorlm_tok_bad_scores.gguf", bad_scores);
    REQUIRE_FALSE(c.ok());
    CHECK(c.message().find("scores") != std::string::npos);

    gguf_writer no_merges;
    no_merges.set_string("tokenizer.ggml.model", "gpt2");
    no_merges.set_string_array("tokenizer.ggml.tokens", {"a", "b"});
    auto d = write_and_load("actorlm_tok_no_merges.gguf", no_merges);
    REQUIRE_FALSE(d.ok());
    CHECK(d.message().find("merges") != std::string::npos);
}

TEST_CASE("a GGUF gpt2 vocabulary built in memory follows its pre-tokenizer and flags") {
    // bytes a, b, space as single tokens; merges "a b" then "Ġ ab"; one control token
    gguf_writer w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.set_string("tokenizer.ggml.pre", "qwen2");
    w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "\xC4\xA0", "ab",
                                                 "\xC4\xA0"
                                                 "ab",
                                                 "<|eot|>", "1", "2"});
    w.set_i32_array("tokenizer.ggml.token_type", {1, 1, 1, 1, 1, 3, 1, 1});
    w.set_string_array("tokenizer.ggml.merges", {"a b",
                                                 "\xC4\xA0"
                                                 " ab"});
    w.set_u32("tokenizer.ggml.eos_token_id", 5);
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    w.set_string("tokenizer.chat_template", "{{ messages }}");
    const std::string path = actorlm::test::temp_path("tok_tiny_gpt2.gguf").string();
    REQUIRE(w.write(path).ok());
    auto t = load_tokenizer_for_model(path);
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.message()));
    const tokenizer& k = **t;
    CHECK(k.encode("ab ab", true, false) == std::vector<int32_t>{3, 4});
    CHECK(k.encode("12", false, false) ==
          std::vector<int32_t>{6, 7});  // qwen2: one digit per piece
    CHECK(k.encode("ab<|eot|>", false, true) == std::vector<int32_t>{3, 5});
    CHECK(k.eos_ids() == std::vector<int32_t>{5});
    CHECK(k.is_special(5));
    CHECK(k.chat_template() == "{{ messages }}");
    CHECK(k.decode(std::vector<int32_t>{3, 4, 5}, true) == "ab ab");
    CHECK(k.decode(std::vector<int32_t>{3, 4, 5}, false) == "ab ab<|eot|>");
}
