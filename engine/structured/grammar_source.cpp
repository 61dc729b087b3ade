// grammar_source: dispatch from the request's kind to the compiler of that source.
#include "structured/grammar_source.hpp"

#include <mutex>
#include <unordered_map>

#include "structured/choice_grammar.hpp"
#include "structured/ebnf_parser.hpp"
#include "structured/json_schema_compiler.hpp"
#include "structured/regex_compiler.hpp"

namespace actorlm::structured {

result<grammar> grammar_from_params(const structured_output_params& p) {
    using kind = structured_output_params::kind;
    switch (p.type) {
        case kind::json_schema: return json_schema_to_grammar(p.spec);
        case kind::json_object: return json_object_grammar();
        case kind::regex: return regex_to_grammar(p.spec);
        case kind::choice: return choice_grammar(p.choices);
        case kind::grammar: return parse_ebnf(p.spec);
        case kind::none: break;
    }
    return make_error(error_kind::invalid_argument, "no structured output requested");
}

std::string structured_output_key(const structured_output_params& p) {
    std::string key = structured_output_kind_name(p.type);
    key += '\0';
    key += p.spec;
    for (const std::string& c : p.choices) {
        key += '\0';
        key += c;
    }
    return key;
}

std::optional<std::string> structured_output_error(const structured_output_params& p) {
    static std::mutex mutex;
    static std::unordered_map<std::string, std::optional<std::string>> verdicts;
    constexpr size_t k_max_verdicts = 256;
    std::string key = structured_output_key(p);
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = verdicts.find(key);
        if (it != verdicts.end()) return it->second;
    }
    result<grammar> g = grammar_from_params(p);
    std::optional<std::string> verdict;
    if (!g.ok()) verdict = g.message();
    std::lock_guard<std::mutex> lock(mutex);
    if (verdicts.size() >= k_max_verdicts) verdicts.clear();
    verdicts.emplace(std::move(key), verdict);
    return verdict;
}

}  // namespace actorlm::structured
