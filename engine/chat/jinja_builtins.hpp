// Built-in names of the chat-template environment: global functions (range, dict,
// namespace, raise_exception, strftime_now), attribute and item access with Python's
// and the immutable sandbox's rules, methods on str/dict/list, filters and tests.
// Stateless functions over values; safe from any thread.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "chat/jinja_value.hpp"

namespace actorlm::jinja {

/// A global function by name, or an Undefined value when there is none.
value builtin_global(const std::string& name);

/// `obj.name` as Jinja's sandboxed getattr does it: Python attributes first (methods),
/// then dict keys; Undefined when neither exists. Raises on an Undefined `obj`.
value get_attr(const value& obj, const std::string& name);
/// `obj[key]`: item first, then attribute for string keys; Undefined when missing.
value get_item(const value& obj, const value& key);
/// `obj[start:stop:step]` for strings, lists and tuples.
value get_slice(const value& obj, const value& start, const value& stop, const value& step);

/// A bound method of a str, dict or list (Undefined if the type has no such method).
value get_method(const value& obj, const std::string& name);

/// A filter: (renderer, input, arguments) -> output.
using filter_fn = value (*)(renderer&, const value&, call_args&);
/// Adds the sequence filters (jinja_sequence_filters.cpp) to the filter table.
void add_sequence_filters(std::map<std::string, filter_fn>& table);

/// Applies filter `name`; raises jinja_error for an unknown filter or bad arguments.
value apply_filter(renderer& r, const std::string& name, const value& input, call_args& args);
/// Applies test `name` (`x is name(args)`).
bool apply_test(renderer& r, const std::string& name, const value& input, call_args& args);
bool filter_exists(const std::string& name);
bool test_exists(const std::string& name);

/// Reads call arguments by position or keyword, with defaults; rejects leftovers.
class arg_reader {
public:
    arg_reader(const char* function, call_args& args) : fn_(function), args_(args) {}
    /// The argument at `position` or named `name`; `fallback` when absent.
    value get(std::size_t position, const char* name, value fallback = value());
    /// Raises if an argument was given that no get() asked for.
    void finish();

private:
    const char* fn_;
    call_args& args_;
    std::size_t max_position_ = 0;
    std::vector<std::string> names_;
};

// Python str methods shared by the methods and the filters (per code point).
std::string py_strip(const std::string& s, const value& chars, bool left, bool right);
std::string py_upper(const std::string& s);
std::string py_lower(const std::string& s);
std::string py_title(const std::string& s);
std::string py_capitalize(const std::string& s);
std::string py_replace(const std::string& s, const std::string& old, const std::string& repl,
                       std::int64_t count);
std::vector<value> py_split(const std::string& s, const value& sep, std::int64_t maxsplit);

/// Python str % args (printf-style formatting: %s %r %d %i %f %x %%).
std::string percent_format(const std::string& fmt, const value& args);
/// Python str.format(*args, **kwargs) for `{}`, `{0}`, `{name}` fields without specs.
std::string brace_format(const std::string& fmt, const call_args& args);

}  // namespace actorlm::jinja
