// json_writer: commas, nesting, escaping, UTF-8 repair and non-finite numbers
// always produce JSON that simdjson accepts.
#include <doctest/doctest.h>
#include <simdjson.h>

#include <cmath>
#include <limits>

#include "net/json_writer.hpp"

using actorlm::net::json_writer;

TEST_CASE("json_writer: nested objects and arrays get their commas") {
    json_writer w;
    w.begin_object().field("a", 1).key("b").begin_array().value(true).null().value("s").end_array();
    w.key("c").begin_object().end_object().end_object();
    CHECK(w.str() == R"({"a":1,"b":[true,null,"s"],"c":{}})");
}

TEST_CASE("json_writer: strings are escaped and invalid UTF-8 becomes U+FFFD") {
    json_writer w;
    const std::string nasty = std::string("q\"b\\n\n\t\x01 é ") + "\xff" + "\xe2\x82" + "end";
    w.begin_object().field("s", nasty).end_object();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    REQUIRE(parser.parse(w.str()).get(doc) == simdjson::SUCCESS);
    const std::string back(doc["s"].get_string().value());
    CHECK(back ==
          "q\"b\\n\n\t\x01 é \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"
          "end");
}

TEST_CASE("json_writer: numbers, including non-finite logprobs") {
    json_writer w;
    w.begin_array().value(1.5).value(2.0).value(-std::numeric_limits<double>::infinity());
    w.value(std::nan("")).value(int64_t{-7}).value(uint64_t{18446744073709551615ull}).end_array();
    CHECK(w.str() == "[1.5,2.0,-9999.0,null,-7,18446744073709551615]");
}

TEST_CASE("json_writer: raw JSON is inserted verbatim") {
    json_writer w;
    w.begin_object().key("tool_calls").raw(R"([{"id":"1"}])").field("x", 0).end_object();
    CHECK(w.str() == R"({"tool_calls":[{"id":"1"}],"x":0})");
}
