// Property test of structured outputs: many random JSON schemas, regexes and choice lists,
// each constraining a sampling model (stories260K at temperature 1, which writes stories,
// not JSON, unless constrained), and every finished output checked by an independent
// validator: Python's json + jsonschema and re (tests/engine/structured_validate.py, run
// with /usr/bin/python3). Outputs cut by max_tokens must be valid prefixes. Skips with a
// message when ../shared or python3-jsonschema is absent.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "core/llm_engine.hpp"
#include "structured/grammar_source.hpp"
#include "structured/json_grammar.hpp"
#include "structured_test_support.hpp"
#include "support/shared_data.hpp"
#include "support/temp_dir.hpp"

using namespace actorlm;

namespace structured_property_test {

using kind = structured_output_params::kind;

std::string quoted(const std::string& s) { return "\"" + structured::json_escape_string(s) + "\""; }

// Random schemas within what the compiler supports (no `nullable`: jsonschema would not
// honour that OpenAPI keyword). Strings are mostly length-bounded so that a model that
// picks tokens nearly at random still closes them within max_tokens.
class schema_generator {
public:
    explicit schema_generator(std::mt19937& rng) : rng_(rng) {}

    std::string document() {
        defs_.clear();
        std::string root = pick(3) == 0 ? any(0) : object(0);
        if (pick(4) == 0) root = tree_ref();
        if (defs_.empty()) return root;
        std::string defs = "{";
        for (const auto& [name, body] : defs_) defs += (defs.size() > 1 ? "," : "") + quoted(name) + ":" + body;
        defs += "}";
        // Root keywords and $defs side by side (root is an object literal "{...}").
        return "{\"$defs\":" + defs + "," + root.substr(1);
    }

private:
    int pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

    std::string any(int depth) {
        const int choice = pick(depth >= 2 ? 10 : 14);
        switch (choice) {
            case 0: {
                const int max = pick(7);
                const int min = pick(max + 1);
                return "{\"type\":\"string\",\"minLength\":" + std::to_string(min) +
                       ",\"maxLength\":" + std::to_string(max) + "}";
            }
            case 1: return R"({"type":"string","enum":["red","green","blue sky","é\"q"]})";
            case 2: {
                static const char* patterns[] = {"^[a-z]{1,4}-[0-9]{2}$", "^(yes|no)$",
                                                 "[A-Z][a-z]{0,3}", "^\\d{3}$", "^[^\"\\\\]{0,3}$"};
                return std::string("{\"type\":\"string\",\"pattern\":") + quoted(patterns[pick(5)]) + "}";
            }
            case 3: {
                static const char* formats[] = {"date", "uuid", "ipv4", "time"};
                return std::string("{\"type\":\"string\",\"format\":\"") + formats[pick(4)] + "\"}";
            }
            case 4: {
                if (pick(2)) return R"({"type":"integer"})";
                const int lo = pick(2000) - 1000, hi = lo + pick(3000);
                std::string s = "{\"type\":\"integer\"";
                if (pick(3)) s += (pick(2) ? ",\"minimum\":" : ",\"exclusiveMinimum\":") + std::to_string(lo);
                if (pick(3)) s += (pick(2) ? ",\"maximum\":" : ",\"exclusiveMaximum\":") + std::to_string(hi + 2);
                return s + "}";
            }
            case 5: {
                if (pick(2)) return R"({"type":"number"})";
                return "{\"type\":\"number\",\"minimum\":" + std::to_string(pick(50)) + ".5" +
                       ",\"exclusiveMaximum\":" + std::to_string(60 + pick(1000)) + "}";
            }
            case 6: return R"({"type":"boolean"})";
            case 7: return pick(2) ? R"({"type":"null"})" : R"({"type":["integer","null"]})";
            case 8: return pick(2) ? R"({"const":42})" : R"({"enum":[1,"two",null,true,{"k":[]}]})";
            case 9: return R"({"type":"string","maxLength":3})";
            case 10: return object(depth + 1);
            case 11: return array(depth + 1);
            case 12: return "{\"anyOf\":[" + any(depth + 1) + "," + any(depth + 1) + "]}";
            default: {
                const std::string name = "d" + std::to_string(defs_.size());
                defs_[name] = any(depth + 1);
                return "{\"$ref\":\"#/$defs/" + name + "\"}";
            }
        }
    }

    std::string object(int depth) {
        static const char* names[] = {"a", "name", "x_1", "sp ace", "é", "q\"k", "n"};
        const int n = 1 + pick(4);
        std::string props = "{", required = "[";
        std::vector<int> used;
        for (int i = 0; i < n; ++i) {
            const int k = pick(7);
            if (std::find(used.begin(), used.end(), k) != used.end()) continue;
            used.push_back(k);
            props += (props.size() > 1 ? "," : "") + quoted(names[k]) + ":" + any(depth + 1);
            if (pick(2)) required += (required.size() > 1 ? "," : "") + quoted(names[k]);
        }
        return "{\"type\":\"object\",\"properties\":" + props + "},\"required\":" + required +
               "],\"additionalProperties\":false}";
    }

    std::string array(int depth) {
        const int min = pick(3), max = min + pick(3);
        return "{\"type\":\"array\",\"items\":" + any(depth + 1) + ",\"minItems\":" +
               std::to_string(min) + ",\"maxItems\":" + std::to_string(max) + "}";
    }

    // A recursive definition: a tree whose nodes hold an integer and up to two children.
    std::string tree_ref() {
        defs_["tree"] = R"({"type":"object","properties":{"v":{"type":"integer"},)"
                        R"("kids":{"type":"array","items":{"$ref":"#/$defs/tree"},"maxItems":2}},)"
                        R"("required":["v"],"additionalProperties":false})";
        return R"({"$ref":"#/$defs/tree"})";
    }

    std::mt19937& rng_;
    std::map<std::string, std::string> defs_;
};

std::string random_regex(std::mt19937& rng) {
    static const char* parts[] = {"[a-z]{1,5}", "(ab|cd)+x?", "\\d{2,4}-\\d{2}",
                                  "[A-Z][a-z]{0,4}( [A-Z][a-z]{0,3}){0,2}", "(true|false|maybe)",
                                  "0x[0-9a-f]{1,6}", "[^,;]{1,8};", "a*b+c?d{2}",
                                  "\\w{1,6}@\\w{1,4}\\.com", "(\\.|é|ü){1,3}"};
    std::string out;
    const int n = 1 + std::uniform_int_distribution<int>(0, 2)(rng);
    for (int i = 0; i < n; ++i) out += std::string("(") + parts[std::uniform_int_distribution<int>(0, 9)(rng)] + ")";
    return out;
}

std::vector<std::string> random_choices(std::mt19937& rng) {
    static const char* words[] = {"a", "ab", "abc", "yes", "no", "maybe so", "\"quoted\"", "naïve", "42", " lead"};
    std::vector<std::string> out;
    const int n = 2 + std::uniform_int_distribution<int>(0, 3)(rng);
    for (int i = 0; i < n; ++i) {
        std::string w = words[std::uniform_int_distribution<int>(0, 9)(rng)];
        if (std::find(out.begin(), out.end(), w) == out.end()) out.push_back(w);
    }
    return out;
}

}  // namespace structured_property_test

using namespace structured_property_test;

TEST_CASE("structured property: random schemas, regexes and choices validate under Python") {
    ACTORLM_REQUIRE_SHARED("models/stories260K.gguf");
    if (std::system("/usr/bin/python3 -c 'import jsonschema' > /dev/null 2>&1") != 0) {
        MESSAGE("skipped: /usr/bin/python3 has no jsonschema (Debian package python3-jsonschema, "
                "installed by tools/setup)");
        return;
    }
    actorlm::engine_config cfg;
    cfg.model_path = actorlm::test::shared_path("models/stories260K.gguf");
    cfg.kv_cache_memory_bytes = 16 << 20;
    cfg.max_num_seqs = 32;
    cfg.num_threads = 1;
    auto eng = core::llm_engine::create(cfg);
    REQUIRE_MESSAGE(eng.ok(), (eng.ok() ? "" : eng.message()));

    std::mt19937 rng(20261207);
    schema_generator schemas(rng);
    std::vector<generate_request> reqs;
    auto add = [&](structured_output_params so) {
        generate_request r;
        r.prompt = "Once upon a time";
        r.params.temperature = 1.0f;
        r.params.seed = reqs.size();
        r.params.max_tokens = 300;
        r.params.structured_output = std::move(so);
        reqs.push_back(std::move(r));
    };
    for (int i = 0; i < 80; ++i) {
        structured_output_params so;
        so.type = kind::json_schema;
        so.spec = schemas.document();
        add(std::move(so));
    }
    for (int i = 0; i < 30; ++i) {
        structured_output_params so;
        so.type = kind::regex;
        so.spec = random_regex(rng);
        add(std::move(so));
    }
    for (int i = 0; i < 20; ++i) {
        structured_output_params so;
        so.type = kind::choice;
        so.choices = random_choices(rng);
        add(std::move(so));
    }
    for (const auto& r : reqs) {
        auto e = check_sampling_params(r.params);
        REQUIRE_MESSAGE(!e.has_value(), r.params.structured_output.spec << ": " << (e ? e->message : ""));
    }
    const std::vector<generate_request> sent = reqs;
    auto res = (*eng)->generate(std::move(reqs));
    REQUIRE_MESSAGE(res.ok(), (res.ok() ? "" : res.message()));

    const auto path = actorlm::test::temp_path("structured-outputs.jsonl");
    std::ofstream out(path);
    std::map<kind, int> finished, cut;
    for (size_t i = 0; i < sent.size(); ++i) {
        const structured_output_params& so = sent[i].params.structured_output;
        const auto& seq = (*res)[i].outputs[0];
        if (seq.finish != finish_reason::stop) {
            // A max_tokens cut: the text so far is a prefix of the language.
            CHECK(seq.finish == finish_reason::length);
            auto g = structured::grammar_from_params(so);
            REQUIRE(g.ok());
            structured::grammar_matcher m(actorlm::test::compile_for(*g));
            CHECK_MESSAGE(m.accept_bytes(seq.text), so.spec << " -> " << seq.text);
            ++cut[so.type];
            continue;
        }
        ++finished[so.type];
        std::string choices = "[";
        for (const auto& c : so.choices) choices += (choices.size() > 1 ? "," : "") + quoted(c);
        out << "{\"kind\":\"" << structured_output_kind_name(so.type) << "\",\"spec\":" << quoted(so.spec)
            << ",\"choices\":" << choices << "],\"text\":" << quoted(seq.text) << "}\n";
    }
    out.close();
    MESSAGE("finished json " << finished[kind::json_schema] << " (cut " << cut[kind::json_schema]
                             << "), regex " << finished[kind::regex] << " (cut " << cut[kind::regex]
                             << "), choice " << finished[kind::choice]);
    // Most schemas finish: strings are bounded and the sampler must close what it opens.
    CHECK(finished[kind::json_schema] >= 40);
    CHECK(finished[kind::regex] >= 20);
    CHECK(finished[kind::choice] == 20);

    const auto report = actorlm::test::temp_path("structured-outputs.txt");
    const std::string cmd = "/usr/bin/python3 " ACTORLM_SOURCE_DIR "/tests/engine/structured_validate.py " +
                            path.string() + " > " + report.string() + " 2>&1";
    const int rc = std::system(cmd.c_str());
    const std::string text = actorlm::test::read_file(report.string());
    INFO(text);
    CHECK(rc == 0);
    CHECK(text.find("0 invalid") != std::string::npos);
    std::filesystem::remove(path);
    std::filesystem::remove(report);
}
