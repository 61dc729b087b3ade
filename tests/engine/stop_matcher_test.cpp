// Stop strings: the first occurrence across deltas ends generation, is excluded from the
// output (unless asked), and text that may begin a stop string is held until decided.
#include <doctest/doctest.h>

#include "tokenizer/incremental_detokenizer.hpp"
#include "tokenizer/stop_matcher.hpp"
#include "tokenizer_vectors.hpp"

using namespace actorlm;

TEST_CASE("stop string split across deltas is caught and excluded") {
    stop_matcher m({"STOP"});
    auto a = m.feed("Hello ST");
    CHECK(a.text == "Hello ");
    CHECK_FALSE(a.stopped);
    CHECK(m.held_bytes() == 2);
    auto b = m.feed("OP and more");
    CHECK(b.stopped);
    CHECK(b.matched == 0);
    CHECK(b.text.empty());
    CHECK(m.stopped());
    CHECK(m.matched_string() == "STOP");
    CHECK(m.feed("ignored").text.empty());
    CHECK(m.finish().empty());
}

TEST_CASE("include_stop_str_in_output keeps the stop string") {
    stop_matcher m({"STOP"}, true);
    CHECK(m.feed("Hello ST").text == "Hello ");
    auto b = m.feed("OP and more");
    CHECK(b.stopped);
    CHECK(b.text == "STOP");
}

TEST_CASE("held text is released when it turns out not to be a stop string") {
    stop_matcher m({"Say"});
    CHECK(m.feed("ab S").text == "ab ");
    CHECK(m.feed("o").text == "So");
    CHECK(m.feed("S").text.empty());
    CHECK(m.finish() == "S");  // the end of generation flushes what was held
}

TEST_CASE("the earliest of several stop strings wins and is reported") {
    stop_matcher m({"world", "o w", "xyz"});
    auto r = m.feed("hello world");
    CHECK(r.stopped);
    CHECK(r.matched == 1);
    CHECK(r.text == "hell");
}

TEST_CASE("a stop string inside one delta cuts the delta") {
    stop_matcher m({"\n\n"});
    auto r = m.feed("line one\n\nline two");
    CHECK(r.stopped);
    CHECK(r.text == "line one");
}

TEST_CASE("no stop strings: deltas pass through unchanged") {
    stop_matcher m({"", ""});
    CHECK(m.feed("abc").text == "abc");
    CHECK(m.held_bytes() == 0);
    CHECK(m.finish().empty());
}

TEST_CASE("stop strings over a detokenized token stream") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    const tokenizer& t = *actorlm::test::cached_tokenizer("tokenizers/llama3/tokenizer.json");
    const auto ids = t.encode("The answer is 42.\nUser: what else?", false, false);
    incremental_detokenizer d(t);
    stop_matcher m({"\nUser:"});
    std::string shown;
    for (int32_t id : ids) {
        auto r = m.feed(d.push(id));
        shown += r.text;
        if (r.stopped) break;
    }
    CHECK(m.stopped());
    CHECK(shown == "The answer is 42.");
}
