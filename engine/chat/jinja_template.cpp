// Template compilation (lex, parse, check filter/test names as Jinja2's compiler does)
// and the render entry point that turns interpreter errors into result values.
// The compiled tree is immutable and shared; render is safe from any thread.
#include "chat/jinja_template.hpp"

#include "chat/jinja_builtins.hpp"
#include "chat/jinja_lexer.hpp"
#include "chat/jinja_parser.hpp"

namespace actorlm::jinja {

namespace {

// Jinja2 rejects unknown filters and tests when it compiles, even in branches that
// never run; doing the same keeps a typo from hiding until a rare conversation.
void check_names(const expr* e);

void check_names(const stmt_list& body) {
    for (const auto& s : body) {
        check_names(s->value.get());
        check_names(s->target.get());
        check_names(s->cond.get());
        for (const auto& [c, b] : s->branches) {
            check_names(c.get());
            check_names(b);
        }
        check_names(s->body);
        check_names(s->else_body);
        for (const auto& p : s->params) check_names(p.default_value.get());
        for (const auto& f : s->filters) check_names(f.get());
        for (const auto& [t, v] : s->assignments) {
            check_names(t.get());
            check_names(v.get());
        }
    }
}

void check_names(const expr* e) {
    if (!e) return;
    if (e->kind == expr_kind::filter && !filter_exists(e->name))
        fail("line %d, column %d: no filter named '%s'", e->line, e->col, e->name.c_str());
    if (e->kind == expr_kind::test && !test_exists(e->name))
        fail("line %d, column %d: no test named '%s'", e->line, e->col, e->name.c_str());
    check_names(e->a.get());
    check_names(e->b.get());
    check_names(e->c.get());
    check_names(e->star_args.get());
    check_names(e->star_kwargs.get());
    for (const auto& i : e->items) check_names(i.get());
    for (const auto& [k, v] : e->kwargs) check_names(v.get());
}

}  // namespace

result<compiled_template> compiled_template::parse(const std::string& source) {
    try {
        auto body = std::make_shared<stmt_list>(parse_template(tokenize(source)));
        check_names(*body);
        compiled_template t;
        t.body_ = std::move(body);
        return t;
    } catch (const jinja_error& e) {
        return make_error("template syntax error: %s", e.what());
    }
}

result<std::string> compiled_template::render(const render_context& context) const {
    try {
        renderer r(context);
        return r.render(*body_);
    } catch (const jinja_error& e) {
        return make_error("template render error: %s", e.what());
    }
}

}  // namespace actorlm::jinja
