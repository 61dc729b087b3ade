// Statement execution and expression evaluation for one render. Scoping follows
// Jinja2: `for`, macros, `with` and call blocks open a scope (a loop's is reset every
// iteration); `if` does not; `set` writes the innermost scope; macros close over the
// scopes they are defined in; names fall back to the context, then to the globals.
// One thread per renderer; the syntax tree is only read.
#include "chat/jinja_renderer.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "chat/jinja_builtins.hpp"

namespace actorlm::jinja {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::int64_t py_mod(std::int64_t a, std::int64_t b) {
    std::int64_t m = a % b;
    if (m != 0 && ((m < 0) != (b < 0))) m += b;
    return m;
}

[[noreturn]] void bad_operands(const char* op, const value& a, const value& b) {
    fail("unsupported operand type(s) for %s: '%s' and '%s'", op, type_name(a), type_name(b));
}

value repeat(const value& seq, std::int64_t times) {
    constexpr std::int64_t k_max_items = std::int64_t{1}
                                         << 26;  // refuse runaway * before allocating
    std::int64_t n = std::max<std::int64_t>(1, length(seq));
    if (times > k_max_items / n)
        fail("repetition result too large (%lld x %lld)", static_cast<long long>(n),
             static_cast<long long>(times));
    if (seq.is_string()) {
        std::string out;
        for (std::int64_t i = 0; i < times; ++i) out += seq.str();
        return value(std::move(out));
    }
    std::vector<value> items;
    for (std::int64_t i = 0; i < times; ++i)
        for (const auto& v : seq.as_list().items) items.push_back(v);
    return value::list(std::move(items), seq.as_list().tuple);
}

}  // namespace

renderer::renderer(const render_context& context)
    : context_(context),
      now_(context.now ? context.now : std::time(nullptr)),
      deadline_(std::chrono::steady_clock::now() + context.limits.max_time) {}

void renderer::spend_step() {
    const render_limits& lim = context_.limits;
    if (++steps_ > lim.max_steps)
        fail("the template ran more than %lld steps (statements and expressions), the "
             "render limit",
             static_cast<long long>(lim.max_steps));
    // The clock costs ~20 ns; every 1024th step keeps it off the profile.
    if ((steps_ & 1023) == 0 && std::chrono::steady_clock::now() > deadline_)
        fail("the template ran longer than %lld ms, the render limit",
             static_cast<long long>(lim.max_time.count()));
}

void renderer::check_size(const value& v) const {
    const render_limits& lim = context_.limits;
    if (v.is_string() && static_cast<std::int64_t>(v.str().size()) > lim.max_string_bytes)
        fail("the template made a string of more than %lld bytes, the render limit",
             static_cast<long long>(lim.max_string_bytes));
    if (v.is_list() && static_cast<std::int64_t>(v.as_list().items.size()) > lim.max_list_items)
        fail("the template made a list of more than %lld items, the render limit",
             static_cast<long long>(lim.max_list_items));
}

renderer::~renderer() {
    for (auto& weak : namespaces_)
        if (auto ns = weak.lock()) ns->attrs.clear();
}

std::string renderer::render(const stmt_list& body) {
    frames_.assign(1, std::make_shared<scope>());
    std::string out;
    try {
        exec(body, out);
    } catch (const jinja_error& e) {
        throw jinja_error("line " + std::to_string(line_) + ": " + e.what());
    }
    return out;
}

renderer::flow renderer::exec(const stmt_list& body, std::string& out) {
    for (const auto& s : body) {
        flow f = exec_stmt(*s, out);
        if (f != flow::normal) return f;
    }
    return flow::normal;
}

renderer::flow renderer::exec_stmt(const stmt& s, std::string& out) {
    line_ = s.line;
    spend_step();
    // Every statement appends to `out` at most once, so checking before the next one
    // bounds the output at the limit plus one value (itself bounded by check_size).
    if (static_cast<std::int64_t>(out.size()) > context_.limits.max_string_bytes)
        fail("the template's output exceeded %lld bytes, the render limit",
             static_cast<long long>(context_.limits.max_string_bytes));
    switch (s.kind) {
        case stmt_kind::text: out += s.text; return flow::normal;
        case stmt_kind::output: out += to_str(eval(*s.value)); return flow::normal;
        case stmt_kind::if_chain:
            for (const auto& [cond, body] : s.branches)
                if (truthy(eval(*cond))) return exec(body, out);
            return exec(s.else_body, out);
        case stmt_kind::for_loop: return exec_for(s, out);
        case stmt_kind::set: exec_set(s); return flow::normal;
        case stmt_kind::set_block: {
            std::string text;
            exec(s.body, text);
            assign_target(*s.target, value(apply_block_filters(s.filters, std::move(text))));
            return flow::normal;
        }
        case stmt_kind::macro: define_macro(s); return flow::normal;
        case stmt_kind::call_block: {
            // `caller()` renders the block body in the scopes around the call block.
            scope_chain chain = capture();
            const stmt* block = &s;
            value caller = value::function("caller", [chain, block](renderer& r, call_args& args) {
                std::string text;
                r.with_closure(chain, [&] {
                    arg_reader reader("caller", args);
                    for (std::size_t i = 0; i < block->params.size(); ++i) {
                        const auto& p = block->params[i];
                        value fallback = p.default_value ? r.eval(*p.default_value) : value();
                        r.frames_.back()->emplace_back(p.name,
                                                       reader.get(i, p.name.c_str(), fallback));
                    }
                    reader.finish();
                    r.exec(block->body, text);
                });
                return value(std::move(text));
            });
            const expr& call_expr = *s.value;
            value callee = eval(*call_expr.a);
            call_args args = eval_args(call_expr);
            args.keywords.emplace_back("caller", caller);
            out += to_str(call(callee, args));
            return flow::normal;
        }
        case stmt_kind::filter_block: {
            frames_.push_back(std::make_shared<scope>());
            std::string text;
            exec(s.body, text);
            frames_.pop_back();
            out += apply_block_filters(s.filters, std::move(text));
            return flow::normal;
        }
        case stmt_kind::with: {
            std::vector<std::pair<const expr*, value>> values;
            for (const auto& [target, val] : s.assignments)
                values.emplace_back(target.get(), eval(*val));
            frames_.push_back(std::make_shared<scope>());
            for (const auto& [target, v] : values) assign_target(*target, v);
            flow f = exec(s.body, out);
            frames_.pop_back();
            return f;
        }
        case stmt_kind::break_loop: return flow::break_loop;
        case stmt_kind::continue_loop: return flow::continue_loop;
        case stmt_kind::scoped_body: return exec(s.body, out);
    }
    return flow::normal;
}

renderer::flow renderer::exec_for(const stmt& s, std::string& out) {
    value iterable = eval(*s.value);
    if (iterable.is_none() || iterable.is_number())
        fail("'%s' object is not iterable", type_name(iterable));
    std::vector<value> items = iterate(iterable);
    frames_.push_back(std::make_shared<scope>());
    if (s.cond) {  // `for x in xs if cond`: the loop sees only the items that pass
        std::vector<value> kept;
        for (auto& item : items) {
            assign_target(*s.target, item);
            if (truthy(eval(*s.cond))) kept.push_back(std::move(item));
        }
        items = std::move(kept);
    }
    const auto n = static_cast<std::int64_t>(items.size());
    // loop.changed(*args): true on the first call and whenever the arguments differ from
    // the previous call's, for the whole loop.
    auto last_changed = std::make_shared<std::optional<value>>();
    value changed = value::function("changed", [last_changed](renderer&, call_args& a) {
        value now = value::list(a.positional);
        bool differs = !last_changed->has_value() || !equals(**last_changed, now);
        *last_changed = now;
        return value(differs);
    });
    for (std::int64_t i = 0; i < n; ++i) {
        const auto idx = static_cast<std::size_t>(i);
        spend_step();  // an iteration with an empty body still costs
        // Jinja2 re-initializes the body's variables on every iteration: a `set` in one
        // iteration is not visible at the start of the next.
        frames_.back()->clear();
        assign_target(*s.target, items[idx]);
        dict_t loop;
        loop.items.emplace_back(value("index"), value(i + 1));
        loop.items.emplace_back(value("index0"), value(i));
        loop.items.emplace_back(value("revindex"), value(n - i));
        loop.items.emplace_back(value("revindex0"), value(n - i - 1));
        loop.items.emplace_back(value("first"), value(i == 0));
        loop.items.emplace_back(value("last"), value(i == n - 1));
        loop.items.emplace_back(value("length"), value(n));
        loop.items.emplace_back(value("depth"), value(1));
        loop.items.emplace_back(value("depth0"), value(0));
        loop.items.emplace_back(
            value("previtem"),
            i > 0 ? items[idx - 1] : value::undefined("there is no previous item"));
        loop.items.emplace_back(value("nextitem"), i + 1 < n
                                                       ? items[idx + 1]
                                                       : value::undefined("there is no next item"));
        loop.items.emplace_back(
            value("cycle"), value::function("cycle", [i](renderer&, call_args& a) {
                if (a.positional.empty()) fail("no items for cycling given");
                return a.positional[static_cast<std::size_t>(i) % a.positional.size()];
            }));
        loop.items.emplace_back(value("changed"), changed);
        assign("loop", value(std::move(loop)));
        flow f = exec(s.body, out);
        if (f == flow::break_loop) break;
    }
    frames_.pop_back();
    if (n == 0) return exec(s.else_body, out);
    return flow::normal;
}

void renderer::exec_set(const stmt& s) {
    value v = eval(*s.value);
    assign_target(*s.target, v);
}

void renderer::assign_target(const expr& target, const value& v) {
    if (target.kind == expr_kind::name) {
        assign(target.name, v);
    } else if (target.kind == expr_kind::tuple) {
        std::vector<value> parts = iterate(v);
        if (parts.size() != target.items.size())
            fail("cannot unpack %zu values into %zu names", parts.size(), target.items.size());
        for (std::size_t i = 0; i < parts.size(); ++i) assign_target(*target.items[i], parts[i]);
    } else if (target.kind == expr_kind::getattr) {
        const value* obj = lookup(target.a->name);
        if (!obj || !obj->is_namespace()) fail("cannot assign attribute on non-namespace object");
        namespace_t& ns = obj->as_namespace();
        if (value* slot = ns.find(target.name))
            *slot = v;
        else
            ns.attrs.emplace_back(target.name, v);
    } else {
        fail("cannot assign to this expression");
    }
}

void renderer::assign(const std::string& name, value v) {
    scope& top = *frames_.back();
    for (auto& [k, slot] : top)
        if (k == name) {
            slot = std::move(v);
            return;
        }
    top.emplace_back(name, std::move(v));
}

const value* renderer::lookup(const std::string& name) const {
    for (auto f = frames_.rbegin(); f != frames_.rend(); ++f)
        for (auto it = (*f)->rbegin(); it != (*f)->rend(); ++it)
            if (it->first == name) return &it->second;
    return context_.variables.find(name);
}

std::string renderer::apply_block_filters(const std::vector<expr_ptr>& filters, std::string text) {
    value v(std::move(text));
    for (const auto& f : filters) {
        call_args args = eval_args(*f);
        v = apply_filter(*this, f->name, v, args);
    }
    return to_str(v);
}

renderer::scope_chain renderer::capture() const {
    scope_chain chain;
    for (const auto& f : frames_) chain.push_back(f);
    return chain;
}

template <class F>
void renderer::with_closure(const scope_chain& chain, F&& fn) {
    std::vector<scope_ptr> saved = std::move(frames_);
    frames_.clear();
    for (const auto& weak : chain)
        if (auto f = weak.lock()) frames_.push_back(std::move(f));
    if (frames_.empty()) frames_.push_back(saved.front());
    frames_.push_back(std::make_shared<scope>());
    try {
        fn();
    } catch (...) {
        frames_ = std::move(saved);
        throw;
    }
    frames_ = std::move(saved);
}

// A macro closes over the scopes where it is defined (a macro inside a loop sees `loop`
// and the loop's variables as they are when it is called), as Jinja2's compiled
// closures do; it does not see the caller's locals.
void renderer::define_macro(const stmt& s) {
    const stmt* macro = &s;
    scope_chain chain = capture();
    assign(s.text, value::function(s.text, [macro, chain](renderer& r, call_args& args) {
               value caller;
               for (auto it = args.keywords.begin(); it != args.keywords.end(); ++it)
                   if (it->first == "caller") {
                       caller = it->second;
                       args.keywords.erase(it);
                       break;
                   }
               return r.call_macro(*macro, chain, args, caller);
           }));
}

value renderer::call_macro(const stmt& macro, const scope_chain& chain, call_args& args,
                           const value& caller) {
    constexpr int k_max_macro_depth = 256;
    if (macro_depth_ >= k_max_macro_depth)
        fail("maximum recursion depth exceeded in macro '%s'", macro.text.c_str());
    struct depth_guard {
        int& d;
        ~depth_guard() { --d; }
    } guard{++macro_depth_};
    std::string text;
    int line = line_;
    with_closure(chain, [&] {
        scope& locals = *frames_.back();
        std::size_t npos = args.positional.size();
        for (std::size_t i = 0; i < macro.params.size(); ++i) {
            const auto& p = macro.params[i];
            value v;
            bool found = false;
            if (i < npos) {
                v = args.positional[i];
                found = true;
            }
            for (auto it = args.keywords.begin(); it != args.keywords.end(); ++it)
                if (it->first == p.name) {
                    if (found)
                        fail("macro '%s' got multiple values for argument '%s'", macro.text.c_str(),
                             p.name.c_str());
                    v = it->second;
                    found = true;
                    args.keywords.erase(it);
                    break;
                }
            if (!found)
                v = p.default_value
                        ? eval(*p.default_value)
                        : value::undefined("parameter '" + p.name + "' was not provided");
            locals.emplace_back(p.name, v);
        }
        std::vector<value> extra;
        for (std::size_t i = macro.params.size(); i < npos; ++i)
            extra.push_back(args.positional[i]);
        locals.emplace_back("varargs", value::list(std::move(extra), true));
        dict_t kwargs;
        for (auto& [k, v] : args.keywords) kwargs.set(value(k), v);
        locals.emplace_back("kwargs", value(std::move(kwargs)));
        if (!caller.is_undefined()) locals.emplace_back("caller", caller);
        exec(macro.body, text);
    });
    line_ = line;
    return value(std::move(text));
}

call_args renderer::eval_args(const expr& e) {
    call_args args;
    for (const auto& a : e.items) args.positional.push_back(eval(*a));
    if (e.star_args)
        for (auto& v : iterate(eval(*e.star_args))) args.positional.push_back(std::move(v));
    for (const auto& [k, a] : e.kwargs) args.keywords.emplace_back(k, eval(*a));
    if (e.star_kwargs) {
        value d = eval(*e.star_kwargs);
        if (!d.is_dict()) fail("argument after ** must be a mapping, not %s", type_name(d));
        for (const auto& [k, v] : d.as_dict().items) args.keywords.emplace_back(to_str(k), v);
    }
    return args;
}

value renderer::call(const value& callee, call_args& args) {
    if (callee.is_undefined()) {
        callee.require_defined();
    }
    if (!callee.is_callable()) fail("'%s' object is not callable", type_name(callee));
    return callee.as_callable().fn(*this, args);
}

value renderer::eval_call(const expr& e) {
    value callee = eval(*e.a);
    call_args args = eval_args(e);
    int line = line_;
    value v = call(callee, args);
    line_ = line;
    return v;
}

value renderer::eval(const expr& e) {
    spend_step();
    value v = eval_node(e);
    check_size(v);
    return v;
}

value renderer::eval_node(const expr& e) {
    line_ = e.line;
    switch (e.kind) {
        case expr_kind::literal: return e.literal;
        case expr_kind::name: {
            if (const value* v = lookup(e.name)) return *v;
            value g = builtin_global(e.name);
            if (!g.is_undefined()) return g;
            return value::undefined("'" + e.name + "' is undefined");
        }
        case expr_kind::list:
        case expr_kind::tuple: {
            std::vector<value> items;
            for (const auto& i : e.items) items.push_back(eval(*i));
            return value::list(std::move(items), e.kind == expr_kind::tuple);
        }
        case expr_kind::dict: {
            dict_t d;
            for (std::size_t i = 0; i + 1 < e.items.size(); i += 2) {
                value k = eval(*e.items[i]);
                if (k.is_list() && !k.as_list().tuple) fail("unhashable type: 'list'");
                if (k.is_dict()) fail("unhashable type: 'dict'");
                d.set(std::move(k), eval(*e.items[i + 1]));
            }
            return value(std::move(d));
        }
        case expr_kind::getattr: return get_attr(eval(*e.a), e.name);
        case expr_kind::getitem: {
            value obj = eval(*e.a);
            return get_item(obj, eval(*e.b));
        }
        case expr_kind::slice: {
            value obj = eval(*e.a);
            value parts[3];
            for (int i = 0; i < 3; ++i)
                parts[i] = e.items[static_cast<std::size_t>(i)]
                               ? eval(*e.items[static_cast<std::size_t>(i)])
                               : value::none();
            return get_slice(obj, parts[0], parts[1], parts[2]);
        }
        case expr_kind::call: return eval_call(e);
        case expr_kind::filter: {
            value input = eval(*e.a);
            call_args args = eval_args(e);
            line_ = e.line;
            return apply_filter(*this, e.name, input, args);
        }
        case expr_kind::test: {
            value input = eval(*e.a);
            call_args args = eval_args(e);
            line_ = e.line;
            return value(apply_test(*this, e.name, input, args) != e.negated);
        }
        case expr_kind::unary: {
            value v = eval(*e.a);
            if (e.name == "not") return value(!truthy(v));
            v.require_defined();
            if (v.is_float()) return value(e.name == "-" ? -v.as_double() : v.as_double());
            if (v.is_number()) return value(e.name == "-" ? -v.as_int() : v.as_int());
            fail("bad operand type for unary %s: '%s'", e.name.c_str(), type_name(v));
        }
        case expr_kind::binary: return eval_binary(e);
        case expr_kind::compare: {
            value left = eval(*e.a);
            for (const auto& [op, operand] : e.kwargs) {
                value right = eval(*operand);
                line_ = e.line;
                if (!compare(op, left, right)) return value(false);
                left = std::move(right);
            }
            return value(true);
        }
        case expr_kind::cond:
            if (truthy(eval(*e.a))) return eval(*e.b);
            if (e.c) return eval(*e.c);
            return value::undefined("the inline if-expression on line " + std::to_string(e.line) +
                                    " evaluated to false and no else section was defined");
    }
    return value();
}

bool renderer::compare(const std::string& op, const value& a, const value& b) {
    if (op == "==") return equals(a, b);
    if (op == "!=") return !equals(a, b);
    if (op == "<") return less_than(a, b);
    if (op == ">") return less_than(b, a);
    if (op == "<=") return less_than(a, b) || equals(a, b);
    if (op == ">=") return less_than(b, a) || equals(a, b);
    bool found = contains(b, a);
    return op == "in" ? found : !found;
}

value renderer::eval_binary(const expr& e) {
    const std::string& op = e.name;
    if (op == "and") {
        value l = eval(*e.a);
        return truthy(l) ? eval(*e.b) : l;
    }
    if (op == "or") {
        value l = eval(*e.a);
        return truthy(l) ? l : eval(*e.b);
    }
    value a = eval(*e.a);
    value b = eval(*e.b);
    line_ = e.line;
    if (op == "~") return value(to_str(a) + to_str(b));
    if (op == "+") return add(a, b);
    if (op == "*") {
        if (a.is_number() && b.is_number()) {
            if (a.is_float() || b.is_float()) return value(a.as_double() * b.as_double());
            return value(a.as_int() * b.as_int());
        }
        if ((a.is_string() || a.is_list()) && (b.is_int() || b.is_bool()))
            return repeat(a, b.as_int());
        if ((b.is_string() || b.is_list()) && (a.is_int() || a.is_bool()))
            return repeat(b, a.as_int());
        bad_operands("*", a, b);
    }
    if (op == "%" && a.is_string()) return value(percent_format(a.str(), b));
    if (!a.is_number() || !b.is_number()) bad_operands(op.c_str(), a, b);
    bool floats = a.is_float() || b.is_float();
    if (op == "-")
        return floats ? value(a.as_double() - b.as_double()) : value(a.as_int() - b.as_int());
    if (op == "/") {
        if (b.as_double() == 0.0) fail("division by zero");
        return value(a.as_double() / b.as_double());
    }
    if (op == "//" || op == "%") {
        if (b.as_double() == 0.0)
            fail(op == "//" ? "integer division or modulo by zero" : "modulo by zero");
        if (!floats)
            return value(op == "//" ? floor_div(a.as_int(), b.as_int())
                                    : py_mod(a.as_int(), b.as_int()));
        double x = a.as_double(), y = b.as_double();
        double m = std::fmod(x, y);
        if (m != 0.0 && ((m < 0) != (y < 0))) m += y;
        if (op == "%") return value(m);
        return value(std::floor(x / y));
    }
    if (op == "**") {
        if (!floats && b.as_int() >= 0) {
            std::uint64_t r = 1, base = static_cast<std::uint64_t>(a.as_int());
            for (std::int64_t n = b.as_int(); n > 0; n >>= 1, base *= base)  // by squaring
                if (n & 1) r *= base;
            return value(static_cast<std::int64_t>(r));
        }
        return value(std::pow(a.as_double(), b.as_double()));
    }
    fail("unknown operator '%s'", op.c_str());
}

}  // namespace actorlm::jinja
