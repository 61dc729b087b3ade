// /v1/embeddings end to end on stories260K (the real engine behind api_router): lists
// of strings and of token ids give one normalized vector per input, the same vector for
// the same tokens whatever the form; base64 decodes to the float form's values;
// dimensions truncates and renormalizes, and is a 400 beyond the hidden size; an input
// over the context is a 400 naming input; truncate_prompt_tokens keeps the last tokens
// (-1: the context length) and is a 400 beyond it; the OpenAI JS SDK's embeddings.create (which
// asks for base64 by default) returns the same vector (tests/sdk/embeddings.mjs).
#include <doctest/doctest.h>

#include <simdjson.h>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "net/media_url.hpp"
#include "stories_server.hpp"
#include "support/shell.hpp"

using namespace actorlm;
using namespace actorlm::net;

namespace {

struct embeddings_result {
    int status = 0;
    std::vector<std::vector<float>> vectors;
    int64_t prompt_tokens = 0;
    std::string body;
};

std::vector<float> base64_floats(std::string_view text) {
    auto bytes = decode_data_url("data:application/octet-stream;base64," + std::string(text),
                                 "application/");
    REQUIRE(bytes.ok());
    REQUIRE(bytes->size() % sizeof(float) == 0);
    std::vector<float> v(bytes->size() / sizeof(float));
    std::memcpy(v.data(), bytes->data(), bytes->size());  // little-endian hosts
    return v;
}

embeddings_result embed(http_client& c, const std::string& body) {
    auto r = c.request("POST", "/v1/embeddings", body, {});
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.message()));
    embeddings_result out;
    out.status = r->status;
    out.body = r->body;
    if (out.status != 200) return out;
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    INFO(out.body);
    REQUIRE(parser.parse(out.body).get(root) == simdjson::SUCCESS);
    CHECK(std::string_view(root["object"].get_string().value()) == "list");
    CHECK(std::string_view(root["model"].get_string().value()) == "stories");
    size_t index = 0;
    // Bound to named arrays: value() on a temporary result returns a reference into it,
    // which a range-for would keep past the temporary's end.
    simdjson::dom::array data;
    REQUIRE(root["data"].get(data) == simdjson::SUCCESS);
    for (auto d : data) {
        CHECK(std::string_view(d["object"].get_string().value()) == "embedding");
        CHECK(d["index"].get_int64().value() == static_cast<int64_t>(index++));
        auto e = d["embedding"];
        if (e.is_string()) {
            out.vectors.push_back(base64_floats(e.get_string().value()));
        } else {
            auto& v = out.vectors.emplace_back();
            simdjson::dom::array values;
            REQUIRE(e.get(values) == simdjson::SUCCESS);
            for (auto x : values)
                v.push_back(static_cast<float>(x.get_double().value()));
        }
    }
    out.prompt_tokens = root["usage"]["prompt_tokens"].get_int64().value();
    CHECK(root["usage"]["total_tokens"].get_int64().value() == out.prompt_tokens);
    return out;
}

double norm(const std::vector<float>& v) {
    double n2 = 0.0;
    for (float x : v) n2 += static_cast<double>(x) * x;
    return std::sqrt(n2);
}

std::string error_param(const std::string& body) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(body).get(root) == simdjson::SUCCESS);
    return std::string(root["error"]["param"].get_string().value());
}

std::string json_list(const std::vector<int32_t>& ids) {
    std::string s = "[";
    for (size_t i = 0; i < ids.size(); ++i) s += (i ? "," : "") + std::to_string(ids[i]);
    return s + "]";
}

}  // namespace

TEST_CASE("e2e embeddings: strings and token ids, float and base64, dimensions, errors") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    test::stories_server s;
    auto c = s.client();
    const int32_t hidden = s.eng->info().hidden_size;
    REQUIRE(hidden > 0);

    const auto strings =
        embed(c, R"({"model":"stories","input":["Once upon a time","The cat sat"]})");
    INFO(strings.body);
    REQUIRE(strings.status == 200);
    REQUIRE(strings.vectors.size() == 2);
    for (const auto& v : strings.vectors) {
        CHECK(v.size() == static_cast<size_t>(hidden));
        CHECK(norm(v) == doctest::Approx(1.0).epsilon(1e-5));
    }
    CHECK(strings.vectors[0] != strings.vectors[1]);

    // The same tokens as ids (the prompt as generation tokenizes it, BOS included).
    std::vector<int32_t> ids_a, ids_b;
    std::string error;
    REQUIRE(s.eng->tokenize("Once upon a time", true, &ids_a, &error));
    REQUIRE(s.eng->tokenize("The cat sat", true, &ids_b, &error));
    CHECK(strings.prompt_tokens == static_cast<int64_t>(ids_a.size() + ids_b.size()));
    const auto ids = embed(c, R"({"input":[)" + json_list(ids_a) + "," + json_list(ids_b) + "]}");
    REQUIRE(ids.status == 200);
    REQUIRE(ids.vectors.size() == 2);
    for (size_t i = 0; i < 2; ++i)
        for (size_t j = 0; j < ids.vectors[i].size(); ++j)
            CHECK(ids.vectors[i][j] == doctest::Approx(strings.vectors[i][j]).epsilon(1e-5));
    const auto one = embed(c, R"({"input":)" + json_list(ids_a) + "}");
    REQUIRE(one.vectors.size() == 1);

    const auto b64 = embed(c, R"({"input":"Once upon a time","encoding_format":"base64"})");
    const auto flt = embed(c, R"({"input":"Once upon a time","encoding_format":"float"})");
    REQUIRE(b64.status == 200);
    REQUIRE(flt.status == 200);
    CHECK(b64.vectors == flt.vectors);

    const auto cut = embed(c, R"({"input":"Once upon a time","dimensions":8})");
    REQUIRE(cut.vectors.size() == 1);
    REQUIRE(cut.vectors[0].size() == 8);
    CHECK(norm(cut.vectors[0]) == doctest::Approx(1.0).epsilon(1e-5));
    const double head =
        norm(std::vector<float>(flt.vectors[0].begin(), flt.vectors[0].begin() + 8));
    for (size_t j = 0; j < 8; ++j)
        CHECK(cut.vectors[0][j] == doctest::Approx(flt.vectors[0][j] / head).epsilon(1e-5));

    const auto too_wide =
        embed(c, R"({"input":"x","dimensions":)" + std::to_string(hidden + 1) + "}");
    CHECK(too_wide.status == 400);
    CHECK(error_param(too_wide.body) == "dimensions");
    const auto too_long = embed(c, R"({"input":)" + json_list(std::vector<int32_t>(300, 5)) + "}");
    CHECK(too_long.status == 400);
    CHECK(error_param(too_long.body) == "input");
    // truncate_prompt_tokens keeps the last N tokens, of token ids and of tokenized text
    // alike; -1 is the context length, which makes the too-long input fit; more is a 400.
    REQUIRE(ids_a.size() > 3);
    const std::vector<int32_t> tail_a(ids_a.end() - 3, ids_a.end());
    const auto tail = embed(c, R"({"input":)" + json_list(tail_a) + "}");
    const auto cut_ids =
        embed(c, R"({"input":)" + json_list(ids_a) + R"(,"truncate_prompt_tokens":3})");
    const auto cut_text =
        embed(c, R"({"input":"Once upon a time","truncate_prompt_tokens":3})");
    REQUIRE(tail.status == 200);
    REQUIRE(cut_ids.status == 200);
    REQUIRE(cut_text.status == 200);
    CHECK(cut_ids.prompt_tokens == 3);
    CHECK(cut_text.prompt_tokens == 3);
    CHECK(cut_ids.vectors == tail.vectors);
    CHECK(cut_text.vectors == tail.vectors);
    CHECK(cut_ids.vectors != one.vectors);
    const int32_t max_len = s.eng->info().max_model_len;
    REQUIRE(max_len > 0);
    REQUIRE(max_len < 300);
    const auto fits = embed(c, R"({"input":)" + json_list(std::vector<int32_t>(300, 5)) +
                                   R"(,"truncate_prompt_tokens":-1})");
    CHECK(fits.status == 200);
    CHECK(fits.prompt_tokens == max_len);
    const auto too_many = embed(c, R"({"input":"x","truncate_prompt_tokens":)" +
                                       std::to_string(max_len + 1) + "}");
    CHECK(too_many.status == 400);
    CHECK(error_param(too_many.body) == "truncate_prompt_tokens");
    const auto bad_id = embed(c, R"({"input":[1,99999]})");
    CHECK(bad_id.status == 400);
    CHECK(error_param(bad_id.body) == "input");
    const auto unknown = embed(c, R"({"model":"other","input":"x"})");
    CHECK(unknown.status == 404);

    // The OpenAI JS SDK against the same server.
    if (test::run_shell("command -v node").status != 0) {
        MESSAGE("skipped the SDK: node is not installed (Debian: apt-get install nodejs npm)");
        return;
    }
    const std::string prefix = std::string(ACTORLM_SOURCE_DIR) + "/build/node";
    if (!std::filesystem::exists(prefix + "/node_modules/openai/package.json")) {
        MESSAGE("skipped the SDK: the openai npm package is absent from " << prefix
                                                                          << " (run tools/setup)");
        return;
    }
    std::string expected = "[";
    char buf[32];
    for (size_t j = 0; j < flt.vectors[0].size(); ++j) {
        std::snprintf(buf, sizeof(buf), "%.9g", static_cast<double>(flt.vectors[0][j]));
        expected += (j ? "," : "") + std::string(buf);
    }
    expected += "]";
    const auto sdk =
        test::run_shell("ACTORLM_BASE_URL=http://127.0.0.1:" + std::to_string(s.server->port()) +
                        "/v1 ACTORLM_NODE_PREFIX=" + prefix +
                        " ACTORLM_INPUT='Once upon a time' ACTORLM_EXPECTED='" + expected +
                        "' node " + ACTORLM_SOURCE_DIR + "/tests/sdk/embeddings.mjs");
    INFO(sdk.output);
    CHECK(sdk.status == 0);
}
