// choice_grammar: one alternative per choice (the matcher's shared stacks already share
// common prefixes at run time, so no trie is built here).
#include "structured/choice_grammar.hpp"

namespace actorlm::structured {

result<grammar> choice_grammar(std::span<const std::string> choices) {
    if (choices.empty())
        return make_error(error_kind::invalid_argument, "choice: the list of choices is empty");
    grammar g;
    std::vector<sequence> alternatives;
    for (const std::string& c : choices) alternatives.push_back(g.literal(c));
    const int32_t root = g.declare_rule("root");
    g.define(root, std::move(alternatives));
    g.set_root(root);
    status checked = g.validate();
    if (!checked.ok()) return checked.err();
    return g;
}

}  // namespace actorlm::structured
