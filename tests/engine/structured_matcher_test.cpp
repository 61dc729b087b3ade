// The grammar matcher over real vocabularies (Llama-3's 128k tokens, Qwen3's 151k): the
// cached masks equal the masks found by trying every token, random walks produce only
// valid text, stop tokens appear only where the grammar may end, and rollback restores
// earlier masks exactly.
#include <simdjson.h>

#include "structured/choice_grammar.hpp"
#include "structured/ebnf_parser.hpp"
#include "structured/json_schema_compiler.hpp"
#include "structured/regex_compiler.hpp"
#include "structured_test_support.hpp"
#include "tokenizer_vectors.hpp"

using namespace actorlm;
using namespace actorlm::structured;
using namespace actorlm::test;

namespace structured_matcher_test {

std::shared_ptr<const token_vocabulary> vocab_of(const std::string& rel) {
    static std::map<std::string, std::shared_ptr<const token_vocabulary>> cache;
    auto& slot = cache[rel];
    if (!slot) slot = token_vocabulary::from_tokenizer(*cached_tokenizer(rel));
    return slot;
}

const char* k_function_call_schema = R"({
  "type": "object",
  "properties": {
    "name": {"type": "string", "enum": ["get_weather", "search_web", "send_email"]},
    "arguments": {
      "type": "object",
      "properties": {
        "location": {"type": "string", "maxLength": 12},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        "days": {"type": "integer"},
        "include_hourly": {"type": "boolean"}
      },
      "required": ["location", "unit"],
      "additionalProperties": false
    }
  },
  "required": ["name", "arguments"],
  "additionalProperties": false
})";

// Walks `steps` tokens, comparing the cached mask with the brute-force one at each step.
void check_masks_along_walk(const std::shared_ptr<const compiled_grammar>& g, uint32_t seed,
                            int steps) {
    grammar_matcher m(g);
    std::mt19937 rng(seed);
    std::vector<uint32_t> mask(bitmask_words(g->vocabulary().mask_size()));
    for (int s = 0; s < steps && !m.is_terminated(); ++s) {
        m.fill_next_token_bitmask(mask);
        const std::vector<uint32_t> expected = reference_mask(m);
        REQUIRE(mask == expected);
        std::vector<int32_t> ids = allowed_ids(mask);
        REQUIRE(!ids.empty());
        const int32_t pick = ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)];
        REQUIRE(m.accept_token(pick));
    }
}

}  // namespace structured_matcher_test

using namespace structured_matcher_test;

TEST_CASE("structured matcher masks equal the try-every-token masks (Llama-3 vocabulary)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    auto vocab = vocab_of("tokenizers/llama3/tokenizer.json");
    result<grammar> schema = json_schema_to_grammar(k_function_call_schema);
    REQUIRE(schema.ok());
    check_masks_along_walk(compile_for(*schema, vocab), 1, 12);
    result<grammar> re = regex_to_grammar("[A-Z][a-z]{0,6}( [0-9]{1,3})?!");
    REQUIRE(re.ok());
    check_masks_along_walk(compile_for(*re, vocab), 2, 8);
    check_masks_along_walk(compile_for(json_object_grammar(), vocab), 3, 10);
}

TEST_CASE("structured matcher masks equal the try-every-token masks (Qwen3 vocabulary)") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    auto vocab = vocab_of("tokenizers/qwen3/tokenizer.json");
    result<grammar> g = parse_ebnf(R"G(root ::= "call(" arg ("," " "? arg)* ")"
                                     arg ::= [a-z_]+ "=" ([0-9]+ | "\"" [^"]* "\""))G");
    REQUIRE(g.ok());
    check_masks_along_walk(compile_for(*g, vocab), 4, 12);
}

TEST_CASE("structured matcher random walks over Qwen3 give schema-valid JSON") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    auto vocab = vocab_of("tokenizers/qwen3/tokenizer.json");
    result<grammar> schema = json_schema_to_grammar(k_function_call_schema);
    REQUIRE(schema.ok());
    auto g = compile_for(*schema, vocab);
    std::mt19937 rng(11);
    simdjson::dom::parser parser;
    int finished = 0;
    for (int i = 0; i < 20; ++i) {
        grammar_matcher m(g);
        const walk_result w = random_walk(m, rng, 300);
        if (!w.terminated) continue;
        ++finished;
        CAPTURE(w.text);
        simdjson::dom::element doc;
        REQUIRE(parser.parse(w.text).get(doc) == simdjson::SUCCESS);
        std::string_view name;
        REQUIRE(doc["name"].get(name) == simdjson::SUCCESS);
        CHECK((name == "get_weather" || name == "search_web" || name == "send_email"));
        std::string_view location, unit;
        REQUIRE(doc["arguments"]["location"].get(location) == simdjson::SUCCESS);
        REQUIRE(doc["arguments"]["unit"].get(unit) == simdjson::SUCCESS);
        CHECK((unit == "celsius" || unit == "fahrenheit"));
    }
    CHECK(finished >= 15);
}

TEST_CASE("structured matcher allows stop tokens only where the grammar may end") {
    ACTORLM_REQUIRE_SHARED("tokenizers/llama3/tokenizer.json");
    auto vocab = vocab_of("tokenizers/llama3/tokenizer.json");
    REQUIRE(!vocab->stop_ids().empty());
    const int32_t eos = vocab->stop_ids().front();
    const std::vector<std::string> choices{"yes", "yesterday"};
    result<grammar> g = choice_grammar(choices);
    REQUIRE(g.ok());
    grammar_matcher m(compile_for(*g, vocab));
    std::vector<uint32_t> mask(bitmask_words(vocab->mask_size()));
    auto allowed = [&](int32_t id) { return ((mask[static_cast<size_t>(id) >> 5] >> (id & 31)) & 1u) != 0; };
    m.fill_next_token_bitmask(mask);
    CHECK_FALSE(allowed(eos));
    CHECK_FALSE(m.accept_token(eos));
    REQUIRE(m.accept_bytes("yes"));
    m.fill_next_token_bitmask(mask);
    CHECK(allowed(eos));
    CHECK(m.can_terminate());
    REQUIRE(m.accept_bytes("terday"));
    m.fill_next_token_bitmask(mask);
    CHECK(allowed_ids(mask) == std::vector<int32_t>(vocab->stop_ids().begin(), vocab->stop_ids().end()));
    REQUIRE(m.accept_token(eos));
    CHECK(m.is_terminated());
    m.fill_next_token_bitmask(mask);
    CHECK(allowed_ids(mask).empty());
    // Control tokens never match grammar text, even one spelled like allowed text.
    const tokenizer& t = *cached_tokenizer("tokenizers/llama3/tokenizer.json");
    grammar_matcher fresh(compile_for(*g, vocab));
    CHECK_FALSE(fresh.accept_token(t.token_id("<|begin_of_text|>")));
}

TEST_CASE("structured matcher rollback restores earlier masks and states") {
    ACTORLM_REQUIRE_SHARED("tokenizers/qwen3/tokenizer.json");
    auto vocab = vocab_of("tokenizers/qwen3/tokenizer.json");
    result<grammar> schema = json_schema_to_grammar(k_function_call_schema);
    REQUIRE(schema.ok());
    auto g = compile_for(*schema, vocab);
    grammar_matcher m(g);
    std::mt19937 rng(5);
    std::vector<std::vector<uint32_t>> masks;
    std::vector<uint32_t> mask(bitmask_words(vocab->mask_size()));
    for (int s = 0; s < 10; ++s) {
        m.fill_next_token_bitmask(mask);
        masks.push_back(mask);
        std::vector<int32_t> ids = allowed_ids(mask);
        REQUIRE(m.accept_token(ids[std::uniform_int_distribution<size_t>(0, ids.size() - 1)(rng)]));
    }
    for (int back = 1; back <= 10; ++back) {
        m.rollback(1);
        CHECK(m.num_steps() == 10 - back);
        m.fill_next_token_bitmask(mask);
        CHECK(mask == masks[static_cast<size_t>(10 - back)]);
    }
    // A rejected token changes nothing.
    const int32_t brace = vocab->num_tokens() > 90 ? 90 : 0;
    const int32_t before = m.num_steps();
    m.fill_next_token_bitmask(mask);
    if (!((mask[static_cast<size_t>(brace) >> 5] >> (brace & 31)) & 1u)) {
        CHECK_FALSE(m.accept_token(brace));
        CHECK(m.num_steps() == before);
    }
}
