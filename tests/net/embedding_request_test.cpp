// /v1/embeddings without a model: the body's every input form becomes one pooling
// request per input, encoding_format, dimensions and truncate_prompt_tokens are read and
// checked (the truncation keeps the last tokens), errors are 400s naming the field; the
// response writer's float and base64 forms carry the same float32 bytes, and the
// Matryoshka truncation renormalizes.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <cmath>
#include <cstring>

#include "net/base64.hpp"
#include "net/embedding_request.hpp"
#include "net/embedding_response.hpp"
#include "net/media_url.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

embedding_request parse_ok(const std::string& body) {
    embedding_request r;
    auto err = parse_embedding_request(body, r);
    INFO(body);
    if (err) INFO(err->message);
    REQUIRE_FALSE(err.has_value());
    for (const auto& in : r.inputs) {
        REQUIRE(in.params.pooling.has_value());
        CHECK(in.params.pooling->type == pooling_params::kind::last);
        CHECK(in.params.pooling->normalize);
    }
    return r;
}

api_error parse_err(const std::string& body) {
    embedding_request r;
    auto err = parse_embedding_request(body, r);
    INFO(body);
    REQUIRE(err.has_value());
    CHECK(err->http_status == 400);
    return *err;
}

}  // namespace

TEST_CASE("embedding request: a string, strings, token ids and lists of them") {
    auto r = parse_ok(R"({"model":"m","input":"hello","user":"u","unknown":1})");
    CHECK(r.model == "m");
    REQUIRE(r.inputs.size() == 1);
    CHECK(r.inputs[0].prompt == "hello");
    CHECK(r.inputs[0].add_special_tokens == std::optional<bool>(true));
    CHECK(r.encoding == embedding_encoding::float_array);
    CHECK_FALSE(r.dimensions.has_value());

    r = parse_ok(R"({"input":["a","b c"]})");
    REQUIRE(r.inputs.size() == 2);
    CHECK(r.inputs[0].prompt == "a");
    CHECK(r.inputs[1].prompt == "b c");

    r = parse_ok(R"({"input":[5,6,7]})");
    REQUIRE(r.inputs.size() == 1);
    CHECK(r.inputs[0].prompt_token_ids == std::vector<int32_t>{5, 6, 7});

    r = parse_ok(R"({"input":[[1,2],[3]],"add_special_tokens":false})");
    REQUIRE(r.inputs.size() == 2);
    CHECK(r.inputs[0].prompt_token_ids == std::vector<int32_t>{1, 2});
    CHECK(r.inputs[1].prompt_token_ids == std::vector<int32_t>{3});
    CHECK(r.inputs[1].add_special_tokens == std::optional<bool>(false));
}

TEST_CASE("embedding request: encoding_format and dimensions") {
    auto r = parse_ok(R"({"input":"x","encoding_format":"base64","dimensions":8})");
    CHECK(r.encoding == embedding_encoding::base64);
    CHECK(r.dimensions == std::optional<int32_t>(8));
    r = parse_ok(R"({"input":"x","encoding_format":"float","dimensions":null})");
    CHECK(r.encoding == embedding_encoding::float_array);
    CHECK_FALSE(r.dimensions.has_value());
}

TEST_CASE("embedding request: truncate_prompt_tokens keeps the last N tokens") {
    auto r = parse_ok(R"({"input":[[1,2,3,4,5],[6,7]],"truncate_prompt_tokens":3})");
    CHECK(r.truncate_prompt_tokens == std::optional<int32_t>(3));
    REQUIRE_FALSE(resolve_truncation(r, 512).has_value());
    CHECK(r.truncate_prompt_tokens == std::optional<int32_t>(3));
    for (auto& in : r.inputs) truncate_prompt(in, *r.truncate_prompt_tokens);
    CHECK(r.inputs[0].prompt_token_ids == std::vector<int32_t>{3, 4, 5});
    CHECK(r.inputs[1].prompt_token_ids == std::vector<int32_t>{6, 7});  // shorter: as it is

    // -1 is the model's max_model_len; unset stays unset.
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":-1})");
    REQUIRE_FALSE(resolve_truncation(r, 512).has_value());
    CHECK(r.truncate_prompt_tokens == std::optional<int32_t>(512));
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":null})");
    CHECK_FALSE(r.truncate_prompt_tokens.has_value());
    REQUIRE_FALSE(resolve_truncation(r, 512).has_value());
    CHECK_FALSE(r.truncate_prompt_tokens.has_value());

    // Beyond max_model_len is vLLM's 400; exactly max_model_len is fine.
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":513})");
    auto err = resolve_truncation(r, 512);
    REQUIRE(err.has_value());
    CHECK(err->http_status == 400);
    CHECK(err->param == "truncate_prompt_tokens");
    CHECK(err->message.find("greater than max_model_len (512)") != std::string::npos);
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":512})");
    CHECK_FALSE(resolve_truncation(r, 512).has_value());
    // Without a known length only -1 is refused.
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":-1})");
    CHECK(resolve_truncation(r, 0).has_value());
    r = parse_ok(R"({"input":"x","truncate_prompt_tokens":100000})");
    CHECK_FALSE(resolve_truncation(r, 0).has_value());
}

TEST_CASE("embedding request: malformed bodies are 400s naming the field") {
    CHECK(parse_err(R"({"model":"m"})").param == "input");
    CHECK(parse_err(R"({"model":"m"})").code == "missing_required_parameter");
    CHECK(parse_err(R"({"input":[]})").param == "input");
    CHECK(parse_err(R"({"input":42})").param == "input");
    CHECK(parse_err(R"({"input":["a",[1]]})").param == "input");
    CHECK(parse_err(R"({"input":[[1],[]]})").param == "input");
    CHECK(parse_err(R"({"input":[-1]})").param == "input");
    CHECK(parse_err(R"({"input":"x","encoding_format":"int8"})").param == "encoding_format");
    CHECK(parse_err(R"({"input":"x","encoding_format":1})").param == "encoding_format");
    CHECK(parse_err(R"({"input":"x","dimensions":0})").param == "dimensions");
    CHECK(parse_err(R"({"input":"x","dimensions":"8"})").param == "dimensions");
    CHECK(parse_err(R"({"input":"x","dimensions":2.5})").param == "dimensions");
    CHECK(parse_err(R"({"input":"x","add_special_tokens":"no"})").param == "add_special_tokens");
    for (const char* bad : {"0", "-2", "\"4\"", "1.5"})
        CHECK(parse_err(std::string(R"({"input":"x","truncate_prompt_tokens":)") + bad + "}")
                  .param == "truncate_prompt_tokens");
    CHECK(parse_err(R"([1,2])").http_status == 400);
}

TEST_CASE("embedding response: float and base64 carry the same float32 values") {
    embedding_response r;
    r.id = "embd-1";
    r.created = 7;
    r.model = "m";
    r.embeddings = {{0.1f, -2.5f, 3.0e-7f, 1.0f / 3.0f}, {}};
    r.prompt_tokens = 9;
    simdjson::dom::parser parser;
    const std::string as_float = write_embedding_response(r, embedding_encoding::float_array);
    const std::string as_base64 = write_embedding_response(r, embedding_encoding::base64);
    auto f = parser.parse(as_float).value();
    CHECK(std::string_view(f["object"].get_string().value()) == "list");
    CHECK(std::string_view(f["model"].get_string().value()) == "m");
    CHECK(f["usage"]["prompt_tokens"].get_int64().value() == 9);
    CHECK(f["usage"]["total_tokens"].get_int64().value() == 9);
    std::vector<float> from_float;
    // A named array: iterating a temporary's result leaves simdjson's iterator dangling.
    const simdjson::dom::array values = f["data"].at(0)["embedding"].get_array().value();
    for (auto x : values)
        from_float.push_back(static_cast<float>(x.get_double().value()));
    CHECK(from_float == r.embeddings[0]);
    CHECK(f["data"].at(1)["index"].get_int64().value() == 1);
    CHECK(std::string_view(f["data"].at(1)["object"].get_string().value()) == "embedding");

    auto b = parser.parse(as_base64).value();
    const std::string text(b["data"].at(0)["embedding"].get_string().value());
    auto bytes = decode_data_url("data:application/octet-stream;base64," + text, "application/");
    REQUIRE(bytes.ok());
    REQUIRE(bytes->size() == 4 * sizeof(float));
    std::vector<float> from_base64(4);
    std::memcpy(from_base64.data(), bytes->data(), bytes->size());  // little-endian hosts
    CHECK(from_base64 == r.embeddings[0]);
}

TEST_CASE("embedding response: base64 and Matryoshka truncation") {
    CHECK(base64_encode("") == "");
    CHECK(base64_encode("f") == "Zg==");
    CHECK(base64_encode("fo") == "Zm8=");
    CHECK(base64_encode("foo") == "Zm9v");
    CHECK(base64_encode("foobar") == "Zm9vYmFy");

    const std::vector<float> v = {3.0f, 4.0f, 12.0f};
    const auto t = truncate_embedding(v, 2);
    REQUIRE(t.size() == 2);
    CHECK(t[0] == doctest::Approx(0.6));
    CHECK(t[1] == doctest::Approx(0.8));
    CHECK(truncate_embedding(v, 3) == v);  // the whole vector stays as it is
    CHECK(truncate_embedding({0.0f, 0.0f, 1.0f}, 2) == std::vector<float>{0.0f, 0.0f});
}
