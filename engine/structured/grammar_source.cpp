// grammar_source: dispatch from the request's kind to the compiler of that source.
#include "structured/grammar_source.hpp"

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

}  // namespace actorlm::structured
