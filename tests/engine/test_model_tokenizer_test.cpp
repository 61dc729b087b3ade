// The tokenizer embedded in generated test models works with actorlm's own
// tokenizer: the HF tokenizer.json loads, " hello" is one token, text
// round-trips, the ChatML specials are special, and the GGUF copy holds the
// same vocabulary and merges.
#include <doctest/doctest.h>

#include "loader_test_support.hpp"
#include "model/gguf_file.hpp"
#include "model/test_model_writer.hpp"
#include "tokenizer/tokenizer.hpp"

using namespace actorlm;
using actorlm::test::scratch_dir;

TEST_CASE("generated test-model tokenizers load with actorlm's tokenizer") {
    scratch_dir dir;
    test_model_spec spec;
    spec.vocab_size = 4096;
    REQUIRE(write_test_model_gguf(spec, dir.file("m.gguf")).ok());
    REQUIRE(write_test_model_hf(spec, dir.file("hf")).ok());
    auto h = tokenizer::from_hf(dir.file("hf/tokenizer.json"));
    REQUIRE_MESSAGE(h.ok(), (h.ok() ? "" : h.message()));
    CHECK((*h)->vocab_size() == 4096);

    auto hello = (*h)->encode(" hello hello hello", false, false);
    CHECK(hello.size() == 3);  // " hello" is one token, as in make_gguf.py's vocab
    CHECK(hello[0] == hello[1]);
    for (const char* text : {" hello world", "The quick brown fox jumps over the lazy dog.",
                             "unicode: \xc3\xa9t\xc3\xa9 \xe2\x82\xac 42\n\n  indented()"}) {
        CAPTURE(text);
        auto ids = (*h)->encode(text, false, false);
        CHECK_FALSE(ids.empty());
        CHECK((*h)->decode(ids, false) == text);
    }
    int32_t im_start = (*h)->token_id("<|im_start|>");
    CHECK(im_start == 1);
    CHECK((*h)->is_special(im_start));
    auto chat = (*h)->encode("<|im_start|>user\nhi<|im_end|>", false, true);
    CHECK(chat.front() == 1);
    CHECK(chat.back() == 2);
    CHECK_FALSE((*h)->chat_template().empty());

    // The GGUF copy: same tokens in the same order, so both formats tokenize alike.
    auto file = gguf_file::open(dir.file("m.gguf"));
    REQUIRE(file.ok());
    auto tokens = (*file)->get_string_array("tokenizer.ggml.tokens");
    REQUIRE(tokens.size() == 4096);
    for (int32_t id : {0, 1, 2, 100, 1000, 4095}) CHECK((*h)->token_text(id) == tokens[size_t(id)]);
    CHECK((*file)->get_string("tokenizer.ggml.pre") == "gpt-2");
    CHECK((*file)->get_string_array("tokenizer.ggml.merges").size() ==
          4096 - 17 - 256);  // 17 specials from 2048 up
}
