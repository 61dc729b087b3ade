// Recursive-descent Jinja2 parser. Precedence, loosest first: conditional expression,
// or, and, not, comparisons/in, + -, ~, * / // %, **, unary - +, then postfix
// (.attr [sub] (call)) and filters/tests. Pure function of the token list.
#include "chat/jinja_parser.hpp"

#include <initializer_list>

namespace actorlm::jinja {

namespace {

// Nesting deeper than this is refused instead of exhausting the stack (Python's own
// parser and recursion limit refuse far shallower templates).
constexpr int k_max_nesting = 256;

class parser {
public:
    explicit parser(const std::vector<token>& tokens) : toks_(tokens) {}

    stmt_list parse_all() {
        auto body = parse_body({});
        if (cur().kind != token_kind::eof) error("unexpected " + describe(cur()));
        return body;
    }

private:
    const token& cur() const { return toks_[pos_]; }
    const token& peek(std::size_t k = 1) const {
        return toks_[std::min(pos_ + k, toks_.size() - 1)];
    }
    const token& advance() {
        const token& t = toks_[pos_];
        if (pos_ + 1 < toks_.size()) ++pos_;
        return t;
    }
    bool is_op(const char* op) const { return cur().kind == token_kind::op && cur().value == op; }
    bool is_name(const char* n) const { return cur().kind == token_kind::name && cur().value == n; }
    bool skip_op(const char* op) {
        if (!is_op(op)) return false;
        advance();
        return true;
    }
    bool skip_name(const char* n) {
        if (!is_name(n)) return false;
        advance();
        return true;
    }

    [[noreturn]] void error(const std::string& what) const { error_at(cur(), what); }
    [[noreturn]] static void error_at(const token& t, const std::string& what) {
        fail("line %d, column %d: %s", t.line, t.col, what.c_str());
    }
    void expect_op(const char* op) {
        if (!skip_op(op)) error(std::string("expected '") + op + "', got " + describe(cur()));
    }
    std::string expect_name() {
        if (cur().kind != token_kind::name) error("expected a name, got " + describe(cur()));
        return advance().value;
    }
    void expect_block_end(const char* tag) {
        if (cur().kind != token_kind::block_end)
            error(std::string("expected end of statement block after '") + tag + "', got " +
                  describe(cur()));
        advance();
    }

    expr_ptr node(expr_kind k, const token& at) {
        auto e = std::make_unique<expr>();
        e->kind = k;
        e->line = at.line;
        e->col = at.col;
        return e;
    }
    stmt_ptr snode(stmt_kind k, const token& at) {
        auto s = std::make_unique<stmt>();
        s->kind = k;
        s->line = at.line;
        s->col = at.col;
        return s;
    }

    // ---- statements ----

    // Parses until a `{% name %}` with name in `end_tags` (left unconsumed: cur() is that
    // name) or the end of the template.
    stmt_list parse_body(std::initializer_list<const char*> end_tags) {
        stmt_list body;
        while (true) {
            const token& t = cur();
            if (t.kind == token_kind::eof) {
                if (end_tags.size() == 0) return body;
                std::string want;
                for (const char* e : end_tags) want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
                error("unexpected end of template: expected " + want + " to close the block");
            }
            if (t.kind == token_kind::text) {
                auto s = snode(stmt_kind::text, t);
                s->text = t.value;
                advance();
                body.push_back(std::move(s));
            } else if (t.kind == token_kind::var_begin) {
                auto s = snode(stmt_kind::output, t);
                advance();
                s->value = parse_tuple(true, false);
                if (cur().kind != token_kind::var_end)
                    error("expected end of print statement '}}', got " + describe(cur()));
                advance();
                body.push_back(std::move(s));
            } else if (t.kind == token_kind::block_begin) {
                const token& name = peek();
                if (name.kind != token_kind::name) {
                    advance();
                    error("expected a statement name after '{%', got " + describe(cur()));
                }
                for (const char* e : end_tags)
                    if (name.value == e) {
                        advance();  // the block_begin; cur() is now the end tag's name
                        return body;
                    }
                advance();
                body.push_back(parse_statement());
            } else {
                error("unexpected " + describe(t));
            }
        }
    }

    stmt_ptr parse_statement() {
        depth_guard guard(*this);
        const token& t = cur();
        const std::string& n = t.value;
        if (n == "for") return parse_for();
        if (n == "if") return parse_if();
        if (n == "set") return parse_set();
        if (n == "macro") return parse_macro();
        if (n == "call") return parse_call_block();
        if (n == "filter") return parse_filter_block();
        if (n == "with") return parse_with();
        if (n == "generation") {
            advance();
            expect_block_end("generation");
            auto s = snode(stmt_kind::scoped_body, t);
            s->body = parse_body({"endgeneration"});
            advance();
            expect_block_end("endgeneration");
            return s;
        }
        if (n == "break" || n == "continue") {
            auto s = snode(n == "break" ? stmt_kind::break_loop : stmt_kind::continue_loop, t);
            if (!in_loop_) error("'" + n + "' outside of a for loop");
            advance();
            expect_block_end(n == "break" ? "break" : "continue");
            return s;
        }
        if (n == "extends" || n == "include" || n == "import" || n == "from" || n == "block")
            error("the '" + n + "' tag is not supported in chat templates (no template loader)");
        if (n.rfind("end", 0) == 0 || n == "else" || n == "elif")
            error("unexpected '" + n + "': no open block expects it here");
        error("unknown tag '" + n + "'");
    }

    stmt_ptr parse_for() {
        auto s = snode(stmt_kind::for_loop, advance());
        s->target = parse_assign_target(false);
        if (!skip_name("in")) error("expected 'in' in for loop, got " + describe(cur()));
        s->value = parse_tuple(false, false);
        if (skip_name("if")) s->cond = parse_expression(true);
        if (skip_name("recursive")) error("recursive for loops are not supported");
        expect_block_end("for");
        bool outer = in_loop_;
        in_loop_ = true;
        s->body = parse_body({"endfor", "else"});
        in_loop_ = outer;
        if (skip_name("else")) {
            expect_block_end("else");
            s->else_body = parse_body({"endfor"});
        }
        advance();
        expect_block_end("endfor");
        return s;
    }

    stmt_ptr parse_if() {
        auto s = snode(stmt_kind::if_chain, advance());
        while (true) {
            auto cond = parse_tuple(false, false);
            expect_block_end("if");
            auto body = parse_body({"elif", "else", "endif"});
            s->branches.emplace_back(std::move(cond), std::move(body));
            if (skip_name("elif")) continue;
            if (skip_name("else")) {
                expect_block_end("else");
                s->else_body = parse_body({"endif"});
            }
            advance();
            expect_block_end("endif");
            return s;
        }
    }

    stmt_ptr parse_set() {
        const token& at = advance();
        auto target = parse_assign_target(true);
        if (skip_op("=")) {
            auto s = snode(stmt_kind::set, at);
            s->target = std::move(target);
            s->value = parse_tuple(true, false);
            expect_block_end("set");
            return s;
        }
        auto s = snode(stmt_kind::set_block, at);
        s->target = std::move(target);
        while (skip_op("|")) s->filters.push_back(parse_filter(nullptr));
        expect_block_end("set");
        s->body = parse_body({"endset"});
        advance();
        expect_block_end("endset");
        return s;
    }

    void parse_params(std::vector<param>& params) {
        expect_op("(");
        while (!is_op(")")) {
            if (!params.empty()) expect_op(",");
            if (is_op(")")) break;
            param p;
            p.name = expect_name();
            if (skip_op("=")) p.default_value = parse_expression(true);
            params.push_back(std::move(p));
        }
        advance();
    }

    stmt_ptr parse_macro() {
        auto s = snode(stmt_kind::macro, advance());
        s->text = expect_name();
        parse_params(s->params);
        expect_block_end("macro");
        bool outer = in_loop_;
        in_loop_ = false;
        s->body = parse_body({"endmacro"});
        in_loop_ = outer;
        advance();
        expect_block_end("endmacro");
        return s;
    }

    stmt_ptr parse_call_block() {
        auto s = snode(stmt_kind::call_block, advance());
        if (is_op("(")) parse_params(s->params);
        s->value = parse_expression(true);
        if (s->value->kind != expr_kind::call) error("expected a call after 'call'");
        expect_block_end("call");
        s->body = parse_body({"endcall"});
        advance();
        expect_block_end("endcall");
        return s;
    }

    stmt_ptr parse_filter_block() {
        auto s = snode(stmt_kind::filter_block, advance());
        s->filters.push_back(parse_filter(nullptr));
        while (skip_op("|")) s->filters.push_back(parse_filter(nullptr));
        expect_block_end("filter");
        s->body = parse_body({"endfilter"});
        advance();
        expect_block_end("endfilter");
        return s;
    }

    stmt_ptr parse_with() {
        auto s = snode(stmt_kind::with, advance());
        while (cur().kind != token_kind::block_end) {
            if (!s->assignments.empty()) expect_op(",");
            auto target = parse_assign_target(false);
            expect_op("=");
            s->assignments.emplace_back(std::move(target), parse_expression(true));
        }
        expect_block_end("with");
        s->body = parse_body({"endwith"});
        advance();
        expect_block_end("endwith");
        return s;
    }

    // name | name.attr (set only) | a, b | (a, b)
    expr_ptr parse_assign_target(bool allow_attr) {
        const token& at = cur();
        if (allow_attr && cur().kind == token_kind::name && peek().kind == token_kind::op &&
            peek().value == ".") {
            auto e = node(expr_kind::getattr, at);
            auto obj = node(expr_kind::name, at);
            obj->name = advance().value;
            advance();
            e->a = std::move(obj);
            e->name = expect_name();
            return e;
        }
        auto first = parse_target_name();
        if (!is_op(",")) return first;
        auto t = node(expr_kind::tuple, at);
        t->items.push_back(std::move(first));
        while (skip_op(",")) {
            if (cur().kind != token_kind::name && !is_op("(")) break;
            t->items.push_back(parse_target_name());
        }
        return t;
    }

    expr_ptr parse_target_name() {
        const token& at = cur();
        if (skip_op("(")) {
            auto t = node(expr_kind::tuple, at);
            while (!is_op(")")) {
                if (!t->items.empty()) expect_op(",");
                if (is_op(")")) break;
                t->items.push_back(parse_target_name());
            }
            advance();
            return t;
        }
        auto e = node(expr_kind::name, at);
        e->name = expect_name();
        if (e->name == "true" || e->name == "false" || e->name == "none" || e->name == "loop")
            error_at(at, "cannot assign to '" + e->name + "'");
        return e;
    }

    // ---- expressions ----

    // A bare comma list is a tuple: `{{ a, b }}`, `{% set x = 1, 2 %}`.
    expr_ptr parse_tuple(bool with_condexpr, bool explicit_parens) {
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

    expr_ptr parse_expression(bool with_condexpr) {
        return with_condexpr ? parse_condexpr() : parse_or();
    }

    expr_ptr parse_condexpr() {
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

    expr_ptr binary(const char* op, expr_ptr l, expr_ptr r, const token& at) {
        auto e = node(expr_kind::binary, at);
        e->name = op;
        e->a = std::move(l);
        e->b = std::move(r);
        return e;
    }

    expr_ptr parse_or() {
        auto e = parse_and();
        while (is_name("or")) {
            const token& at = advance();
            e = binary("or", std::move(e), parse_and(), at);
        }
        return e;
    }

    expr_ptr parse_and() {
        auto e = parse_not();
        while (is_name("and")) {
            const token& at = advance();
            e = binary("and", std::move(e), parse_not(), at);
        }
        return e;
    }

    expr_ptr parse_not() {
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
    expr_ptr parse_compare() {
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

    expr_ptr parse_math1() {
        auto e = parse_concat();
        while (is_op("+") || is_op("-")) {
            const token& at = cur();
            std::string op = advance().value;
            e = binary(op.c_str(), std::move(e), parse_concat(), at);
        }
        return e;
    }

    expr_ptr parse_concat() {
        auto e = parse_math2();
        while (is_op("~")) {
            const token& at = advance();
            e = binary("~", std::move(e), parse_math2(), at);
        }
        return e;
    }

    expr_ptr parse_math2() {
        auto e = parse_pow();
        while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
            const token& at = cur();
            std::string op = advance().value;
            e = binary(op.c_str(), std::move(e), parse_pow(), at);
        }
        return e;
    }

    expr_ptr parse_pow() {
        auto e = parse_unary(true);
        while (is_op("**")) {
            const token& at = advance();
            e = binary("**", std::move(e), parse_unary(true), at);
        }
        return e;
    }

    expr_ptr parse_unary(bool with_filter) {
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

    expr_ptr parse_primary() {
        const token& t = cur();
        switch (t.kind) {
            case token_kind::name: {
                advance();
                auto e = node(expr_kind::literal, t);
                if (t.value == "true" || t.value == "True") e->literal = value(true);
                else if (t.value == "false" || t.value == "False") e->literal = value(false);
                else if (t.value == "none" || t.value == "None") e->literal = value::none();
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
                e->literal = value(std::strtod(t.value.c_str(), nullptr));  // overflow -> inf, as Python
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
            default:
                break;
        }
        error("expected an expression, got " + describe(t));
    }

    expr_ptr parse_postfix(expr_ptr e) {
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

    expr_ptr parse_subscript(expr_ptr obj, const token& at) {
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
            if (parts[static_cast<std::size_t>(part)]) error("expected ']' or ':', got " + describe(cur()));
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

    void parse_call_args(expr& e) {
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

    expr_ptr parse_call(expr_ptr callee) {
        auto e = node(expr_kind::call, cur());
        e->a = std::move(callee);
        parse_call_args(*e);
        return e;
    }

    expr_ptr parse_filter(expr_ptr input) {
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

    expr_ptr parse_filter_expr(expr_ptr e) {
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

    struct depth_guard {
        explicit depth_guard(parser& p) : p_(p) {
            if (++p_.depth_ > k_max_nesting) p_.error("template nesting is too deep");
        }
        ~depth_guard() { --p_.depth_; }
        parser& p_;
    };

    const std::vector<token>& toks_;
    std::size_t pos_ = 0;
    int depth_ = 0;
    bool in_loop_ = false;
};

}  // namespace

stmt_list parse_template(const std::vector<token>& tokens) { return parser(tokens).parse_all(); }

}  // namespace actorlm::jinja
