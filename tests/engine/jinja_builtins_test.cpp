// Filters, tests, methods, globals and value printing of the interpreter, with the
// outputs Python Jinja2 gives (HF's tojson: json.dumps with ensure_ascii=False).
#include "jinja_test_support.hpp"

using actorlm::test::is_error_with;
using actorlm::test::jinja_render;

TEST_CASE("jinja values print as Python prints them") {
    CHECK(jinja_render("{{ [1, 'a', none, true, 1.5, {'k': \"it's\"}] }}") ==
          "[1, 'a', None, True, 1.5, {'k': \"it's\"}]");
    CHECK(jinja_render("{{ x }}|{{ n }}|{{ f }}|{{ b }}", R"({"n": null, "f": 3.0, "b": false})") ==
          "|None|3.0|False");
    CHECK(jinja_render("{{ s }}", R"({"s": ["tab\t", "é"]})") == "['tab\\t', 'é']");
    CHECK(jinja_render("{{ d }}", R"({"d": {"z": 1, "a": [true, null]}})") ==
          "{'z': 1, 'a': [True, None]}");
}

TEST_CASE("jinja tojson matches json.dumps(ensure_ascii=False) with indent/separators/sort_keys") {
    const char* vars =
        R"({"t": {"name": "f", "desc": "naïve \"q\"\n\u0001", "n": [1, 2.5, null, true], "e": {}, "l": []}})";
    CHECK(
        jinja_render("{{ t | tojson }}", vars) ==
        R"({"name": "f", "desc": "naïve \"q\"\n\u0001", "n": [1, 2.5, null, true], "e": {}, "l": []})");
    CHECK(jinja_render("{{ t.n | tojson(indent=2) }}", vars) ==
          "[\n  1,\n  2.5,\n  null,\n  true\n]");
    CHECK(jinja_render("{{ {'b': 1, 'a': {'c': 2}} | tojson(indent=4, sort_keys=true) }}") ==
          "{\n    \"a\": {\n        \"c\": 2\n    },\n    \"b\": 1\n}");
    CHECK(jinja_render("{{ [1, {'a': 2}] | tojson(separators=(',', ':')) }}") == "[1,{\"a\":2}]");
    CHECK(jinja_render("{{ 'é🎉' | tojson(ensure_ascii=true) }}") == "\"\\u00e9\\ud83c\\udf89\"");
    CHECK(jinja_render("{{ (1e308 * 10) | tojson }} {{ (1e308 * -10) | tojson }}") ==
          "Infinity -Infinity");
    CHECK(is_error_with(jinja_render("{{ missing | tojson }}"), "not JSON serializable"));
}

TEST_CASE("jinja string methods behave like Python's str") {
    CHECK(jinja_render("{{ '  x y  '.strip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n a'.lstrip() "
                       "}}|{{ 'a\\n\\n'.rstrip('\\n') }}") == "x y|hi|a|a");
    CHECK(jinja_render(
              "{{ 'a,b,,c'.split(',') }} {{ ' a  b '.split() }} {{ 'a b c'.split(' ', 1) }}") ==
          "['a', 'b', '', 'c'] ['a', 'b'] ['a', 'b c']");
    CHECK(jinja_render("{{ 'x</think>y'.split('</think>')[-1] }} {{ 'a-b-c'.rsplit('-', 1) }}") ==
          "y ['a-b', 'c']");
    CHECK(jinja_render("{{ 'Hello'.startswith('He') }} {{ 'Hello'.endswith(('x', 'lo')) }}") ==
          "True True");
    CHECK(jinja_render("{{ 'hello world'.title() }} {{ 'hELLO'.capitalize() }} {{ 'ÄbC'.upper() }} "
                       "{{ 'ÄbC'.lower() }}") == "Hello World Hello ÄBC äbc");
    CHECK(jinja_render(
              "{{ 'aaa'.replace('a', 'b', 2) }} {{ 'héllo'.find('l') }} {{ 'abc'.find('z') }}") ==
          "bba 2 -1");
    CHECK(jinja_render("{{ '{} and {name}'.format(1, name='x') }} {{ '%s=%d' % ('a', 3) }}") ==
          "1 and x a=3");
    CHECK(jinja_render(
              "{{ 'héllo'[1] }} {{ 'hello'[::-1] }} {{ 'hello'[1:3] }} {{ [1, 2, 3][-2:] }}") ==
          "é olleh el [2, 3]");
    CHECK(jinja_render("{{ ', '.join(['a', 'b']) }} {{ 'abc'.upper().lower() }}") == "a, b abc");
}

TEST_CASE("jinja dict access: methods first for attributes, keys for subscripts") {
    const char* vars = R"({"d": {"role": "user", "items": "key named items"}})";
    CHECK(jinja_render("{{ d.role }} {{ d['role'] }} {{ d.get('x', 'dflt') }} {{ d.get('role') }}",
                       vars) == "user user dflt user");
    CHECK(jinja_render("{{ d['items'] }} {{ d.keys() | list }} {{ d.values() | list | length }}",
                       vars) == "key named items ['role', 'items'] 2");
    CHECK(jinja_render("{{ d.nope is defined }} {{ d.nope }}|{{ [1][5] is defined }}", vars) ==
          "False |False");
}

TEST_CASE("jinja filters") {
    const char* vars =
        R"({"users": [{"name": "b", "age": 30, "admin": true}, {"name": "a", "age": 20, "admin": false}, {"name": "C", "age": 30}]})";
    CHECK(jinja_render("{{ users | map(attribute='name') | join(', ') }}", vars) == "b, a, C");
    // Integer path parts index sequences; one beyond 64 bits is a missing key, not a crash.
    CHECK(jinja_render("{{ [[1, 2]] | map(attribute='1') | list }}") == "[2]");
    CHECK(jinja_render("{{ [[1, 2]] | map(attribute='99999999999999999999') | list }}") ==
          jinja_render("{{ [[1, 2]] | map(attribute='x') | list }}"));
    CHECK(jinja_render("{{ users | selectattr('admin') | map(attribute='name') | list }}", vars) ==
          "['b']");
    CHECK(jinja_render(
              "{{ users | rejectattr('age', 'equalto', 30) | map(attribute='name') | first }}",
              vars) == "a");
    CHECK(jinja_render("{{ users | sort(attribute='name') | map(attribute='name') | join }}",
                       vars) == "abC");
    CHECK(jinja_render("{{ users | map(attribute='age') | unique | list }} {{ ['A', 'a', 'b'] | "
                       "unique | list }}",
                       vars) == "[30, 20] ['A', 'b']");
    CHECK(jinja_render("{{ [3, 1, 2] | sort(reverse=true) }} {{ [1, 2, 3] | reverse | list }} {{ "
                       "[1, 2, 3, 4] | select('even') | list }}") == "[3, 2, 1] [3, 2, 1] [2, 4]");
    CHECK(jinja_render("{{ [1, 2, 3] | reject('odd') | list }} {{ ['a', 'b'] | map('upper') | list "
                       "}} {{ [1, 2] | sum }}") == "[2] ['A', 'B'] 3");
    CHECK(jinja_render("{{ '  t  ' | trim }}|{{ 'abc' | length }}|{{ {'a': 1} | length }}|{{ [4, "
                       "5] | last }}|{{ [] | first is defined }}") == "t|3|1|5|False");
    CHECK(jinja_render(
              "{{ x | default('d') }} {{ '' | default('e', true) }} {{ none | default('f') }}") ==
          "d e None");
    CHECK(jinja_render("{{ '42' | int }} {{ '4.7' | int }} {{ 'x' | int(7) }} {{ '2.5' | float }} "
                       "{{ 3 | float }} {{ 3.7 | int }}") == "42 4 7 2.5 3.0 3");
    CHECK(jinja_render("{{ 2.5 | round }} {{ 3.14159 | round(2) }} {{ 3 | round }} {{ 2.1 | "
                       "round(0, 'ceil') }} {{ -3 | abs }}") == "2.0 3.14 3 3.0 3");
    CHECK(jinja_render("{{ 'a\nb\n\nc' | indent(2) }}|{{ 'x\ny' | indent(2, true) }}") ==
          "a\n  b\n\n  c|  x\n  y");
    CHECK(jinja_render("{{ 'hello big-world' | title }} {{ 'hELLO' | capitalize }} {{ 'one two  "
                       "three' | wordcount }}") == "Hello Big-World Hello 3");
    CHECK(jinja_render("{{ {'b': 1, 'a': 2} | items | list }} {{ {'b': 1, 'a': 2} | dictsort }}") ==
          "[('b', 1), ('a', 2)] [('a', 2), ('b', 1)]");
    CHECK(
        jinja_render(
            "{{ 'a<b>&\"' | escape }} {{ 'x' | safe }} {{ 5 | string ~ '!' }} {{ 'ab' | list }}") ==
        "a&lt;b&gt;&amp;&#34; x 5! ['a', 'b']");
    CHECK(jinja_render("{{ 'aXbX' | replace('X', '-') }} {{ [1, 5, 3] | max }} {{ [4, 2] | min }} "
                       "{{ '%s-%s' | format(1, 2) }}") == "a-b- 5 2 1-2");
}

TEST_CASE("jinja tests (is ...)") {
    CHECK(jinja_render("{{ x is defined }} {{ x is undefined }} {{ none is none }} {{ 1 is number "
                       "}} {{ true is number }}") == "False True True True True");
    CHECK(jinja_render("{{ 's' is string }} {{ {} is mapping }} {{ [] is iterable }} {{ 's' is "
                       "sequence }} {{ x is iterable }}") == "True True True True True");
    CHECK(jinja_render("{{ true is boolean }} {{ 1 is boolean }} {{ false is false }} {{ true is "
                       "true }} {{ 1 is true }}") == "True False True True False");
    CHECK(jinja_render("{{ 4 is even }} {{ 3 is odd }} {{ 9 is divisibleby 3 }} {{ 9 is "
                       "divisibleby(2) }} {{ 2 is in [1, 2] }}") == "True True True False True");
    CHECK(jinja_render("{{ 'a' is equalto 'a' }} {{ 1 is integer }} {{ 1.0 is float }} {{ 'ab' is "
                       "lower }} {{ x is not defined }}") == "True True True True True");
}

TEST_CASE("jinja globals: range, dict, namespace, strftime_now") {
    CHECK(jinja_render(
              "{{ range(3) | list }} {{ range(1, 7, 2) | list }} {{ range(3, 0, -1) | list }}") ==
          "[0, 1, 2] [1, 3, 5] [3, 2, 1]");
    CHECK(jinja_render("{{ dict(a=1, b='x') }} {{ namespace(a=1).a }}") == "{'a': 1, 'b': 'x'} 1");
    // 1700000000 is 2023-11-14T22:13:20Z; year and month are the same in every time zone.
    CHECK(jinja_render("{{ strftime_now('%Y-%m') }}", "{}", 1700000000) == "2023-11");
}

TEST_CASE("jinja edge semantics found by differential fuzzing against Python") {
    CHECK(jinja_render("{{ '' is lower }} {{ 'abc' is lower }} {{ {'k': 'v'} is lower }} {{ 'A1' "
                       "is upper }}") == "False True True True");
    CHECK(jinja_render("{{ 2.5 is odd }} {{ -3 is odd }} {{ -4 is even }} {{ 3.0 is odd }}") ==
          "False True True True");
    CHECK(jinja_render("{{ 'a' % [] }} {{ missing | upper }}|{{ missing | trim }}|") == "a ||");
    CHECK(is_error_with(jinja_render("{{ flag[1:] }}", R"({"flag": true})"), "not subscriptable"));
    CHECK(is_error_with(jinja_render("{{ 1 | indent }}"), "expected a string"));
}
