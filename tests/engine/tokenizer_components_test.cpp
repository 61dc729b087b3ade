// Tokenizer building blocks on their own: split behaviours, normalizers, decoders, UTF-8
// repair and the byte-level table, added-token options, and the BPE merge order.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tokenizer/added_tokens.hpp"
#include "tokenizer/bpe_model.hpp"
#include "tokenizer/decoder.hpp"
#include "tokenizer/normalizer.hpp"
#include "tokenizer/pre_tokenizer.hpp"
#include "tokenizer/utf8.hpp"

using namespace actorlm;
using namespace actorlm::tok;

namespace {

std::vector<std::string> pieces(const pre_tokenizer& p, std::string_view text,
                                bool at_start = true) {
    std::vector<std::string> out;
    auto sink = [&](std::string_view s) { out.emplace_back(s); };
    p.run(text, at_start, pre_tokenizer::sink(sink));
    return out;
}

pre_tokenizer split_on(const std::string& re, split_behaviour b, bool invert = false) {
    pre_tokenizer p;
    pre_tokenizer_step s;
    s.re = regex::compile(re).value();
    s.behaviour = b;
    s.invert = invert;
    p.add(s);
    return p;
}

using strings = std::vector<std::string>;

}  // namespace

TEST_CASE("split behaviours place the delimiters as HF does") {
    const std::string text = "a-b--c";
    CHECK(pieces(split_on("-", split_behaviour::removed), text) == strings{"a", "b", "c"});
    CHECK(pieces(split_on("-", split_behaviour::isolated), text) ==
          strings{"a", "-", "b", "-", "-", "c"});
    CHECK(pieces(split_on("-", split_behaviour::merged_with_previous), text) ==
          strings{"a-", "b-", "-", "c"});
    CHECK(pieces(split_on("-", split_behaviour::merged_with_next), text) ==
          strings{"a", "-b", "-", "-c"});
    CHECK(pieces(split_on("-", split_behaviour::contiguous), text) ==
          strings{"a", "-", "b", "--", "c"});
    // invert: the matches are the content, the rest is the delimiter
    CHECK(pieces(split_on("\\w+|[^\\w\\s]+", split_behaviour::removed, true), "Hey  you!") ==
          strings{"Hey", "you", "!"});
}

TEST_CASE("the GPT-2 regex splits with Unicode classes (PCRE2 UCP)") {
    pre_tokenizer p;
    pre_tokenizer_step s;
    s.what = pre_tokenizer_step::kind::byte_level;
    s.re = regex::compile(k_gpt2_pattern).value();
    p.add(s);
    CHECK(p.byte_level());
    CHECK(pieces(p, "Hello world's  \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE 123!!") ==
          strings{"Hello", " world", "'s", " ", " \xD0\xBD\xD0\xB5\xD1\x89\xD0\xBE", " 123", "!!"});
}

TEST_CASE("Metaspace replaces spaces and prepends only where its scheme says") {
    pre_tokenizer p;
    pre_tokenizer_step s;
    s.what = pre_tokenizer_step::kind::metaspace;
    s.replacement = "\xE2\x96\x81";
    s.scheme = prepend_scheme::first;
    s.metaspace_split = true;
    p.add(s);
    CHECK(pieces(p, "hi there") == strings{"\xE2\x96\x81hi", "\xE2\x96\x81there"});
    CHECK(pieces(p, "hi", false) == strings{"hi"});  // not at the start of the input
}

TEST_CASE("normalizers: prepend, literal and regex replace, NFC/NFKC, lowercase, strip") {
    normalizer n;
    n.add({normalizer_step::kind::nfkc});
    n.add({normalizer_step::kind::lowercase});
    normalizer_step re;
    re.what = normalizer_step::kind::replace;
    re.re = regex::compile("\\s+").value();
    re.content.assign(1, ' ');  // assign(n, c): operator= with a literal trips GCC 12's -Wrestrict
    n.add(re);
    normalizer_step strip;
    strip.what = normalizer_step::kind::strip;
    strip.strip_left = strip.strip_right = true;
    n.add(strip);
    normalizer_step pre;
    pre.what = normalizer_step::kind::prepend;
    pre.text.assign(1, '_');
    n.add(pre);
    std::string s =
        "  \xEF\xBC\xA8\xC3\x89llo \t\n W\xC3\x96rld\xEF\xAC\x81  ";  // full-width H, É, Ö,
                                                                      // fi-ligature
    n.apply(s);
    CHECK(s == "_h\xC3\xA9llo w\xC3\xB6rldfi");
    std::string empty;
    n.apply(empty);
    CHECK(empty.empty());  // Prepend leaves empty text alone

    normalizer nfc;
    nfc.add({normalizer_step::kind::nfc});
    std::string decomposed = "e\xCC\x81";  // e + combining acute
    nfc.apply(decomposed);
    CHECK(decomposed == "\xC3\xA9");
    std::string invalid =
        "a\xFF"
        "b";
    nfc.apply(invalid);
    CHECK(invalid ==
          "a\xFF"
          "b");  // invalid UTF-8 is left as it is
}

TEST_CASE("decoders: Replace, ByteFallback, Fuse and Strip as in Llama-2") {
    decoder d;
    decoder_step rep;
    rep.what = decoder_step::kind::replace;
    rep.pattern = "\xE2\x96\x81";
    rep.content.assign(1, ' ');
    d.add(rep);
    d.add({decoder_step::kind::byte_fallback});
    d.add({decoder_step::kind::fuse});
    decoder_step strip;
    strip.what = decoder_step::kind::strip;
    strip.content = " ";
    strip.strip_start = 1;
    d.add(strip);
    CHECK(d.decode({{"\xE2\x96\x81Hi", false}, {"<0xC3>", false}, {"<0xA9>", false}}) ==
          "Hi\xC3\xA9");
    CHECK(d.decode({{"\xE2\x96\x81Hi", false}}, /*positional=*/false) == " Hi");
    CHECK(d.decode({{"<s>", true}, {"\xE2\x96\x81Hi", false}}) ==
          "<s> Hi");  // raw pieces skip Replace
}

TEST_CASE("Metaspace decoder drops the replacement chars of the first token only") {
    decoder d;
    decoder_step m;
    m.what = decoder_step::kind::metaspace;
    m.replacement = "\xE2\x96\x81";
    m.scheme = prepend_scheme::first;
    d.add(m);
    CHECK(d.decode({{"\xE2\x96\x81"
                     "a\xE2\x96\x81"
                     "b",
                     false},
                    {"\xE2\x96\x81"
                     "c",
                     false}}) == "ab c");
    CHECK(d.decode({{"\xE2\x96\x81"
                     "c",
                     false}},
                   /*positional=*/false) == " c");
}

TEST_CASE("UTF-8 repair follows the maximal-subpart rule and holds incomplete tails") {
    CHECK(to_valid_utf8("ok") == "ok");
    CHECK(to_valid_utf8("\xE2\x82") == "\xEF\xBF\xBD");  // one truncated sequence, one U+FFFD
    CHECK(to_valid_utf8("\xC0\xAF") == "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: two
    CHECK(to_valid_utf8("\xED\xA0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
    std::string out;
    CHECK(append_lossy_utf8(out, "a\xF0\x9F\xA6", true) == 3);
    CHECK(out == "a");
    CHECK(is_incomplete_prefix("\xF0\x9F"));
    CHECK_FALSE(is_incomplete_prefix("\xF0\x20"));
    CHECK(bytes_to_byte_level(" \n") == "\xC4\xA0\xC4\x8A");  // Ġ Ċ
    std::string back;
    CHECK(byte_level_to_bytes("\xC4\xA0\xC4\x8A", back));
    CHECK(back == " \n");
}

TEST_CASE("added tokens: lstrip/rstrip absorb spaces, single_word needs word boundaries") {
    added_token_matcher m;
    m.add({"<mask>", 7, true, true, false, false, false});
    m.add({"cat", 8, false, false, false, true, false});
    auto f = m.split("a <mask> b", true);
    REQUIRE(f.size() == 3);
    CHECK(f[0].text == "a");
    CHECK(f[1].token == 7);
    CHECK(f[2].text == " b");
    CHECK(m.split("a <mask> b", false).size() == 1);  // special: not parsed
    auto words = m.split("cat concat cat.", false);
    int cats = 0;
    for (const auto& x : words) cats += x.token == 8;
    CHECK(cats == 2);  // "concat" contains "cat" inside a word
}

TEST_CASE("BPE merges lowest rank first, leftmost on ties, and caches pieces") {
    // vocab: a b c ab bc abc ; merges: (b c) rank 0, (a b) rank 1, (a bc) rank 2
    bpe_model m({"a", "b", "c", "ab", "bc", "abc"}, bpe_options{});
    m.add_merge(1, 2, 4, 0);
    m.add_merge(0, 1, 3, 1);
    m.add_merge(0, 4, 5, 2);
    std::vector<int32_t> out;
    m.encode("abc", out);
    CHECK(out == std::vector<int32_t>{5});  // b+c first, then a+bc
    out.clear();
    m.encode("abab", out);
    CHECK(out == std::vector<int32_t>{3, 3});
    out.clear();
    m.encode("abc", out);  // cached
    CHECK(out == std::vector<int32_t>{5});
    out.clear();
    m.encode("abxc", out);  // unknown 'x' without unk or byte fallback is dropped
    CHECK(out == std::vector<int32_t>{5});

    // SentencePiece scores: the best-scoring token merges first
    bpe_model s({"a", "b", "c", "ab", "bc"}, bpe_options{});
    s.merges_from_scores({0, 0, 0, -1.0f, -2.0f});
    out.clear();
    s.encode("abc", out);
    CHECK(out == std::vector<int32_t>{3, 2});
}

TEST_CASE("SentencePiece pieces are cut before a space marker only when no token spans one") {
    const std::string sp = "\xE2\x96\x81";
    // no token joins a character and a following ▁: cutting is allowed and changes nothing
    bpe_model plain({"a", sp, sp + "a", "a" + sp}, bpe_options{});
    CHECK_FALSE(plain.splits_at_space_marker());  // "a▁" spans the boundary
    plain.add_merge(0, 1, 3, 0);                  // a + ▁ -> "a▁" (rank 0)
    plain.add_merge(1, 0, 2, 1);                  // ▁ + a -> "▁a"
    std::vector<int32_t> out;
    plain.encode(sp + "a" + sp + "a", out);  // ▁ a ▁ a: (a ▁) merges first across the boundary
    CHECK(out == std::vector<int32_t>{1, 3, 0});

    bpe_model split({"a", sp, sp + "a", sp + sp}, bpe_options{});
    CHECK(split.splits_at_space_marker());
    split.add_merge(1, 0, 2, 0);
    split.add_merge(1, 1, 3, 1);
    out.clear();
    split.encode("a" + sp + sp + "a" + sp + "a", out);  // a | ▁▁a | ▁a
    CHECK(out == std::vector<int32_t>{0, 1, 2, 2});
}
