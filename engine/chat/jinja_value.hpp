// The Jinja2 value model: what a template variable can hold, with Python's semantics
// (truthiness, ==, <, str(), repr()), because chat templates are written against
// Python Jinja2 and their output must match it byte for byte.
// Threading: values are shared between renders only through immutable lists and dicts
// (the sandbox forbids mutating them); only namespace objects are mutated, and each
// render creates its own.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace actorlm::jinja {

/// An error raised while parsing or rendering; caught at the public API and turned into
/// an actorlm::error. Internal to the interpreter (errors cross modules as result<T>).
struct jinja_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Throws jinja_error with a printf-style message.
[[noreturn, gnu::format(printf, 1, 2)]] void fail(const char* fmt, ...);

class value;
class renderer;

/// The deepest nesting of lists and dicts a value may have (Python's recursion limit
/// stops repr/json.dumps of deeper ones too).
constexpr int k_max_depth = 512;

/// Jinja2's default Undefined: prints empty, is falsy, iterates empty; most other uses
/// raise. `hint` is the message Jinja2 would raise ("'x' is undefined").
struct undefined_t {
    std::string hint;
};
struct none_t {};

/// A Python list or tuple (tuples print with parentheses).
struct list_t {
    std::vector<value> items;
    bool tuple = false;
    int depth = 1;  ///< nesting depth, set when wrapped in a value (bounded: see k_max_depth)
};

/// A Python dict: insertion-ordered, keys compared with Python ==.
struct dict_t {
    std::vector<std::pair<value, value>> items;
    int depth = 1;  ///< nesting depth, set when wrapped in a value
    /// The value for `key`, or nullptr.
    const value* find(const value& key) const;
    const value* find(const std::string& key) const;
    /// Inserts or replaces, keeping the first insertion's position (Python dict order).
    void set(value key, value val);
};

/// jinja2.utils.Namespace: the one mutable object (`{% set ns.x = 1 %}`).
struct namespace_t {
    std::vector<std::pair<std::string, value>> attrs;
    value* find(const std::string& name);
};

/// Positional and keyword arguments of a call.
struct call_args {
    std::vector<value> positional;
    std::vector<std::pair<std::string, value>> keywords;
};

/// A function value: a global (range, namespace), a macro, or a bound method.
struct callable_t {
    std::string name;
    std::function<value(renderer&, call_args&)> fn;
};

using list_ptr = std::shared_ptr<const list_t>;
using dict_ptr = std::shared_ptr<const dict_t>;
using namespace_ptr = std::shared_ptr<namespace_t>;
using callable_ptr = std::shared_ptr<const callable_t>;

/// One Jinja value. Copying is cheap for containers (shared, immutable).
class value {
public:
    using storage = std::variant<undefined_t, none_t, bool, std::int64_t, double, std::string,
                                 list_ptr, dict_ptr, namespace_ptr, callable_ptr>;

    value() : data_(undefined_t{}) {}
    value(none_t) : data_(none_t{}) {}
    value(bool b) : data_(b) {}
    value(int i) : data_(std::int64_t{i}) {}
    value(std::int64_t i) : data_(i) {}
    value(double d) : data_(d) {}
    value(std::string s) : data_(std::move(s)) {}
    value(const char* s) : data_(std::string(s)) {}
    /// Wraps a list or dict; raises jinja_error past k_max_depth levels of nesting, so
    /// printing or destroying a value can never exhaust the stack.
    value(list_t l);
    value(dict_t d);
    value(namespace_ptr n) : data_(std::move(n)) {}
    value(callable_ptr c) : data_(std::move(c)) {}
    value(undefined_t u) : data_(std::move(u)) {}

    /// An Undefined that raises `hint` when used in a way Undefined does not allow.
    static value undefined(std::string hint) { return value(undefined_t{std::move(hint)}); }
    static value none() { return value(none_t{}); }
    static value list(std::vector<value> items, bool tuple = false) {
        return value(list_t{std::move(items), tuple});
    }
    static value function(std::string name, std::function<value(renderer&, call_args&)> fn);

    bool is_undefined() const { return data_.index() == 0; }
    bool is_none() const { return data_.index() == 1; }
    bool is_bool() const { return data_.index() == 2; }
    bool is_int() const { return data_.index() == 3; }  ///< int proper, not bool
    bool is_float() const { return data_.index() == 4; }
    bool is_number() const { return is_bool() || is_int() || is_float(); }  ///< Python Number
    bool is_string() const { return data_.index() == 5; }
    bool is_list() const { return data_.index() == 6; }  ///< list or tuple
    bool is_dict() const { return data_.index() == 7; }
    bool is_namespace() const { return data_.index() == 8; }
    bool is_callable() const { return data_.index() == 9; }

    bool as_bool() const { return std::get<bool>(data_); }
    std::int64_t as_int() const;  ///< int or bool as an integer
    double as_double() const;     ///< any number as a double
    const std::string& str() const { return std::get<std::string>(data_); }
    const list_t& as_list() const { return *std::get<list_ptr>(data_); }
    const dict_t& as_dict() const { return *std::get<dict_ptr>(data_); }
    namespace_t& as_namespace() const { return *std::get<namespace_ptr>(data_); }
    const callable_t& as_callable() const { return *std::get<callable_ptr>(data_); }
    const std::string& undefined_hint() const { return std::get<undefined_t>(data_).hint; }

    /// Raises the Undefined's error when this is Undefined (for uses Undefined forbids).
    void require_defined() const;

    const storage& data() const { return data_; }

private:
    storage data_;
};

/// Python's name for the value's type ('str', 'dict', 'NoneType', ...), for messages.
const char* type_name(const value& v);
/// Python bool(v).
bool truthy(const value& v);
/// Python str(v): what `{{ v }}` prints.
std::string to_str(const value& v);
/// Python repr(v).
std::string to_repr(const value& v);
/// Python repr() of a float (shortest round-trip digits, '1.0', '1e+16').
std::string format_float(double d);
/// Python a == b (1 == 1.0 == True; dicts compare without order).
bool equals(const value& a, const value& b);
/// Python a < b; raises for unorderable types.
bool less_than(const value& a, const value& b);
/// Python a + b (numbers, str + str, list + list, tuple + tuple); raises otherwise.
value add(const value& a, const value& b);
/// Python `item in container` (substring, dict key, list element; Undefined is empty);
/// raises for a non-str item in a str, an unhashable key, or a non-container.
bool contains(const value& container, const value& item);
/// Python len(v); raises for values without a length.
std::int64_t length(const value& v);
/// Python iter(v) materialized: list items, dict keys, string characters; Undefined is empty.
std::vector<value> iterate(const value& v);

// UTF-8 helpers: Python indexes strings by code point.
std::u32string utf8_decode(const std::string& s);
std::string utf8_encode(const std::u32string& s);
void utf8_append(std::string& out, char32_t cp);
/// Python str.isspace() for one code point.
bool is_py_space(char32_t c);

}  // namespace actorlm::jinja
