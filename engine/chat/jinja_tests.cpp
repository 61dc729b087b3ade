// Jinja2's built-in tests (`x is defined`, `x is divisibleby 3`, ...), with Python's
// type rules (bool counts as a number; strings are iterable sequences; Undefined is
// iterable). Stateless; safe from any thread.
#include <cmath>
#include <map>

#include "chat/jinja_builtins.hpp"
#include "chat/jinja_renderer.hpp"

namespace actorlm::jinja {

namespace {

using test_fn = bool (*)(const value&, call_args&);

value one_arg(const char* name, call_args& args) {
    arg_reader r(name, args);
    value v = r.get(0, "other");
    r.finish();
    return v;
}

void no_args(const char* name, call_args& args) { arg_reader(name, args).finish(); }

bool t_defined(const value& v, call_args& a) {
    no_args("defined", a);
    return !v.is_undefined();
}
bool t_undefined(const value& v, call_args& a) {
    no_args("undefined", a);
    return v.is_undefined();
}
bool t_none(const value& v, call_args& a) {
    no_args("none", a);
    return v.is_none();
}
bool t_boolean(const value& v, call_args& a) {
    no_args("boolean", a);
    return v.is_bool();
}
bool t_true(const value& v, call_args& a) {
    no_args("true", a);
    return v.is_bool() && v.as_bool();
}
bool t_false(const value& v, call_args& a) {
    no_args("false", a);
    return v.is_bool() && !v.as_bool();
}
bool t_integer(const value& v, call_args& a) {
    no_args("integer", a);
    return v.is_int();
}
bool t_float(const value& v, call_args& a) {
    no_args("float", a);
    return v.is_float();
}
bool t_number(const value& v, call_args& a) {
    no_args("number", a);
    return v.is_number();
}
bool t_string(const value& v, call_args& a) {
    no_args("string", a);
    return v.is_string();
}
bool t_mapping(const value& v, call_args& a) {
    no_args("mapping", a);
    return v.is_dict();
}
bool t_callable(const value& v, call_args& a) {
    no_args("callable", a);
    return v.is_callable() || v.is_undefined();  // Undefined defines __call__ (which raises)
}
bool t_iterable(const value& v, call_args& a) {
    no_args("iterable", a);
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
bool t_sequence(const value& v, call_args& a) {
    no_args("sequence", a);
    return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
}
// Jinja's lower/upper tests are str(value).islower()/isupper(): true only when the text
// has a cased character and none of the other case.
bool has_case(const value& v, bool lower) {
    std::string s = to_str(v);
    std::string other = lower ? py_upper(s) : py_lower(s);
    std::string same = lower ? py_lower(s) : py_upper(s);
    return same == s && other != s;
}
bool t_lower(const value& v, call_args& a) {
    no_args("lower", a);
    return has_case(v, true);
}
bool t_upper(const value& v, call_args& a) {
    no_args("upper", a);
    return has_case(v, false);
}
bool t_escaped(const value&, call_args& a) {
    no_args("escaped", a);
    return false;
}

double mod_of(const value& v, double by) {
    v.require_defined();
    if (!v.is_number()) fail("unsupported operand type(s) for %%: '%s' and 'int'", type_name(v));
    double m = std::fmod(v.as_double(), by);
    if (m != 0 && ((m < 0) != (by < 0))) m += by;  // Python's modulo takes the divisor's sign
    return m;
}
bool t_even(const value& v, call_args& a) {
    no_args("even", a);
    return mod_of(v, 2) == 0;
}
bool t_odd(const value& v, call_args& a) {
    no_args("odd", a);
    return mod_of(v, 2) == 1;
}
bool t_divisibleby(const value& v, call_args& a) {
    value n = one_arg("divisibleby", a);
    if (!n.is_number() || n.as_double() == 0) fail("divisibleby needs a non-zero number");
    return mod_of(v, n.as_double()) == 0;
}
bool t_eq(const value& v, call_args& a) { return equals(v, one_arg("eq", a)); }
bool t_ne(const value& v, call_args& a) { return !equals(v, one_arg("ne", a)); }
bool t_lt(const value& v, call_args& a) { return less_than(v, one_arg("lt", a)); }
bool t_gt(const value& v, call_args& a) { return less_than(one_arg("gt", a), v); }
bool t_le(const value& v, call_args& a) {
    value o = one_arg("le", a);
    return less_than(v, o) || equals(v, o);
}
bool t_ge(const value& v, call_args& a) {
    value o = one_arg("ge", a);
    return less_than(o, v) || equals(v, o);
}
bool t_sameas(const value& v, call_args& a) {
    value o = one_arg("sameas", a);
    if (v.data().index() != o.data().index()) return false;
    if (v.is_none() || v.is_bool() || v.is_undefined()) return equals(v, o);
    return equals(v, o) && (v.is_int() || v.is_string());  // small ints and interned strings
}
bool t_in(const value& v, call_args& a) { return contains(one_arg("in", a), v); }
// `x is filter` / `x is test` look the name up in a dict: unhashable values raise.
bool name_lookup(const value& v, bool (*exists)(const std::string&)) {
    if (v.is_dict() || (v.is_list() && !v.as_list().tuple))
        fail("unhashable type: '%s'", type_name(v));
    return v.is_string() && exists(v.str());
}
bool t_filter(const value& v, call_args& a) {
    no_args("filter", a);
    return name_lookup(v, filter_exists);
}
bool t_test(const value& v, call_args& a) {
    no_args("test", a);
    return name_lookup(v, test_exists);
}

const std::map<std::string, test_fn>& tests() {
    static const std::map<std::string, test_fn> table = {
        {"defined", t_defined},
        {"undefined", t_undefined},
        {"none", t_none},
        {"boolean", t_boolean},
        {"true", t_true},
        {"false", t_false},
        {"integer", t_integer},
        {"float", t_float},
        {"number", t_number},
        {"string", t_string},
        {"mapping", t_mapping},
        {"callable", t_callable},
        {"iterable", t_iterable},
        {"sequence", t_sequence},
        {"lower", t_lower},
        {"upper", t_upper},
        {"escaped", t_escaped},
        {"even", t_even},
        {"odd", t_odd},
        {"divisibleby", t_divisibleby},
        {"eq", t_eq},
        {"equalto", t_eq},
        {"==", t_eq},
        {"ne", t_ne},
        {"!=", t_ne},
        {"lt", t_lt},
        {"lessthan", t_lt},
        {"<", t_lt},
        {"le", t_le},
        {"<=", t_le},
        {"gt", t_gt},
        {"greaterthan", t_gt},
        {">", t_gt},
        {"ge", t_ge},
        {">=", t_ge},
        {"sameas", t_sameas},
        {"in", t_in},
        {"filter", t_filter},
        {"test", t_test},
    };
    return table;
}

}  // namespace

bool test_exists(const std::string& name) { return tests().count(name) != 0; }

bool apply_test(renderer&, const std::string& name, const value& input, call_args& args) {
    auto it = tests().find(name);
    if (it == tests().end()) fail("no test named '%s'", name.c_str());
    return it->second(input, args);
}

}  // namespace actorlm::jinja
