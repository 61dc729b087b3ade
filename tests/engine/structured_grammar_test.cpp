// The grammar sources of structured outputs, checked on whole strings over a byte
// vocabulary: GBNF/EBNF text, regexes (cross-checked against std::regex on random walks),
// choices and JSON Schema, plus the errors for what we refuse.
#include <regex>

#include "structured/choice_grammar.hpp"
#include "structured/ebnf_parser.hpp"
#include "structured/json_schema_compiler.hpp"
#include "structured/regex_compiler.hpp"
#include "structured/sequence_grammar.hpp"
#include "structured_test_support.hpp"

using namespace actorlm;
using namespace actorlm::structured;
using namespace actorlm::test;

namespace structured_grammar_test {

grammar ebnf(std::string_view text) {
    result<grammar> g = parse_ebnf(text);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? std::string() : g.message()));
    return std::move(g.value());
}

grammar regex(std::string_view pattern) {
    result<grammar> g = regex_to_grammar(pattern);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? std::string() : g.message()));
    return std::move(g.value());
}

grammar schema(std::string_view text) {
    result<grammar> g = json_schema_to_grammar(text);
    REQUIRE_MESSAGE(g.ok(), (g.ok() ? std::string() : g.message()));
    return std::move(g.value());
}

std::string schema_error(std::string_view text) {
    result<grammar> g = json_schema_to_grammar(text);
    REQUIRE_FALSE(g.ok());
    CHECK(g.kind() == error_kind::invalid_argument);
    return g.message();
}

}  // namespace structured_grammar_test

using namespace structured_grammar_test;

TEST_CASE("structured ebnf parses GBNF rules, classes, groups and repetition") {
    const grammar g = ebnf(R"G(
        # arithmetic, llama.cpp style
        root ::= expr
        expr ::= term ([-+] term)*
        term ::= factor ("*" factor)*
        factor ::= num | "(" expr ")"
        num ::= [0-9]+
    )G");
    CHECK(grammar_matches(g, "1+2*3"));
    CHECK(grammar_matches(g, "(1+2)*30-4"));
    CHECK_FALSE(grammar_matches(g, "1+"));
    CHECK_FALSE(grammar_matches(g, "(1"));
    CHECK_FALSE(grammar_matches(g, ""));

    const grammar r = ebnf("root ::= 'a'{2,3} [^a-c]? \"\\x41\\u00e9\" .");
    CHECK(grammar_matches(r, "aaAéz"));
    CHECK(grammar_matches(r, "aadAé\xe2\x82\xac"));  // '.' takes a 3-byte character
    CHECK_FALSE(grammar_matches(r, "aaaaAéz"));
    CHECK_FALSE(grammar_matches(r, "aabAéz"));
    CHECK_FALSE(grammar_matches(r, "aaAé\xe2\x82"));  // a truncated character is no character
}

TEST_CASE("structured ebnf errors name the problem and its place") {
    auto error_of = [](std::string_view text) {
        result<grammar> g = parse_ebnf(text);
        REQUIRE_FALSE(g.ok());
        return g.message();
    };
    CHECK(error_of("start ::= \"a\"").find("no rule named 'root'") != std::string::npos);
    CHECK(error_of("root ::= missing").find("'missing' is used but not defined") != std::string::npos);
    CHECK(error_of("root ::= root \"a\" | \"b\"").find("left-recursive") != std::string::npos);
    CHECK(error_of("root ::= \"abc").find("unterminated string") != std::string::npos);
    CHECK(error_of("root ::= \"a\"\nroot ::= \"b\"").find("defined twice") != std::string::npos);
    CHECK(error_of("root ::= [z-a]").find("line 1") != std::string::npos);
    CHECK(error_of("root ::= x\nx ::= x").find("matches no string") != std::string::npos);
    // Nested repetition stays linear in size (each level is one rule), so it is accepted
    // and matches; a string of 500^3 bytes is never built.
    CHECK(parse_ebnf("root ::= ((\"a\"{500}){500}){500}").ok());
    CHECK(error_of("root ::= \"a\"{600}").find("limit") != std::string::npos);
    std::string deep = "root ::= ";
    for (int i = 0; i < 1000; ++i) deep += '(';
    CHECK(error_of(deep).find("nested too deeply") != std::string::npos);
}

TEST_CASE("structured ebnf: a nullable loop body and right recursion run without hanging") {
    const grammar g = ebnf("root ::= (\"a\"?)* \"b\"\n");
    CHECK(grammar_matches(g, "b"));
    CHECK(grammar_matches(g, "aaab"));
    const grammar list = ebnf("root ::= item (\",\" root)?\nitem ::= [a-z]+");
    CHECK(grammar_matches(list, "ab,c,def"));
    CHECK_FALSE(grammar_matches(list, "ab,"));
}

TEST_CASE("structured regex matches what std::regex matches") {
    // Our pattern and the same language in std::regex's ECMAScript syntax.
    const std::pair<const char*, const char*> patterns[] = {
        {"[a-z]{2,4}@(example|test)\\.(com|org)", "[a-z]{2,4}@(example|test)\\.(com|org)"},
        {"-?(0|[1-9][0-9]*)(\\.[0-9]+)?", "-?(0|[1-9][0-9]*)(\\.[0-9]+)?"},
        {"\\d{3}-\\d{4}", "[0-9]{3}-[0-9]{4}"},
        {"(ab|a)*c", "(ab|a)*c"},
        {"[^\\s,]+(, [^\\s,]+){0,2}", "[^\\s,]+(, [^\\s,]+){0,2}"},
        {"x+?y*?z??", "x+y*z?"},
        {"^(?:https?)://[\\w.-]+$", "(https?)://[A-Za-z0-9_.-]+"},
        {"(?P<year>\\d{4})-(?<month>\\d\\d)", "([0-9]{4})-([0-9][0-9])"},
    };
    std::mt19937 rng(7);
    for (const auto& [p, ref] : patterns) {
        CAPTURE(p);
        const std::regex reference(ref);
        auto compiled = compile_for(regex(p));
        int checked = 0;
        for (int i = 0; i < 30; ++i) {
            grammar_matcher m(compiled);
            const walk_result w = random_walk(m, rng, 400, 0.2);
            if (!w.terminated) continue;
            ++checked;
            // Non-ASCII output (from [^\s,]) is compared as bytes, which is still exact.
            CHECK_MESSAGE(std::regex_match(w.text, reference), w.text);
        }
        CHECK(checked > 0);
    }
    CHECK(grammar_matches(regex("(ab|a)*c"), "abaabc"));
    CHECK_FALSE(grammar_matches(regex("(ab|a)*c"), "abb c"));
    CHECK(grammar_matches(regex("a{3}"), "aaa"));
    CHECK_FALSE(grammar_matches(regex("a{3}"), "aa"));
    CHECK(grammar_matches(regex("[\\]\\-]+"), "]-]"));
    CHECK(grammar_matches(regex("a{,2}b{x"), "ab{x"));  // '{x' is a literal
    CHECK(grammar_matches(regex(""), ""));
}

TEST_CASE("structured regex refuses what it cannot constrain, naming it") {
    auto error_of = [](std::string_view p) {
        result<grammar> g = regex_to_grammar(p);
        REQUIRE_FALSE(g.ok());
        return g.message();
    };
    CHECK(error_of("(a)\\1").find("backreferences") != std::string::npos);
    CHECK(error_of("a(?=b)").find("lookaround") != std::string::npos);
    CHECK(error_of("(?i)abc").find("inline flags") != std::string::npos);
    CHECK(error_of("\\bword").find("word boundaries") != std::string::npos);
    CHECK(error_of("a)").find("unbalanced") != std::string::npos);
    CHECK(error_of("(a").find("missing ')'") != std::string::npos);
    CHECK(error_of("*a").find("nothing to repeat") != std::string::npos);
    CHECK(error_of("a{2000}").find("limit") != std::string::npos);
    CHECK(error_of("a$b").find("'$'") != std::string::npos);
}

TEST_CASE("structured choice matches exactly one of the strings") {
    const std::vector<std::string> choices{"yes", "no", "not sure", ""};
    result<grammar> g = choice_grammar(choices);
    REQUIRE(g.ok());
    for (const std::string& c : choices) CHECK(grammar_matches(*g, c));
    CHECK_FALSE(grammar_matches(*g, "ye"));
    CHECK_FALSE(grammar_matches(*g, "yesno"));
    CHECK_FALSE(choice_grammar({}).ok());
}

TEST_CASE("structured json schema: objects, required and optional properties in order") {
    const grammar g = schema(R"({
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
            "ok": {"type": "boolean"}
        },
        "required": ["name", "ok"],
        "additionalProperties": false
    })");
    CHECK(grammar_matches(g, R"({"name":"x","ok":true})"));
    CHECK(grammar_matches(g, R"({ "name": "a\"b\u00e9", "age": -12, "tags": ["a", "b"], "ok": false})"));
    CHECK(grammar_matches(g, R"({"name":"x","tags":[],"ok":true})"));
    CHECK_FALSE(grammar_matches(g, R"({"ok":true})"));                          // name required
    CHECK_FALSE(grammar_matches(g, R"({"ok":true,"name":"x"})"));               // order
    CHECK_FALSE(grammar_matches(g, R"({"name":"x","age":1.5,"ok":true})"));     // integer
    CHECK_FALSE(grammar_matches(g, R"({"name":"x","tags":["a","b","c"],"ok":true})"));
    CHECK_FALSE(grammar_matches(g, R"({"name":"x","ok":true,"extra":1})"));
    CHECK_FALSE(grammar_matches(g, "{\"name\":\"\x01\",\"ok\":true}"));         // raw control char
    CHECK_FALSE(grammar_matches(g, "{\"name\":\"\xff\",\"ok\":true}"));         // invalid UTF-8
}

TEST_CASE("structured json schema: enum, const, anyOf, nullable, $ref recursion") {
    const grammar e = schema(R"({"enum": ["red", 3, null, {"a": [1]}]})");
    CHECK(grammar_matches(e, R"("red")"));
    CHECK(grammar_matches(e, "3"));
    CHECK(grammar_matches(e, "null"));
    CHECK(grammar_matches(e, R"({"a":[1]})"));
    CHECK_FALSE(grammar_matches(e, R"("blue")"));
    CHECK(grammar_matches(schema(R"({"const": "x\ny"})"), R"("x\ny")"));

    const grammar u = schema(R"({"anyOf": [{"type": "integer"}, {"type": "string", "maxLength": 2}]})");
    CHECK(grammar_matches(u, "12"));
    CHECK(grammar_matches(u, R"("ab")"));
    CHECK_FALSE(grammar_matches(u, R"("abc")"));
    const grammar n = schema(R"({"type": ["number", "null"]})");
    CHECK(grammar_matches(n, "-1.5e+3"));
    CHECK(grammar_matches(n, "null"));
    CHECK_FALSE(grammar_matches(n, "01"));
    CHECK(grammar_matches(schema(R"({"type": "string", "nullable": true})"), "null"));

    const grammar tree = schema(R"({
        "$defs": {"node": {"type": "object", "properties": {
            "v": {"type": "integer"},
            "kids": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
            "required": ["v"], "additionalProperties": false}},
        "$ref": "#/$defs/node"})");
    CHECK(grammar_matches(tree, R"({"v":1,"kids":[{"v":2},{"v":3,"kids":[{"v":4,"kids":[]}]}]})"));
    CHECK_FALSE(grammar_matches(tree, R"({"v":1,"kids":[{"kids":[]}]})"));
    const grammar self = schema(R"({"type": "object", "properties": {"next": {"$ref": "#"}}})");
    CHECK(grammar_matches(self, R"({"next":{"next":{}}})"));
}

TEST_CASE("structured json schema: strings with bounds, patterns and formats") {
    const grammar b = schema(R"({"type": "string", "minLength": 2, "maxLength": 3})");
    CHECK(grammar_matches(b, R"("ab")"));
    CHECK(grammar_matches(b, R"("a\"é")"));
    CHECK_FALSE(grammar_matches(b, R"("a")"));
    CHECK_FALSE(grammar_matches(b, R"("abcd")"));
    const grammar p = schema(R"({"type": "string", "pattern": "^[A-Z]\"\\d+$"})");
    CHECK(grammar_matches(p, R"("Q\"12")"));
    CHECK_FALSE(grammar_matches(p, R"("Q"12")"));
    const grammar d = schema(R"({"type": "string", "format": "date-time"})");
    CHECK(grammar_matches(d, R"("2024-02-28T13:05:00Z")"));
    CHECK(grammar_matches(d, R"("2024-02-28T13:05:00.123+01:00")"));
    CHECK_FALSE(grammar_matches(d, R"("2024-13-01T00:00:00Z")"));
    const grammar id = schema(R"({"type": "string", "format": "uuid"})");
    CHECK(grammar_matches(id, R"("123e4567-e89b-12d3-a456-426614174000")"));
    const grammar arr = schema(R"({"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 3})");
    CHECK(grammar_matches(arr, "[1, 2]"));
    CHECK(grammar_matches(arr, "[1,2,3]"));
    CHECK_FALSE(grammar_matches(arr, "[1]"));
    CHECK_FALSE(grammar_matches(arr, "[1,2,3,4]"));
}

TEST_CASE("structured json schema: unsupported keywords are errors that name them") {
    CHECK(schema_error(R"({"type": "object", "patternProperties": {}})").find("'patternProperties'") != std::string::npos);
    CHECK(schema_error(R"({"type": "integer", "multipleOf": 3})").find("'multipleOf'") != std::string::npos);
    CHECK(schema_error(R"({"type": "integer", "minimum": 3, "maximum": 2})").find("no integer") != std::string::npos);
    CHECK(schema_error(R"({"type": "integer", "minimum": 1e20})").find("1e15") != std::string::npos);
    CHECK(schema_error(R"({"type": "object", "properties": {"a": {"type": "string", "format": "ipv6"}}})")
              .find("#/properties/a") != std::string::npos);
    CHECK(schema_error(R"({"type": "array", "uniqueItems": true})").find("uniqueItems") != std::string::npos);
    CHECK(schema_error(R"({"$ref": "http://x/y.json"})").find("only local") != std::string::npos);
    CHECK(schema_error(R"({"$ref": "#/$defs/missing"})").find("does not exist") != std::string::npos);
    CHECK(schema_error(R"({"type": "strin"})").find("unknown type 'strin'") != std::string::npos);
    CHECK(schema_error("{not json").find("not valid JSON") != std::string::npos);
    CHECK(schema_error(R"({"type": "object", "required": ["a"], "additionalProperties": false})")
              .find("'a'") != std::string::npos);
    CHECK(schema_error(R"({"anyOf": [{"type": "string"}], "minLength": 2})").find("combined") != std::string::npos);
    CHECK(schema_error("false").find("accepts nothing") != std::string::npos);
    // Annotations are fine.
    CHECK(json_schema_to_grammar(R"({"title": "T", "description": "d", "type": "null", "default": null})").ok());
}

TEST_CASE("structured json_object grammar accepts any object and only objects") {
    const grammar g = json_object_grammar();
    CHECK(grammar_matches(g, R"({})"));
    CHECK(grammar_matches(g, R"({"a": [1, {"b": null}, "c", -0.5e-3, true], "d": {}})"));
    CHECK_FALSE(grammar_matches(g, "[]"));
    CHECK_FALSE(grammar_matches(g, R"({"a":})"));
    CHECK_FALSE(grammar_matches(g, R"({"a":1,})"));
}

TEST_CASE("structured sequence_grammar follows outputs that are cut back or replaced") {
    // Speculative decoding rejects drafts and preemption recomputes: the sequence's output
    // ids change under the grammar, which must follow them exactly.
    const grammar g = regex("(ab|ax)c+");
    auto compiled = compile_for(g);
    sequence_grammar seq(compiled, {});
    auto mask_after = [&](std::string_view text) {
        grammar_matcher fresh(compiled);
        REQUIRE(fresh.accept_bytes(text));
        std::vector<uint32_t> m(bitmask_words(compiled->vocabulary().mask_size()));
        fresh.fill_next_token_bitmask(m);
        return m;
    };
    auto ids = [](std::string_view text) {
        std::vector<int32_t> out;
        for (char c : text) out.push_back(static_cast<uint8_t>(c));
        return out;
    };
    auto as_vector = [](std::span<const uint32_t> s) { return std::vector<uint32_t>(s.begin(), s.end()); };
    CHECK(as_vector(seq.next_token_mask(ids("abcc"))) == mask_after("abcc"));
    CHECK(seq.num_matched() == 4);
    CHECK(as_vector(seq.next_token_mask(ids("ax"))) == mask_after("ax"));  // drafts rejected
    CHECK(as_vector(seq.next_token_mask(ids("axc"))) == mask_after("axc"));
    // A stop token where the grammar may end: afterwards only stop tokens.
    std::vector<int32_t> stopped = ids("axc");
    stopped.push_back(256);
    const std::vector<uint32_t> only_stop = as_vector(seq.next_token_mask(stopped));
    CHECK(allowed_ids(only_stop) == std::vector<int32_t>{256});
    // A token the grammar refuses (a resumed request's foreign output): only stop tokens.
    CHECK(allowed_ids(as_vector(seq.next_token_mask(ids("q")))) == std::vector<int32_t>{256});
    CHECK_FALSE(seq.consistent());
    CHECK(as_vector(seq.next_token_mask(ids("a"))) == mask_after("a"));  // and back again
    CHECK(seq.consistent());

    // A request stop id beyond the vocabulary (a model config's EOS): allowed exactly where
    // the grammar may end, also after the output is cut back from such a place.
    sequence_grammar wide(compiled, {300});
    auto has_300 = [](std::span<const uint32_t> m) { return m.size() > 9 && ((m[9] >> 12) & 1u); };
    CHECK_FALSE(has_300(wide.next_token_mask(ids("ab"))));
    CHECK(has_300(wide.next_token_mask(ids("abc"))));
    CHECK_FALSE(has_300(wide.next_token_mask(ids("ab"))));
}

TEST_CASE("structured sequence_grammar waits for the end of the reasoning") {
    // A reasoning model thinks first; the grammar applies from the token after </think>
    // (here spelt one byte per token, a marker over several tokens), as vLLM's does.
    const grammar g = regex("(yes|no)");
    auto compiled = compile_for(g);
    auto ids = [](std::string_view text) {
        std::vector<int32_t> out;
        for (char c : text) out.push_back(static_cast<uint8_t>(c));
        return out;
    };
    auto allowed = [](std::span<const uint32_t> m) {
        return allowed_ids(std::vector<uint32_t>(m.begin(), m.end()));
    };
    const std::vector<int32_t> prompt = ids("<|user|>Is it?<|assistant|>");
    sequence_grammar seq(compiled, {}, "<think>", "</think>", prompt);
    CHECK(seq.reasoning());
    // While reasoning every token may follow, the stop token too.
    CHECK(allowed(seq.next_token_mask(ids("<think>maybe </thi"))).size() == 257);
    CHECK(seq.reasoning());
    // The marker's last byte ends the reasoning: now only the grammar's first bytes.
    const std::vector<int32_t> closed = ids("<think>maybe </think>");
    CHECK(allowed(seq.next_token_mask(closed)) == std::vector<int32_t>{'n', 'y'});
    CHECK_FALSE(seq.reasoning());
    std::vector<int32_t> answer = ids("<think>maybe </think>ye");
    CHECK(allowed(seq.next_token_mask(answer)) == std::vector<int32_t>{'s'});
    answer.push_back('s');
    CHECK(allowed(seq.next_token_mask(answer)) == std::vector<int32_t>{256});  // only stop
    // Preemption takes the output back to inside the marker: reasoning again, then the
    // same answer is constrained the same way.
    CHECK(allowed(seq.next_token_mask(ids("<think>maybe </th"))).size() == 257);
    CHECK(seq.reasoning());
    CHECK(allowed(seq.next_token_mask(ids("<think>maybe </think>y"))) == std::vector<int32_t>{'e'});

    // The template closed the block in the prompt (Qwen3's enable_thinking=false): the
    // grammar applies from the first token. A closed block followed by an open one (the
    // template opened a new one) leaves the model reasoning.
    sequence_grammar closed_in_prompt(compiled, {}, "<think>", "</think>",
                                      ids("<|assistant|><think>\n\n</think>\n\n"));
    CHECK_FALSE(closed_in_prompt.reasoning());
    CHECK(allowed(closed_in_prompt.next_token_mask({})) == std::vector<int32_t>{'n', 'y'});
    sequence_grammar reopened(compiled, {}, "<think>", "</think>",
                              ids("<think>a</think> ok <|assistant|><think>\n"));
    CHECK(reopened.reasoning());
    // Without markers: constrained from the first token.
    sequence_grammar plain(compiled, {});
    CHECK_FALSE(plain.reasoning());
    CHECK(allowed(plain.next_token_mask({})) == std::vector<int32_t>{'n', 'y'});
}

TEST_CASE("structured json schema: integer bounds match exactly the integers in range") {
    // Every integer in [-1200, 1200] against ranges with both, one or no bound, inclusive
    // and exclusive, crossing zero and digit-count boundaries.
    struct range_case {
        const char* schema;
        long lo, hi;  // inclusive; +-1e9 for open sides
    };
    const range_case cases[] = {
        {R"({"type":"integer","minimum":0,"maximum":100})", 0, 100},
        {R"({"type":"integer","minimum":-37,"maximum":1019})", -37, 1019},
        {R"({"type":"integer","minimum":-999,"maximum":-100})", -999, -100},
        {R"({"type":"integer","exclusiveMinimum":9,"exclusiveMaximum":200})", 10, 199},
        {R"({"type":"integer","minimum":95})", 95, 1000000000},
        {R"({"type":"integer","maximum":-11})", -1000000000, -11},
        {R"({"type":"integer","maximum":7})", -1000000000, 7},
        {R"({"type":"integer","minimum":-5})", -5, 1000000000},
        {R"({"type":"number","minimum":0.5,"maximum":3.5})", 1, 3},
        {R"({"minimum":190,"maximum":210})", 190, 210},
    };
    for (const range_case& c : cases) {
        CAPTURE(c.schema);
        auto compiled = compile_for(schema(c.schema));
        for (long n = -1200; n <= 1200; ++n) {
            grammar_matcher m(compiled);
            const bool in = m.accept_bytes(std::to_string(n)) && m.can_terminate();
            CHECK_MESSAGE(in == (n >= c.lo && n <= c.hi), n);
        }
        grammar_matcher zero(compiled);
        CHECK_FALSE((zero.accept_bytes("-0") && zero.can_terminate()));
        grammar_matcher lead(compiled);
        CHECK_FALSE((lead.accept_bytes("0100") && lead.can_terminate()));
    }
    const grammar num = schema(R"({"type":"number","minimum":0,"maximum":2})");
    CHECK(grammar_matches(num, "1.25"));
    CHECK(grammar_matches(num, "2"));
    CHECK_FALSE(grammar_matches(num, "2.5"));
    CHECK_FALSE(grammar_matches(num, "-0.5"));
}
