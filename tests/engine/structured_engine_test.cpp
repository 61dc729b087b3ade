// Structured outputs through the offline engine over a real forward pass (stories260K,
// whose sampled text is not JSON unless constrained): every constrained output validates,
// also with n > 1, under preemption, at a max_tokens cut (a valid prefix, finish
// `length`), with stop strings, and a spec the engine cannot constrain is refused at add.
#include <doctest/doctest.h>

#include <simdjson.h>

#include <regex>

#include "core/llm_engine.hpp"
#include "structured/grammar_source.hpp"
#include "structured_test_support.hpp"
#include "support/shared_data.hpp"

using namespace actorlm;
using namespace actorlm::core;

namespace structured_engine_test {

std::unique_ptr<llm_engine> stories_engine(int64_t kv_bytes = 8 << 20, int32_t max_seqs = 8) {
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K.gguf");
    cfg.kv_cache_memory_bytes = kv_bytes;
    cfg.max_num_seqs = max_seqs;
    cfg.max_model_len = 512;
    cfg.num_threads = 1;
    auto eng = llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));
    return std::move(eng).value();
}

structured_output_params json_schema(std::string schema) {
    structured_output_params p;
    p.type = structured_output_params::kind::json_schema;
    p.spec = std::move(schema);
    return p;
}

actorlm::generate_request make_request(const structured_output_params& so, uint64_t seed,
                                  int32_t max_tokens = 400) {
    actorlm::generate_request r;
    r.prompt = "Once upon a time";
    r.params.temperature = 1.0f;
    r.params.seed = seed;
    r.params.max_tokens = max_tokens;
    r.params.structured_output = so;
    return r;
}

// The text is in the language of `so`'s grammar (whole, or as a prefix).
bool in_language(const structured_output_params& so, const std::string& text, bool whole) {
    auto g = structured::grammar_from_params(so);
    REQUIRE(g.ok());
    structured::grammar_matcher m(actorlm::test::compile_for(*g));
    return m.accept_bytes(text) && (!whole || m.can_terminate());
}

const char* k_person_schema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 8},
    "age": {"type": "integer"},
    "mood": {"enum": ["happy", "sad"]},
    "pets": {"type": "array", "items": {"type": "string", "maxLength": 4}, "maxItems": 2},
    "tall": {"type": ["boolean", "null"]}
  },
  "required": ["name", "mood"],
  "additionalProperties": false
})";

}  // namespace structured_engine_test

using namespace structured_engine_test;

TEST_CASE("structured engine: JSON schema outputs of a sampling model all validate") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = stories_engine();
    const structured_output_params so = json_schema(k_person_schema);
    std::vector<actorlm::generate_request> reqs;
    for (uint64_t s = 0; s < 6; ++s) reqs.push_back(make_request(so, 100 + s));
    // Unconstrained, the same model does not write JSON.
    actorlm::generate_request free_text = make_request({}, 7, 40);
    reqs.push_back(free_text);
    auto res = eng->generate(std::move(reqs));
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
    simdjson::dom::parser parser;
    for (size_t i = 0; i < 6; ++i) {
        const auto& out = (*res)[i].outputs[0];
        CAPTURE(out.text);
        REQUIRE(out.finish == actorlm::finish_reason::stop);
        CHECK(in_language(so, out.text, true));
        simdjson::dom::element doc;
        REQUIRE(parser.parse(out.text).get(doc) == simdjson::SUCCESS);
        std::string_view name, mood;
        REQUIRE(doc["name"].get(name) == simdjson::SUCCESS);
        CHECK(name.size() <= 8 * 4);
        REQUIRE(doc["mood"].get(mood) == simdjson::SUCCESS);
        CHECK((mood == "happy" || mood == "sad"));
    }
    simdjson::dom::element doc;
    CHECK(parser.parse((*res)[6].outputs[0].text).get(doc) != simdjson::SUCCESS);
}

TEST_CASE("structured engine: regex, choice and grammar outputs, n > 1 each constrained") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = stories_engine();
    structured_output_params re;
    re.type = structured_output_params::kind::regex;
    re.spec = "[A-Z][a-z]{1,5} (is|was) [0-9]{1,3}";
    structured_output_params ch;
    ch.type = structured_output_params::kind::choice;
    ch.choices = {"red", "green", "blue sky"};
    structured_output_params gb;
    gb.type = structured_output_params::kind::grammar;
    gb.spec = "root ::= \"(\" item (\",\" item){0,3} \")\"\nitem ::= [a-z]{1,3} | [0-9]";
    std::vector<actorlm::generate_request> reqs{make_request(re, 1), make_request(ch, 2), make_request(gb, 3)};
    for (auto& r : reqs) r.params.n = 3;
    auto res = eng->generate(std::move(reqs));
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
    const std::regex reference("[A-Z][a-z]{1,5} (is|was) [0-9]{1,3}");
    for (const auto& seq : (*res)[0].outputs) {
        CAPTURE(seq.text);
        CHECK(seq.finish == actorlm::finish_reason::stop);
        CHECK(std::regex_match(seq.text, reference));
    }
    for (const auto& seq : (*res)[1].outputs) {
        CAPTURE(seq.text);
        CHECK(std::find(ch.choices.begin(), ch.choices.end(), seq.text) != ch.choices.end());
    }
    for (const auto& seq : (*res)[2].outputs) {
        CAPTURE(seq.text);
        CHECK(in_language(gb, seq.text, true));
    }
    CHECK((*res)[2].outputs.size() == 3);
}

TEST_CASE("structured engine: a max_tokens cut gives finish length and a valid prefix") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = stories_engine();
    const structured_output_params so = json_schema(k_person_schema);
    std::vector<actorlm::generate_request> reqs;
    for (uint64_t s = 0; s < 4; ++s) reqs.push_back(make_request(so, 40 + s, 5));
    auto res = eng->generate(std::move(reqs));
    REQUIRE(res.ok());
    for (const auto& r : *res) {
        const auto& out = r.outputs[0];
        CAPTURE(out.text);
        CHECK(out.finish == actorlm::finish_reason::length);
        CHECK(out.token_ids.size() == 5);
        CHECK(in_language(so, out.text, false));
    }
}

TEST_CASE("structured engine: stop strings end a constrained output early") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = stories_engine();
    const structured_output_params so = json_schema(k_person_schema);
    actorlm::generate_request r = make_request(so, 9);
    r.params.stop = {"\"mood\""};
    auto res = eng->generate({r});
    REQUIRE(res.ok());
    const auto& out = (*res)[0].outputs[0];
    CAPTURE(out.text);
    CHECK(out.finish == actorlm::finish_reason::stop);
    CHECK(out.stop_reason == "\"mood\"");
    CHECK(in_language(so, out.text, false));
}

TEST_CASE("structured engine: preempted and recomputed sequences stay valid") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    // A KV cache of 35 blocks (one 512-token sequence): 24 requests of ~3 blocks cannot all fit, so some are
    // preempted and their matchers must follow the recompute.
    auto eng = stories_engine(700 << 10, 24);
    const structured_output_params so = json_schema(k_person_schema);
    std::vector<actorlm::generate_request> reqs;
    for (uint64_t s = 0; s < 24; ++s) reqs.push_back(make_request(so, 300 + s));
    auto res = eng->generate(std::move(reqs));
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));
    CHECK(eng->stats().num_preemptions_total > 0);
    for (const auto& r : *res) {
        const auto& out = r.outputs[0];
        CAPTURE(out.text);
        if (out.finish == actorlm::finish_reason::stop) CHECK(in_language(so, out.text, true));
        else CHECK(in_language(so, out.text, false));
    }
}

TEST_CASE("structured engine: a spec that cannot be constrained is refused at add, by name") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    auto eng = stories_engine();
    actorlm::generate_request r =
        make_request(json_schema(R"({"type": "string", "contentSchema": {}})"), 1);
    status st = eng->add_request(r);
    REQUIRE_FALSE(st.ok());
    CHECK(st.err().message.find("contentSchema") != std::string::npos);
    structured_output_params bad_re;
    bad_re.type = structured_output_params::kind::regex;
    bad_re.spec = "(a";
    CHECK_FALSE(eng->add_request(make_request(bad_re, 1)).ok());
    auto e = actorlm::check_sampling_params(make_request(bad_re, 1).params);
    REQUIRE(e.has_value());
    CHECK(e->field == "structured_outputs");
}
