// libFuzzer target: arbitrary bytes into every OpenAI request parser, the SSE
// decoder and the JSON string writer. Properties: nothing crashes, leaks or
// trips a sanitizer; every parse failure is a 400 error object that is itself
// valid JSON; and any byte string written by json_writer parses back.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/json_writer.hpp"
#include "net/openai_protocol.hpp"
#include "net/openai_response.hpp"
#include "net/sse.hpp"

namespace {

void require(bool ok) {
    if (!ok) std::abort();  // libFuzzer reports the input
}

void check_error(const std::optional<actorlm::net::api_error>& err) {
    if (!err) return;
    require(err->http_status == 400);
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    require(parser.parse(err->to_json()).get(doc) == simdjson::SUCCESS);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm::net;
    const std::string_view body(reinterpret_cast<const char*>(data), size);

    openai_request req;
    check_error(parse_completion_request(body, req));
    check_error(parse_chat_request(body, req));
    tokenize_request tok;
    check_error(parse_tokenize_request(body, tok));
    detokenize_request detok;
    check_error(parse_detokenize_request(body, detok));

    // Whatever the client sent comes back in responses (model name, echoed prompt).
    json_writer w;
    w.begin_object().field("s", body).end_object();
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    require(parser.parse(w.str()).get(doc) == simdjson::SUCCESS);
    response_context ctx{endpoint_kind::chat, "chatcmpl-x", 0, std::string(body), true, 1};
    require(parser
                .parse(chunk_json(ctx, 0, std::string(body), {}, 0, true,
                                  actorlm::finish_reason::none, std::string(body)))
                .get(doc) == simdjson::SUCCESS);

    sse_decoder dec;
    dec.feed(body, [](const std::string& event) { require(event.size() <= (1u << 30)); });
    return 0;
}
