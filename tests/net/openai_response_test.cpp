// OpenAI response objects parsed back with simdjson: field names, nesting,
// logprobs layouts, usage, chunk shapes and error objects.
#include <doctest/doctest.h>
#include <simdjson.h>

#include "net/api_error.hpp"
#include "net/openai_response.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

simdjson::dom::element parse_json(simdjson::dom::parser& parser, const std::string& text) {
    simdjson::dom::element e;
    INFO(text);
    REQUIRE(parser.parse(text).get(e) == simdjson::SUCCESS);
    return e;
}

std::string str(simdjson::dom::element e) { return std::string(e.get_string().value()); }

choice_output make_choice(int32_t index, const std::string& text, finish_reason f) {
    choice_output c;
    c.index = index;
    c.text = text;
    c.finish = f;
    return c;
}

}  // namespace

TEST_CASE("text_completion object has OpenAI's fields") {
    response_context ctx{endpoint_kind::completion, "cmpl-abc", 1700000000, "m", false, 0};
    const std::string json = full_response_json(ctx,
                                                {make_choice(0, "hello", finish_reason::length),
                                                 make_choice(1, "bye", finish_reason::stop)},
                                                {5, 7});
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, json);
    CHECK(str(doc["id"]) == "cmpl-abc");
    CHECK(str(doc["object"]) == "text_completion");
    CHECK(doc["created"].get_int64().value() == 1700000000);
    CHECK(str(doc["model"]) == "m");
    auto choices = doc["choices"].get_array().value();
    REQUIRE(choices.size() == 2);
    CHECK(choices.at(0)["index"].get_int64().value() == 0);
    CHECK(str(choices.at(0)["text"]) == "hello");
    CHECK(str(choices.at(0)["finish_reason"]) == "length");
    CHECK(choices.at(0)["logprobs"].is_null());
    CHECK(str(choices.at(1)["finish_reason"]) == "stop");
    CHECK(doc["usage"]["prompt_tokens"].get_int64().value() == 5);
    CHECK(doc["usage"]["completion_tokens"].get_int64().value() == 7);
    CHECK(doc["usage"]["total_tokens"].get_int64().value() == 12);
}

TEST_CASE("chat.completion object carries an assistant message") {
    response_context ctx{endpoint_kind::chat, "chatcmpl-1", 1, "m", false, 0};
    const std::string json =
        full_response_json(ctx, {make_choice(0, "Hi \"there\"\n", finish_reason::stop)}, {3, 4});
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, json);
    CHECK(str(doc["object"]) == "chat.completion");
    auto choice = doc["choices"].at(0);
    CHECK(str(choice["message"]["role"]) == "assistant");
    CHECK(str(choice["message"]["content"]) == "Hi \"there\"\n");
    CHECK(str(choice["finish_reason"]) == "stop");
}

TEST_CASE("completions logprobs: parallel arrays with text offsets and echo positions") {
    response_context ctx{endpoint_kind::completion, "cmpl-1", 1, "m", true, 2};
    choice_output c = make_choice(0, "P ab", finish_reason::length);
    c.echo_length = 2;
    c.prompt_logprobs = {std::nullopt, token_logprob{9, " ", -0.5f, {}}};
    c.prompt_logprobs[0] = std::nullopt;
    c.logprobs = {token_logprob{1, "a", -0.25f, {{1, "a", -0.25f}, {2, "b", -2.0f}}},
                  token_logprob{2, "b", -1.0f, {{2, "b", -1.0f}}}};
    const std::string json = full_response_json(ctx, {c}, {2, 2});
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, json);
    auto lp = doc["choices"].at(0)["logprobs"];
    auto tokens = lp["tokens"].get_array().value();
    REQUIRE(tokens.size() == 4);
    CHECK(str(tokens.at(2)) == "a");
    auto token_logprobs = lp["token_logprobs"].get_array().value();
    CHECK(token_logprobs.at(0).is_null());
    CHECK(token_logprobs.at(1).get_double().value() == doctest::Approx(-0.5));
    CHECK(token_logprobs.at(2).get_double().value() == doctest::Approx(-0.25));
    auto offsets = lp["text_offset"].get_array().value();
    CHECK(offsets.at(3).get_int64().value() == 2);  // "" (0) + " " (1) + "a" (1)
    auto top = lp["top_logprobs"].get_array().value();
    CHECK(top.at(0).is_null());
    CHECK(top.at(2)["b"].get_double().value() == doctest::Approx(-2.0));
}

TEST_CASE("chat logprobs: content entries with bytes and top_logprobs") {
    response_context ctx{endpoint_kind::chat, "chatcmpl-1", 1, "m", true, 1};
    choice_output c = make_choice(0, "é", finish_reason::stop);
    c.logprobs = {token_logprob{5, "é", -0.1f, {{5, "é", -0.1f}, {6, "e", -3.0f}}}};
    const std::string json = full_response_json(ctx, {c}, {1, 1});
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, json);
    auto entry = doc["choices"].at(0)["logprobs"]["content"].at(0);
    CHECK(str(entry["token"]) == "é");
    CHECK(entry["logprob"].get_double().value() == doctest::Approx(-0.1));
    auto bytes = entry["bytes"].get_array().value();
    REQUIRE(bytes.size() == 2);
    CHECK(bytes.at(0).get_int64().value() == 0xC3);
    auto top = entry["top_logprobs"].get_array().value();
    CHECK(top.size() == 1);  // cut to top_logprobs
}

TEST_CASE("stream chunks: completion text, chat delta with role first, usage chunk") {
    simdjson::dom::parser parser;
    response_context cctx{endpoint_kind::completion, "cmpl-1", 1, "m", false, 0};
    auto c =
        parse_json(parser, chunk_json(cctx, 1, " next", {}, 0, false, finish_reason::none, ""));
    CHECK(str(c["object"]) == "text_completion");
    CHECK(str(c["choices"].at(0)["text"]) == " next");
    CHECK(c["choices"].at(0)["index"].get_int64().value() == 1);
    CHECK(c["choices"].at(0)["finish_reason"].is_null());

    response_context chat{endpoint_kind::chat, "chatcmpl-1", 1, "m", false, 0};
    auto first = parse_json(parser, chunk_json(chat, 0, "", {}, 0, true, finish_reason::none, ""));
    CHECK(str(first["object"]) == "chat.completion.chunk");
    CHECK(str(first["choices"].at(0)["delta"]["role"]) == "assistant");
    CHECK(str(first["choices"].at(0)["delta"]["content"]).empty());
    auto last =
        parse_json(parser, chunk_json(chat, 0, "", {}, 0, false, finish_reason::stop, "\n"));
    CHECK(last["choices"].at(0)["delta"]["content"].error() == simdjson::NO_SUCH_FIELD);
    CHECK(str(last["choices"].at(0)["finish_reason"]) == "stop");
    CHECK(str(last["choices"].at(0)["stop_reason"]) == "\n");

    auto usage = parse_json(parser, usage_chunk_json(chat, {10, 20}));
    CHECK(usage["choices"].get_array().value().size() == 0);
    CHECK(usage["usage"]["total_tokens"].get_int64().value() == 30);
}

TEST_CASE("error objects are shaped as OpenAI's") {
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, model_not_found("gpt-x").to_json());
    CHECK(str(doc["error"]["type"]) == "invalid_request_error");
    CHECK(str(doc["error"]["code"]) == "model_not_found");
    CHECK(str(doc["error"]["param"]) == "model");
    CHECK(str(doc["error"]["message"]).find("gpt-x") != std::string::npos);
    auto internal = parse_json(parser, internal_error("boom").to_json());
    CHECK(str(internal["error"]["type"]) == "server_error");
    auto plain = parse_json(parser, invalid_api_key().to_json());
    CHECK(plain["error"]["param"].is_null());
    CHECK(model_not_found("x").http_status == 404);
    CHECK(invalid_api_key().http_status == 401);
    CHECK(body_too_large(10).http_status == 413);
}

TEST_CASE("response ids have OpenAI's prefix and are unique") {
    const auto a = make_response_id("cmpl-");
    const auto b = make_response_id("cmpl-");
    CHECK(a.rfind("cmpl-", 0) == 0);
    CHECK(a.size() == 5 + 32);
    CHECK(a != b);
}

TEST_CASE("a prefill response carries kv_transfer_params as vLLM's does") {
    response_context ctx{endpoint_kind::completion, "cmpl-1", 1, "m", false, 0};
    choice_output c = make_choice(0, "a", finish_reason::length);
    c.kv_transfer = kv_transfer_params{};
    c.kv_transfer->do_remote_prefill = true;
    c.kv_transfer->remote_host = "127.0.0.1";
    c.kv_transfer->remote_port = 7100;
    c.kv_transfer->remote_request_id = "r1";
    c.kv_transfer->remote_block_ids = {3, 5};
    simdjson::dom::parser parser;
    auto doc = parse_json(parser, full_response_json(ctx, {c}, {40, 1}));
    auto kt = doc["kv_transfer_params"];
    CHECK(kt["do_remote_prefill"].get_bool().value());
    CHECK_FALSE(kt["do_remote_decode"].get_bool().value());
    CHECK(str(kt["remote_host"]) == "127.0.0.1");
    CHECK(kt["remote_port"].get_int64().value() == 7100);
    CHECK(str(kt["remote_request_id"]) == "r1");
    CHECK(kt["remote_block_ids"].get_array().value().size() == 2);
    // An ordinary response has none.
    auto plain = parse_json(parser, full_response_json(ctx, {make_choice(0, "a", finish_reason::stop)},
                                                       {1, 1}));
    CHECK(plain["kv_transfer_params"].error() == simdjson::NO_SUCH_FIELD);
}
