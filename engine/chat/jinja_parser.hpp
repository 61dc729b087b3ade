// Jinja2 parser: tokens -> syntax tree, following jinja2/parser.py's grammar and
// operator precedence (filters and tests bind tighter than arithmetic; `not` looser
// than comparisons). Stateless function; safe from any thread.
#pragma once

#include <string>
#include <vector>

#include "chat/jinja_ast.hpp"
#include "chat/jinja_lexer.hpp"

namespace actorlm::jinja {

/// Parses a template. Raises jinja_error "line L, column C: expected X, got Y" on a
/// syntax error or a tag this interpreter does not support (extends, include, ...).
stmt_list parse_template(const std::vector<token>& tokens);

}  // namespace actorlm::jinja
