// Syntax tree of a parsed Jinja template. Built once by the parser, then only read:
// any number of renders may walk one tree at the same time.
// Invariant: child pointers that the grammar requires are non-null (the parser checks).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_value.hpp"

namespace actorlm::jinja {

enum class expr_kind {
    literal,  ///< constant (literal)
    name,     ///< variable lookup (name)
    list,     ///< [items...]
    tuple,    ///< (items...) or a bare `a, b`
    dict,     ///< {items[0]: items[1], ...}
    getattr,  ///< a.name
    getitem,  ///< a[b]
    slice,    ///< a[items[0]:items[1]:items[2]] (each may be null)
    call,     ///< a(items..., kwargs...)
    filter,   ///< a | name(items..., kwargs...); a is null inside `{% filter %}`
    test,     ///< a is [not] name(items...)
    unary,    ///< name in {"not", "-", "+"} applied to a
    binary,   ///< a name b, name an operator ("+", "and", "~", ...)
    compare,  ///< a op1 x1 op2 x2 ...: Python's chained comparison; kwargs = (op, x)
    cond,     ///< b if a else c (c may be null)
};

struct expr;
using expr_ptr = std::unique_ptr<expr>;

struct expr {
    expr_kind kind;
    int line = 0;
    int col = 0;
    value literal;
    std::string name;
    expr_ptr a, b, c;
    std::vector<expr_ptr> items;
    std::vector<std::pair<std::string, expr_ptr>> kwargs;
    expr_ptr star_args;    ///< *args in a call
    expr_ptr star_kwargs;  ///< **kwargs in a call
    bool negated = false;  ///< `is not`
};

enum class stmt_kind {
    text,          ///< text: literal output
    output,        ///< {{ value }}
    if_chain,      ///< branches (cond, body)..., else_body
    for_loop,      ///< for target in value [if cond] body [else else_body]
    set,           ///< set target = value
    set_block,     ///< set target [| filters] body endset
    macro,         ///< macro text(params) body
    call_block,    ///< call(params) value body
    filter_block,  ///< filter filters body
    with,          ///< with assignments body
    break_loop,
    continue_loop,
    scoped_body,  ///< a body run in place (HF's {% generation %})
};

struct stmt;
using stmt_ptr = std::unique_ptr<stmt>;
using stmt_list = std::vector<stmt_ptr>;

/// A macro or caller parameter with an optional default.
struct param {
    std::string name;
    expr_ptr default_value;
};

struct stmt {
    stmt_kind kind;
    int line = 0;
    int col = 0;
    std::string text;
    expr_ptr value;
    expr_ptr target;
    expr_ptr cond;
    std::vector<std::pair<expr_ptr, stmt_list>> branches;
    stmt_list body;
    stmt_list else_body;
    std::vector<param> params;
    std::vector<expr_ptr> filters;
    std::vector<std::pair<expr_ptr, expr_ptr>> assignments;
};

}  // namespace actorlm::jinja
