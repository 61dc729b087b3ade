// Jinja2 statement parsing: text, output tags and the block tags (for, if, set, macro,
// call, filter, with, break/continue, HF's generation), following jinja2/parser.py.
// Pure function of the token list; safe from any thread.
#include "chat/jinja_parser.hpp"

#include "chat/jinja_parser_impl.hpp"

namespace actorlm::jinja {

namespace detail {

// Parses until a `{% name %}` with name in `end_tags` (left unconsumed: cur() is that
// name) or the end of the template.
stmt_list parser::parse_body(std::initializer_list<const char*> end_tags) {
    stmt_list body;
    while (true) {
        const token& t = cur();
        if (t.kind == token_kind::eof) {
            if (end_tags.size() == 0) return body;
            std::string want;
            for (const char* e : end_tags)
                want += (want.empty() ? "'" : " or '") + std::string(e) + "'";
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

stmt_ptr parser::parse_statement() {
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

stmt_ptr parser::parse_for() {
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

stmt_ptr parser::parse_if() {
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

stmt_ptr parser::parse_set() {
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

void parser::parse_params(std::vector<param>& params) {
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

stmt_ptr parser::parse_macro() {
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

stmt_ptr parser::parse_call_block() {
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

stmt_ptr parser::parse_filter_block() {
    auto s = snode(stmt_kind::filter_block, advance());
    s->filters.push_back(parse_filter(nullptr));
    while (skip_op("|")) s->filters.push_back(parse_filter(nullptr));
    expect_block_end("filter");
    s->body = parse_body({"endfilter"});
    advance();
    expect_block_end("endfilter");
    return s;
}

stmt_ptr parser::parse_with() {
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
expr_ptr parser::parse_assign_target(bool allow_attr) {
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

expr_ptr parser::parse_target_name() {
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

}  // namespace detail

stmt_list parse_template(const std::vector<token>& tokens) {
    return detail::parser(tokens).parse_all();
}

}  // namespace actorlm::jinja
