// Internal to the parser's two files (jinja_parser.cpp: statements,
// jinja_expression_parser.cpp: expressions): the recursive-descent parser over a token
// list. One parser per parse_template call; not shared between threads.
#pragma once

#include <initializer_list>
#include <string>
#include <vector>

#include "chat/jinja_ast.hpp"
#include "chat/jinja_lexer.hpp"

namespace actorlm::jinja::detail {

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

    // ---- statements (jinja_parser.cpp) ----
    stmt_list parse_body(std::initializer_list<const char*> end_tags);
    stmt_ptr parse_statement();
    stmt_ptr parse_for();
    stmt_ptr parse_if();
    stmt_ptr parse_set();
    void parse_params(std::vector<param>& params);
    stmt_ptr parse_macro();
    stmt_ptr parse_call_block();
    stmt_ptr parse_filter_block();
    stmt_ptr parse_with();
    expr_ptr parse_assign_target(bool allow_attr);
    expr_ptr parse_target_name();

    // ---- expressions (jinja_expression_parser.cpp) ----
    expr_ptr parse_tuple(bool with_condexpr, bool explicit_parens);
    expr_ptr parse_expression(bool with_condexpr);
    expr_ptr parse_condexpr();
    expr_ptr binary(const char* op, expr_ptr l, expr_ptr r, const token& at);
    expr_ptr parse_or();
    expr_ptr parse_and();
    expr_ptr parse_not();
    expr_ptr parse_compare();
    expr_ptr parse_math1();
    expr_ptr parse_concat();
    expr_ptr parse_math2();
    expr_ptr parse_pow();
    expr_ptr parse_unary(bool with_filter);
    expr_ptr parse_primary();
    expr_ptr parse_postfix(expr_ptr e);
    expr_ptr parse_subscript(expr_ptr obj, const token& at);
    void parse_call_args(expr& e);
    expr_ptr parse_call(expr_ptr callee);
    expr_ptr parse_filter(expr_ptr input);
    expr_ptr parse_filter_expr(expr_ptr e);

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

}  // namespace actorlm::jinja::detail
