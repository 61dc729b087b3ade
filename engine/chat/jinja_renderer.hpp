// Tree-walking evaluator for one render of a parsed template: scopes, statements and
// expressions with Jinja2's semantics (loop scoping, namespace assignment, macros).
// Threading: one renderer per render call, used by one thread; the tree it walks is
// shared read-only, so many renderers may run over one template concurrently.
#pragma once

#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "chat/jinja_ast.hpp"
#include "chat/jinja_value.hpp"

namespace actorlm::jinja {

/// What one render may spend. Templates come with downloaded models and render on the
/// server's request path, so a hostile or broken one (nested `range(100000)` loops, a
/// string doubled in a loop) must fail its request, naming the limit, instead of
/// pinning a thread or exhausting memory. The defaults are far above what real chat
/// templates use: Llama-3's tool template over a 1,000-message chat takes ~10^5 steps.
struct render_limits {
    std::int64_t max_steps = 5'000'000;     ///< statements run + expressions evaluated
    std::int64_t max_string_bytes = 32 << 20;  ///< any string value and the output
    std::int64_t max_list_items = 1 << 22;  ///< any list or tuple value
    std::chrono::milliseconds max_time{2000};  ///< wall time of the whole render
};

/// Variables visible to a render (the context) and the clock strftime_now reads.
struct render_context {
    dict_t variables;     ///< top-level names: messages, tools, bos_token, ...
    std::time_t now = 0;  ///< strftime_now's time (local time zone); 0 = the clock
    render_limits limits;
};

class renderer {
public:
    explicit renderer(const render_context& context);

    /// Renders a template body; raises jinja_error ("line L: ...") on a runtime error.
    std::string render(const stmt_list& body);

    /// Evaluates an expression in the current scope.
    value eval(const expr& e);
    /// Calls a callable value (global, macro, bound method) with evaluated arguments.
    value call(const value& callee, call_args& args);
    /// strftime_now's time.
    std::time_t now() const { return now_; }
    /// Registers a namespace created by this render; the destructor empties it, which
    /// breaks reference cycles such as `{% set ns.me = ns %}` (no value outlives a render).
    void track(const namespace_ptr& ns) { namespaces_.push_back(ns); }
    ~renderer();
    renderer(const renderer&) = delete;
    renderer& operator=(const renderer&) = delete;

private:
    enum class flow { normal, break_loop, continue_loop };
    using scope = std::vector<std::pair<std::string, value>>;
    using scope_ptr = std::shared_ptr<scope>;
    /// The scopes a macro or caller() body closes over (weak: a scope may hold the macro).
    using scope_chain = std::vector<std::weak_ptr<scope>>;

    /// Counts one step against the render's limits (and checks the clock now and then).
    void spend_step();
    /// Fails when `v` is a string or list over the render's size limits.
    void check_size(const value& v) const;
    value eval_node(const expr& e);
    flow exec(const stmt_list& body, std::string& out);
    flow exec_stmt(const stmt& s, std::string& out);
    flow exec_for(const stmt& s, std::string& out);
    void exec_set(const stmt& s);
    void define_macro(const stmt& s);
    std::string apply_block_filters(const std::vector<expr_ptr>& filters, std::string text);

    const value* lookup(const std::string& name) const;
    void assign(const std::string& name, value v);
    void assign_target(const expr& target, const value& v);
    value eval_binary(const expr& e);
    bool compare(const std::string& op, const value& a, const value& b);
    value eval_call(const expr& e);
    call_args eval_args(const expr& e);
    value call_macro(const stmt& macro, const scope_chain& chain, call_args& args,
                     const value& caller);
    scope_chain capture() const;
    /// Runs `fn` with the scopes `chain` plus a fresh innermost one, then restores.
    template <class F>
    void with_closure(const scope_chain& chain, F&& fn);

    const render_context& context_;
    std::time_t now_;
    std::vector<scope_ptr> frames_;  ///< frames_[0] is the template's top level
    int line_ = 0;                   ///< line of the node being evaluated, for error messages
    int macro_depth_ = 0;
    std::int64_t steps_ = 0;
    std::chrono::steady_clock::time_point deadline_;
    std::vector<std::weak_ptr<namespace_t>>
        namespaces_;  ///< nested macro calls, bounded like Python's recursion
};

}  // namespace actorlm::jinja
