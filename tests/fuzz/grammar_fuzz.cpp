// libFuzzer target: the structured-output compilers (JSON schema, regex, GBNF/EBNF, choice)
// on arbitrary specs, then the compiled pushdown automaton driven over arbitrary bytes.
// The input's first byte picks the kind; the rest is the spec and the text to match,
// separated by a NUL byte (choices: the spec's lines). Properties: nothing crashes, hangs
// or trips a sanitizer; a compiled grammar's automaton steps over any bytes.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <iterator>

#include <actorlm/engine.hpp>

#include "fuzz_input.hpp"
#include "structured/grammar_source.hpp"
#include "structured/pda.hpp"

namespace {

using actorlm::structured_output_params;

structured_output_params params_of(uint8_t selector, std::string_view spec) {
    using kind = structured_output_params::kind;
    constexpr kind kinds[] = {kind::json_schema, kind::regex, kind::grammar, kind::choice,
                              kind::json_object};
    structured_output_params p;
    p.type = kinds[selector % std::size(kinds)];
    if (p.type == kind::choice) {
        while (!spec.empty()) {
            size_t nl = spec.find('\n');
            p.choices.emplace_back(spec.substr(0, nl));
            spec.remove_prefix(nl == std::string_view::npos ? spec.size() : nl + 1);
        }
    } else {
        p.spec = std::string(spec);
    }
    return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace actorlm::structured;
    if (size == 0) return 0;
    const auto parts = actorlm::fuzz::split_parts(
        std::string_view(reinterpret_cast<const char*>(data + 1), size - 1), 2);
    auto g = grammar_from_params(params_of(data[0], parts[0]));
    if (!g) return 0;
    const pda_program program = pda_program::from_grammar(*g);
    stack_pool pool;
    pda_stepper stepper(program, pool);
    pda_state state, next;
    stepper.start(program.root, k_stack_bottom, state);
    for (char c : parts[1]) {
        const uint8_t byte = static_cast<uint8_t>(c);
        const bool accepted = stepper.accepts(state, byte);
        actorlm::fuzz::require(stepper.advance(state, byte, next) == accepted);
        if (!accepted) break;
        std::swap(state, next);
    }
    return 0;
}
