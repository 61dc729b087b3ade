// SSE framing (data: ...\n\n, [DONE]) and the incremental decoder that bench-serve
// and the socket tests read streams with.
#include <doctest/doctest.h>

#include <vector>

#include "net/sse.hpp"

using namespace actorlm::net;

TEST_CASE("sse: events are framed as data lines closed by a blank line") {
    CHECK(sse_event("{\"a\":1}") == "data: {\"a\":1}\n\n");
    CHECK(sse_done() == "data: [DONE]\n\n");
}

TEST_CASE("sse: decoder reassembles events split at any byte") {
    const std::string stream = sse_event("{\"x\":1}") + ": keep-alive comment\n\n" +
                               sse_event("{\"x\":2}") + "data: line1\r\ndata: line2\r\n\r\n" +
                               sse_done();
    for (size_t piece = 1; piece <= stream.size(); ++piece) {
        sse_decoder dec;
        std::vector<std::string> events;
        for (size_t i = 0; i < stream.size(); i += piece)
            dec.feed(std::string_view(stream).substr(i, piece),
                     [&](const std::string& d) { events.push_back(d); });
        REQUIRE(events.size() == 4);
        CHECK(events[0] == "{\"x\":1}");
        CHECK(events[1] == "{\"x\":2}");
        CHECK(events[2] == "line1\nline2");
        CHECK(events[3] == "[DONE]");
        CHECK(dec.pending_bytes() == 0);
    }
}

TEST_CASE("sse: an unterminated event is not delivered") {
    sse_decoder dec;
    int n = 0;
    dec.feed("data: {\"partial\":", [&](const std::string&) { ++n; });
    CHECK(n == 0);
    CHECK(dec.pending_bytes() > 0);
    dec.feed("1}\n\n", [&](const std::string& d) {
        ++n;
        CHECK(d == "{\"partial\":1}");
    });
    CHECK(n == 1);
}
