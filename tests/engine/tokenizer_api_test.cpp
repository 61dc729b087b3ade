// The tokenizer API others rely on: special-token parsing, BOS/EOS per the model's config,
// decode with and without special tokens, single-token pieces, chat templates, concurrency,
// and clear errors for files we cannot handle.
#include <algorithm>
#include <filesystem>
#include <random>
#include <fstream>
#include <thread>

#include "tokenizer/utf8.hpp"
#include "tokenizer_vectors.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {}  // namespace

TEST_CASE("tokenizer parses special tokens only when asked") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    const int32_t bot = t.token_id("<|begin_of_text|>");
    REQUIRE(bot == 128000);
    const auto parsed = t.encode("<|begin_of_text|>Hi", false, true);
    CHECK(parsed == std::vector<int32_t>{128000, 13347});
    const auto plain = t.encode("<|begin_of_text|>Hi", false, false);
    CHECK(std::find(plain.begin(), plain.end(), bot) == plain.end());
    CHECK(t.decode(plain, false) == "<|begin_of_text|>Hi");
    CHECK(t.is_special(bot));
    CHECK_FALSE(t.is_special(13347));
    CHECK(t.decode(parsed, true) == "Hi");
    CHECK(t.decode(parsed, false) == "<|begin_of_text|>Hi");
}

TEST_CASE("tokenizer always matches non-special added tokens (Qwen3 <think>)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/qwen3/tokenizer.json");
    const int32_t think = t.token_id("<think>");
    REQUIRE(think == 151667);
    CHECK_FALSE(t.is_special(think));
    const auto ids = t.encode("<think>\nok", false, false);
    REQUIRE_FALSE(ids.empty());
    CHECK(ids.front() == think);
    CHECK(t.decode(ids, true) == "<think>\nok");  // not special: survives skip_special
    const auto im = t.encode("<|im_start|>", false, false);
    CHECK(im.size() > 1);  // special: plain text unless parse_special
}

TEST_CASE("tokenizer adds BOS per the model's configuration") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    const tokenizer& llama2 = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    CHECK(llama2.add_bos());
    CHECK(llama2.bos_id() == 1);
    CHECK(llama2.bos_token() == "<s>");
    CHECK(llama2.eos_token() == "</s>");
    CHECK(llama2.eos_ids() == std::vector<int32_t>{2});
    CHECK(llama2.encode("Hello", true, false) == std::vector<int32_t>{1, 15043});
    CHECK(llama2.encode("Hello", false, false) == std::vector<int32_t>{15043});
    CHECK(llama2.vocab_size() == 32000);

    const tokenizer& qwen = *cached_tokenizer("tokenizers/qwen3/tokenizer.json");
    CHECK_FALSE(qwen.add_bos());  // add_bos_token: false
    CHECK(qwen.encode("Hello", true, false) == qwen.encode("Hello", false, false));
    CHECK(qwen.eos_token() == "<|im_end|>");
}

TEST_CASE("tokenizer reads generation_config.json eos ids and chat templates") {
    ACTORLM_REQUIRE_SHARED("models/stories260K-hf/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& s = *cached_tokenizer("models/stories260K-hf");  // a model directory
    CHECK(s.vocab_size() == 512);
    CHECK(s.bos_id() == 1);
    CHECK(s.eos_ids() == std::vector<int32_t>{2});
    CHECK(s.add_bos());
    const auto ids = s.encode("Once upon a time", true, false);
    CHECK(ids.front() == 1);
    CHECK(s.decode(ids, true) == "Once upon a time");
    const tokenizer& l3 = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    CHECK(l3.chat_template().find("start_header_id") != std::string::npos);
    ACTORLM_REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
    CHECK(cached_tokenizer("tokenizers/gpt2/tokenizer.json")->chat_template().empty());
}

TEST_CASE("token_to_piece spells one token with its leading space") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& l2 = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    CHECK(l2.token_to_piece(l2.token_id("\xE2\x96\x81Hello")) == " Hello");
    CHECK(l2.token_to_piece(l2.token_id("<0x0A>")) == "\n");
    CHECK(l2.token_to_piece(1) == "<s>");
    CHECK(l2.token_to_piece(-5).empty());
    const tokenizer& l3 = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    CHECK(l3.token_to_piece(l3.token_id("\xC4\xA0world")) == " world");
}

TEST_CASE("tokenizer encodes concurrently from several threads") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/war-and-peace.txt");
    auto fresh = load_tokenizer_for_model(shared_path("tokenizers/llama3/tokenizer.json"));
    REQUIRE(fresh.ok());
    const tokenizer& t = **fresh;  // cold cache: threads fill it concurrently
    const std::string text =
        read_file(shared_path("tokenizers/war-and-peace.txt")).substr(0, 400000);
    const std::string parts[4] = {text.substr(0, 100000), text.substr(100000, 100000),
                                  text.substr(200000, 100000), text.substr(300000)};
    std::vector<int32_t> got[4];
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i)
        threads.emplace_back([&, i] { got[i] = t.encode(parts[i], false, false); });
    for (auto& th : threads) th.join();
    auto reference = load_tokenizer_for_model(shared_path("tokenizers/llama3/tokenizer.json"));
    REQUIRE(reference.ok());
    for (int i = 0; i < 4; ++i) CHECK(got[i] == (*reference)->encode(parts[i], false, false));
}

TEST_CASE("tokenizer loading errors name the problem") {
    auto missing = tokenizer::from_hf("/nonexistent/tokenizer.json");
    REQUIRE_FALSE(missing.ok());
    CHECK(missing.message().find("/nonexistent/tokenizer.json") != std::string::npos);

    auto bad_json = load_tokenizer_json("bad_json", "{\"model\": ");
    REQUIRE_FALSE(bad_json.ok());

    auto unigram = load_tokenizer_json("unigram", R"({"model": {"type": "Unigram", "vocab": []}})");
    REQUIRE_FALSE(unigram.ok());
    CHECK(unigram.message().find("Unigram") != std::string::npos);

    auto wordpiece =
        load_tokenizer_json("wordpiece", R"({"model": {"type": "WordPiece", "vocab": {}}})");
    REQUIRE_FALSE(wordpiece.ok());  // no [UNK] in the vocabulary
    CHECK(wordpiece.message().find("WordPiece") != std::string::npos);

    auto precompiled = load_tokenizer_json("precompiled", R"({"normalizer": {"type": "Precompiled"},
        "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
    REQUIRE_FALSE(precompiled.ok());
    CHECK(precompiled.message().find("Precompiled") != std::string::npos);

    auto bad_regex = load_tokenizer_json("bad_regex", R"({"pre_tokenizer": {"type": "Split",
        "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated", "invert": false},
        "model": {"type": "BPE", "vocab": {"a": 0}, "merges": []}})");
    REQUIRE_FALSE(bad_regex.ok());
    CHECK(bad_regex.message().find("(unclosed") != std::string::npos);

    auto bad_merge =
        load_tokenizer_json("bad_merge", R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1},
        "merges": ["a c"]}})");
    REQUIRE_FALSE(bad_merge.ok());
    CHECK(bad_merge.message().find("merge 0") != std::string::npos);

    auto not_there = load_tokenizer_for_model("/nonexistent/model-dir");
    REQUIRE_FALSE(not_there.ok());
}

TEST_CASE("a small tokenizer.json exercises normalizers, Metaspace, merges and decoders") {
    // char-level vocab with two merges; NFKC + Lowercase; Metaspace prepends to the first piece
    auto t = load_tokenizer_json("small", R"({
      "added_tokens": [{"id": 9, "content": "<eos>", "special": true, "lstrip": false, "rstrip": false,
                        "single_word": false, "normalized": false},
                       {"id": 10, "content": "[X]", "special": false, "lstrip": true, "rstrip": true,
                        "single_word": false, "normalized": false}],
      "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]},
      "pre_tokenizer": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true},
      "post_processor": {"type": "TemplateProcessing", "single": [{"Sequence": {"id": "A", "type_id": 0}},
                         {"SpecialToken": {"id": "<eos>", "type_id": 0}}], "pair": [],
                         "special_tokens": {"<eos>": {"id": "<eos>", "ids": [9], "tokens": ["<eos>"]}}},
      "decoder": {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first", "split": true},
      "model": {"type": "BPE", "unk_token": "<unk>", "fuse_unk": true,
                "vocab": {"<unk>": 0, "\u2581": 1, "a": 2, "b": 3, "\u2581a": 4, "\u2581ab": 5, "c": 6},
                "merges": ["\u2581 a", "\u2581a b"]}
    })");
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.message()));
    const tokenizer& k = **t;
    // "ＡB" (full-width A) -> NFKC "AB" -> lowercase "ab" -> "▁ab"
    CHECK(k.encode("\xEF\xBC\xA1"
                   "B",
                   false, false) == std::vector<int32_t>{5});
    CHECK(k.encode("ab ca", false, false) == std::vector<int32_t>{5, 1, 6, 2});
    CHECK(k.encode("ab", true, false) == std::vector<int32_t>{5, 9});   // TemplateProcessing suffix
    CHECK(k.encode("zz", false, false) == std::vector<int32_t>{1, 0});  // fused unknowns
    // non-special added token with lstrip/rstrip absorbs the spaces around it
    CHECK(k.encode("ab [X] ab", false, false) ==
          std::vector<int32_t>{5, 10, 2, 3});  // "first": no ▁ after [X]
    CHECK(k.decode(std::vector<int32_t>{5, 1, 6, 2}, true) == "ab ca");
    CHECK_FALSE(k.add_bos());
}

TEST_CASE("tokenizer_config.json with a 1e30 model_max_length still configures BOS (Mistral)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/mistral-v0.1/tokenizer.json");
    const tokenizer& m = *cached_tokenizer("tokenizers/mistral-v0.1/tokenizer.json");
    CHECK(m.add_bos());
    CHECK(m.bos_token() == "<s>");
    CHECK(m.eos_token() == "</s>");
    // round trip of every vector input through Mistral's SentencePiece-style vocabulary
    for (const auto& c : read_vectors("tokenizers/vectors/ggml-vocab-llama-spm.gguf")) {
        const auto ids = m.encode(c.text, true, false);
        CHECK(ids.front() == 1);
        CHECK_MESSAGE(m.decode(ids, true) == c.text, "round trip of '" << c.text << "'");
    }
}

TEST_CASE("tokenizer round-trips arbitrary bytes, invalid UTF-8 included") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    ACTORLM_REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
    std::mt19937 rng(1234);
    std::string bytes(20000, '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xFF);
    for (const char* path : {"tokenizers/llama3/tokenizer.json", "tokenizers/llama2/tokenizer.json",
                             "tokenizers/gpt2/tokenizer.json"}) {
        const tokenizer& t = *cached_tokenizer(path);
        const auto ids = t.encode(bytes, false, false);
        CHECK_MESSAGE(t.decode_bytes(ids, false) == bytes,
                      path);  // byte-level / byte fallback keep every byte
        const std::string text = t.decode(ids, false);
        CHECK(tok::to_valid_utf8(text) == text);  // decode always yields valid UTF-8
    }
}
