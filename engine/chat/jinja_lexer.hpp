// Jinja2 lexer: splits template source into text and tag tokens, applying the
// whitespace rules HF transformers renders with (trim_blocks, lstrip_blocks, `-`/`+`
// markers, the dropped final newline). Stateless; safe from any thread.
// Invariant: the token list ends with one token_kind::eof.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace actorlm::jinja {

enum class token_kind {
    text,         ///< literal template data (whitespace control already applied)
    var_begin,    ///< {{
    var_end,      ///< }}
    block_begin,  ///< {%
    block_end,    ///< %}
    name,
    string,  ///< value = the unescaped string
    integer,
    floating,
    op,  ///< value = the operator text ("==", "(", "|", ...)
    eof,
};

struct token {
    token_kind kind;
    std::string value;
    int line = 1;  ///< 1-based
    int col = 1;   ///< 1-based, in bytes
};

/// Lexer settings; the defaults are HF transformers' environment.
struct lexer_options {
    bool trim_blocks = true;
    bool lstrip_blocks = true;
    bool keep_trailing_newline = false;
};

/// Tokenizes `source`; raises jinja_error ("line L, column C: ...") on an unterminated
/// tag, comment or string, or an unknown character inside a tag.
std::vector<token> tokenize(const std::string& source, const lexer_options& options = {});

/// Human description of a token for "expected X, got Y" messages.
std::string describe(const token& t);

}  // namespace actorlm::jinja
