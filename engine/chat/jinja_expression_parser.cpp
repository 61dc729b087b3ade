// Jinja2 expression parsing. Precedence, loosest first: conditional expression, or,
// and, not, comparisons/in (chained), + -, ~, * / // %, **, unary - +, then postfix
// (.attr [sub] (call)) with filters and tests binding tightest. Pure function of tokens.
#include "chat/jinja_parser_impl.hpp"

namespace actorlm::jinja::detail {

// A bare comma list is a tuple: `{{ a, b }}`, `{% set x = 1, 2 %}`.
expr_ptr parser::parse_tuple(bool with_condexpr, bool explicit_parens) {
    const token& at = cur();
    std::vector<expr_ptr> items;
    bool saw_comma = false;
    while (true) {
        if (!items.empty()) {
            if (!skip_op(",")) break;
            saw_comma = true;
        }
        if (cur().kind == token_kind::var_end || cur().kind == token_kind::block_end ||
            is_op(")") || (is_name("if") && !with_condexpr && !items.empty()) ||
            (is_name("in") && !items.empty()))
            break;
        items.push_back(with_condexpr || explicit_parens ? parse_expression(true)
                                                         : parse_expression(false));
    }
    if (items.empty() && !explicit_parens) error("expected an expression, got " + describe(cur()));
    if (items.size() == 1 && !saw_comma) return std::move(items[0]);
    auto t = node(expr_kind::tuple, at);
    t->items = std::move(items);
    return t;
}

expr_ptr parser::parse_expression(bool with_condexpr) {
    return with_condexpr ? parse_condexpr() : parse_or();
}

expr_ptr parser::parse_condexpr() {
    auto e = parse_or();
    while (is_name("if")) {
        const token& at = advance();
        auto c = node(expr_kind::cond, at);
        c->b = std::move(e);
        c->a = parse_or();
        if (skip_name("else")) c->c = parse_condexpr();
        e = std::move(c);
    }
    return e;
}

expr_ptr parser::binary(const char* op, expr_ptr l, expr_ptr r, const token& at) {
    auto e = node(expr_kind::binary, at);
    e->name = op;
    e->a = std::move(l);
    e->b = std::move(r);
    return e;
}

expr_ptr parser::parse_or() {
    auto e = parse_and();
    while (is_name("or")) {
        const token& at = advance();
        e = binary("or", std::move(e), parse_and(), at);
    }
    return e;
}

expr_ptr parser::parse_and() {
    auto e = parse_not();
    while (is_name("and")) {
        const token& at = advance();
        e = binary("and", std::move(e), parse_not(), at);
    }
    return e;
}

expr_ptr parser::parse_not() {
    depth_guard guard(*this);
    if (is_name("not")) {
        const token& at = advance();
        auto e = node(expr_kind::unary, at);
        e->name = "not";
        e->a = parse_not();
        return e;
    }
    return parse_compare();
}

// `a < b < c` is Python's chained comparison (a < b and b < c), as in Jinja2.
expr_ptr parser::parse_compare() {
    const token& start = cur();
    auto first = parse_math1();
    expr_ptr chain;
    while (true) {
        const token& at = cur();
        std::string op;
        if (at.kind == token_kind::op &&
            (at.value == "==" || at.value == "!=" || at.value == "<" || at.value == "<=" ||
             at.value == ">" || at.value == ">=")) {
            op = advance().value;
        } else if (is_name("in")) {
            advance();
            op = "in";
        } else if (is_name("not") && peek().kind == token_kind::name && peek().value == "in") {
            advance();
            advance();
            op = "not in";
        } else {
            break;
        }
        if (!chain) {
            chain = node(expr_kind::compare, start);
            chain->a = std::move(first);
        }
        chain->kwargs.emplace_back(op, parse_math1());
    }
    return chain ? std::move(chain) : std::move(first);
}

expr_ptr parser::parse_math1() {
    auto e = parse_concat();
    while (is_op("+") || is_op("-")) {
        const token& at = cur();
        std::string op = advance().value;
        e = binary(op.c_str(), std::move(e), parse_concat(), at);
    }
    return e;
}

expr_ptr parser::parse_concat() {
    auto e = parse_math2();
    while (is_op("~")) {
        const token& at = advance();
        e = binary("~", std::move(e), parse_math2(), at);
    }
    return e;
}

expr_ptr parser::parse_math2() {
    auto e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
        const token& at = cur();
        std::string op = advance().value;
        e = binary(op.c_str(), std::move(e), parse_pow(), at);
    }
    return e;
}

expr_ptr parser::parse_pow() {
    auto e = parse_unary(true);
    while (is_op("**")) {
        const token& at = advance();
        e = binary("**", std::move(e), parse_unary(true), at);
    }
    return e;
}

expr_ptr parser::parse_unary(bool with_filter) {
    depth_guard guard(*this);
    const token& at = cur();
    expr_ptr e;
    if (is_op("-") || is_op("+")) {
        e = node(expr_kind::unary, at);
        e->name = advance().value;
        e->a = parse_unary(false);
    } else {
        e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
}

expr_ptr parser::parse_primary() {
    const token& t = cur();
    switch (t.kind) {
        case token_kind::name: {
            advance();
            auto e = node(expr_kind::literal, t);
            if (t.value == "true" || t.value == "True")
                e->literal = value(true);
            else if (t.value == "false" || t.value == "False")
                e->literal = value(false);
            else if (t.value == "none" || t.value == "None")
                e->literal = value::none();
            else {
                e->kind = expr_kind::name;
                e->name = t.value;
            }
            return e;
        }
        case token_kind::string: {
            std::string s;
            while (cur().kind == token_kind::string) s += advance().value;  // "a" "b" joins
            auto e = node(expr_kind::literal, t);
            e->literal = value(std::move(s));
            return e;
        }
        case token_kind::integer: {
            advance();
            auto e = node(expr_kind::literal, t);
            try {
                e->literal = value(static_cast<std::int64_t>(std::stoll(t.value)));
            } catch (const std::exception&) {
                error_at(t, "integer literal " + t.value + " does not fit in 64 bits");
            }
            return e;
        }
        case token_kind::floating: {
            advance();
            auto e = node(expr_kind::literal, t);
            e->literal =
                value(std::strtod(t.value.c_str(), nullptr));  // overflow -> inf, as Python
            return e;
        }
        case token_kind::op:
            if (t.value == "(") {
                advance();
                auto e = parse_tuple(true, true);
                expect_op(")");
                return e;
            }
            if (t.value == "[") {
                advance();
                auto e = node(expr_kind::list, t);
                while (!is_op("]")) {
                    if (!e->items.empty()) expect_op(",");
                    if (is_op("]")) break;
                    e->items.push_back(parse_expression(true));
                }
                advance();
                return e;
            }
            if (t.value == "{") {
                advance();
                auto e = node(expr_kind::dict, t);
                while (!is_op("}")) {
                    if (!e->items.empty()) expect_op(",");
                    if (is_op("}")) break;
                    e->items.push_back(parse_expression(true));
                    expect_op(":");
                    e->items.push_back(parse_expression(true));
                }
                advance();
                return e;
            }
            break;
        default: break;
    }
    error("expected an expression, got " + describe(t));
}

expr_ptr parser::parse_postfix(expr_ptr e) {
    while (true) {
        const token& at = cur();
        if (is_op(".")) {
            advance();
            if (cur().kind == token_kind::name) {
                auto g = node(expr_kind::getattr, at);
                g->a = std::move(e);
                g->name = advance().value;
                e = std::move(g);
            } else if (cur().kind == token_kind::integer) {
                auto g = node(expr_kind::getitem, at);
                g->a = std::move(e);
                g->b = parse_primary();
                e = std::move(g);
            } else {
                error("expected an attribute name after '.', got " + describe(cur()));
            }
        } else if (is_op("[")) {
            advance();
            e = parse_subscript(std::move(e), at);
        } else if (is_op("(")) {
            e = parse_call(std::move(e));
        } else {
            return e;
        }
    }
}

expr_ptr parser::parse_subscript(expr_ptr obj, const token& at) {
    std::vector<expr_ptr> parts(3);
    int part = 0;
    bool is_slice = false;
    std::vector<expr_ptr> tuple_items;
    while (true) {
        if (is_op(":")) {
            advance();
            is_slice = true;
            if (++part > 2) error("too many ':' in a slice");
            continue;
        }
        if (is_op("]")) break;
        if (is_op(",") && !is_slice) {
            advance();
            tuple_items.push_back(std::move(parts[0]));
            continue;
        }
        if (parts[static_cast<std::size_t>(part)])
            error("expected ']' or ':', got " + describe(cur()));
        parts[static_cast<std::size_t>(part)] = parse_expression(true);
    }
    advance();
    if (is_slice) {
        auto s = node(expr_kind::slice, at);
        s->a = std::move(obj);
        s->items = std::move(parts);
        return s;
    }
    auto g = node(expr_kind::getitem, at);
    g->a = std::move(obj);
    if (!tuple_items.empty()) {
        auto t = node(expr_kind::tuple, at);
        t->items = std::move(tuple_items);
        if (parts[0]) t->items.push_back(std::move(parts[0]));
        g->b = std::move(t);
    } else {
        if (!parts[0]) error_at(at, "expected a subscript expression");
        g->b = std::move(parts[0]);
    }
    return g;
}

void parser::parse_call_args(expr& e) {
    expect_op("(");
    bool first = true;
    while (!is_op(")")) {
        if (!first) expect_op(",");
        first = false;
        if (is_op(")")) break;
        if (skip_op("**")) {
            e.star_kwargs = parse_expression(true);
        } else if (skip_op("*")) {
            e.star_args = parse_expression(true);
        } else if (cur().kind == token_kind::name && peek().kind == token_kind::op &&
                   peek().value == "=") {
            std::string key = advance().value;
            advance();
            e.kwargs.emplace_back(key, parse_expression(true));
        } else {
            if (!e.kwargs.empty()) error("positional argument after keyword argument");
            e.items.push_back(parse_expression(true));
        }
    }
    advance();
}

expr_ptr parser::parse_call(expr_ptr callee) {
    auto e = node(expr_kind::call, cur());
    e->a = std::move(callee);
    parse_call_args(*e);
    return e;
}

expr_ptr parser::parse_filter(expr_ptr input) {
    auto e = node(expr_kind::filter, cur());
    e->a = std::move(input);
    e->name = expect_name();
    while (is_op(".")) {
        advance();
        e->name += '.';
        e->name += expect_name();
    }
    if (is_op("(")) parse_call_args(*e);
    return e;
}

expr_ptr parser::parse_filter_expr(expr_ptr e) {
    while (true) {
        if (skip_op("|")) {
            e = parse_filter(std::move(e));
        } else if (is_name("is")) {
            const token& at = advance();
            auto t = node(expr_kind::test, at);
            t->negated = skip_name("not");
            t->name = expect_name();
            while (is_op(".")) {
                advance();
                t->name += '.';
                t->name += expect_name();
            }
            t->a = std::move(e);
            const token& n = cur();
            if (is_op("(")) {
                parse_call_args(*t);
            } else if ((n.kind == token_kind::name || n.kind == token_kind::string ||
                        n.kind == token_kind::integer || n.kind == token_kind::floating ||
                        is_op("[") || is_op("{")) &&
                       !is_name("else") && !is_name("or") && !is_name("and")) {
                if (is_name("is")) error("you cannot chain multiple tests with 'is'");
                t->items.push_back(parse_postfix(parse_primary()));
            }
            e = std::move(t);
        } else if (is_op("(")) {
            e = parse_call(std::move(e));
        } else {
            return e;
        }
    }
}

}  // namespace actorlm::jinja::detail
