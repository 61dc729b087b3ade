// Incremental detokenizer: streamed deltas must add up to the full decode for every vector
// case, never contain half a UTF-8 character, and keep SentencePiece's leading-space rule.
#include <string>
#include <vector>

#include "tokenizer/incremental_detokenizer.hpp"
#include "tokenizer/utf8.hpp"
#include "tokenizer_vectors.hpp"

using namespace actorlm;
using namespace actorlm::test;

namespace {

bool valid_utf8(const std::string& s) { return tok::to_valid_utf8(s) == s; }

std::string stream(const tokenizer& t, const std::vector<int32_t>& ids,
                   detokenizer_options opts = {}) {
    incremental_detokenizer d(t, opts);
    std::string all;
    for (int32_t id : ids) {
        const std::string delta = d.push(id);
        CHECK(valid_utf8(delta));
        CHECK(d.window_tokens() <= 2);  // one token per step: constant work per token
        all += delta;
    }
    return all + d.finish();
}

void check_stream_equals_decode(const std::string& tok_path, const std::string& vectors) {
    const tokenizer& t = *cached_tokenizer(tok_path);
    size_t n = 0;
    for (const auto& c : read_vectors(vectors)) {
        const auto ids = t.encode(c.text, false, false);
        const std::string full = t.decode(ids, true);
        CHECK_MESSAGE(stream(t, ids) == full, "case '" << c.text << "'");
        CHECK_MESSAGE(full == c.text, "round trip of '" << c.text << "'");
        ++n;
    }
    CHECK(n > 30);
}

}  // namespace

TEST_CASE("detokenizer deltas add up to decode: Llama-3 (byte-level)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    check_stream_equals_decode("tokenizers/llama3/tokenizer.json",
                               "tokenizers/vectors/ggml-vocab-llama-bpe.gguf");
}

TEST_CASE("detokenizer deltas add up to decode: Qwen3 (byte-level, NFC)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    check_stream_equals_decode("tokenizers/qwen3/tokenizer.json",
                               "tokenizers/vectors/ggml-vocab-qwen2.gguf");
}

TEST_CASE("detokenizer deltas add up to decode: Llama-2 (SentencePiece, byte fallback)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    check_stream_equals_decode("tokenizers/llama2/tokenizer.json",
                               "tokenizers/vectors/ggml-vocab-llama-spm.gguf");
}

TEST_CASE("detokenizer deltas add up to decode: GPT-2") {
    ACTORLM_REQUIRE_SHARED("tokenizers/gpt2/tokenizer.json");
    check_stream_equals_decode("tokenizers/gpt2/tokenizer.json",
                               "tokenizers/vectors/ggml-vocab-gpt-2.gguf");
}

TEST_CASE("detokenizer holds an incomplete character until its last byte token") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    // the llama emoji is not in Llama-2's vocabulary: four <0xXX> byte tokens
    const auto ids = t.encode("\xF0\x9F\xA6\x99", false, false);
    REQUIRE(ids.size() == 5);  // "▁" + 4 bytes
    incremental_detokenizer d(t);
    std::string first = d.push(ids[0]);
    CHECK(first.empty());  // the leading space of the first token is stripped
    CHECK(d.push(ids[1]).empty());
    CHECK(d.push(ids[2]).empty());
    CHECK(d.push(ids[3]).empty());
    CHECK(d.push(ids[4]) == "\xF0\x9F\xA6\x99");
    CHECK(d.finish().empty());
}

TEST_CASE("detokenizer replaces definitively invalid bytes at once and pending ones at finish") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    const int32_t b_ff = t.token_id("<0xFF>"), b_e2 = t.token_id("<0xE2>"),
                  b_82 = t.token_id("<0x82>");
    const int32_t a = t.token_id("a");
    REQUIRE(b_ff >= 0);
    REQUIRE(b_e2 >= 0);
    incremental_detokenizer d(t);
    CHECK(d.push(a) == "a");
    CHECK(d.push(b_ff) == "\xEF\xBF\xBD");  // 0xFF can never start a character
    CHECK(d.push(b_e2).empty());            // could still become a 3-byte character
    CHECK(d.push(b_82).empty());
    CHECK(d.push(a) ==
          "\xEF\xBF\xBD"
          "a");  // E2 82 'a' is invalid: one U+FFFD, then 'a'
    CHECK(d.push(b_e2).empty());
    CHECK(d.finish() == "\xEF\xBF\xBD");  // the stream ended inside a character
    const std::vector<int32_t> ids{a, b_ff, b_e2, b_82, a, b_e2};
    CHECK(t.decode(ids, true) ==
          "a\xEF\xBF\xBD\xEF\xBF\xBD"
          "a\xEF\xBF\xBD");
}

TEST_CASE("detokenizer keeps SentencePiece leading spaces after the first token, or with context") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama2/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/llama2/tokenizer.json");
    const auto ids = t.encode("Hello world", false, false);  // ▁Hello ▁world
    REQUIRE(ids.size() == 2);
    incremental_detokenizer d(t);
    CHECK(d.push(ids[0]) == "Hello");
    CHECK(d.push(ids[1]) == " world");
    // as a continuation of a prompt, the first generated token keeps its space
    const auto prompt = t.encode("Say", true, false);
    incremental_detokenizer cont(t, {}, prompt);
    CHECK(cont.push(ids[1]) == " world");
}

TEST_CASE("detokenizer honours skip_special_tokens and spaces_between_special_tokens") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/qwen3/tokenizer.json");
    const auto ids = t.encode("<|im_start|>user\nHi<|im_end|>", false, true);
    REQUIRE(ids.front() == t.token_id("<|im_start|>"));
    CHECK(stream(t, ids) == "user\nHi");
    CHECK(stream(t, ids, {false, false}) == "<|im_start|>user\nHi<|im_end|>");
    CHECK(stream(t, ids, {false, false}) == t.decode(ids, false));
    CHECK(stream(t, ids, {false, true}) == "<|im_start|> user\nHi <|im_end|>");
    // a non-special added token is streamed exactly as written, with either option
    const auto think = t.encode("<think>\nplan</think>ok", false, false);
    CHECK(stream(t, think) == "<think>\nplan</think>ok");
    CHECK(stream(t, think, {false, true}) == "<think>\nplan</think>ok");
}

TEST_CASE("detokenizer output of a long text equals decode (window stays small)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/war-and-peace.txt");
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& t = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    const std::string text =
        read_file(shared_path("tokenizers/war-and-peace.txt")).substr(0, 20000);
    const auto ids = t.encode(text, false, false);
    incremental_detokenizer d(t);
    std::string all;
    size_t max_window = 0;
    for (int32_t id : ids) {
        all += d.push(id);
        max_window = std::max(max_window, d.window_tokens());
    }
    all += d.finish();
    CHECK(all == text);
    CHECK(max_window <= 2);
}
