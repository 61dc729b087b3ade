#!/usr/bin/python3
"""Generates random Jinja expression templates (or, with a third argument "whitespace",
random nestings of tags, text and whitespace markers; with "statements", random loops,
sets, macros, with-blocks and namespaces, which exercise scoping) for differential testing against Python
Jinja2: python3 tests/engine/jinja_fuzz_snippets.py SEED COUNT > /tmp/f.txt, then
ACTORLM_JINJA_SNIPPETS=/tmp/f.txt build/test/tests/test_engine -tc="*snippets*".
Expected noise: Python filters that return lazy generators (unique, items, map, reverse)
print or fail differently, and constant folding turns literal slices of non-sequences
into Undefined; anything else that differs is a bug."""
import random
import sys
random.seed(int(sys.argv[1]))
atoms = ["1", "0", "-2", "2.5", "0.1", "'a'", "'Hello World'", "''", "' x '", "none", "true", "false",
         "[1, 2, 3]", "[]", "['b', 'a']", "{'k': 1, 'j': 'v'}", "{}", "(1, 'x')", "undefinedv",
         "'é日'", "10", "3", "[1, [2, 3]]", "'a,b'", "{'n': none}"]
binops = ["+", "-", "*", "/", "//", "%", "~", "==", "!=", "<", ">", "<=", ">=", "and", "or", "in", "not in", "**"]
filters = ["length", "string", "list", "first", "last", "join", "join(',')", "upper", "lower", "trim", "int", "float",
           "abs", "round", "tojson", "tojson(indent=2)", "reverse", "sort", "unique", "default('d')", "items",
           "capitalize", "title", "wordcount", "sum", "max", "min", "e", "list | length", "select | list",
           "map('string') | list", "dictsort", "batch(2) | list", "indent(2)", "replace('a', 'b')", "count"]
tests = ["defined", "undefined", "none", "string", "number", "mapping", "iterable", "sequence", "even", "odd",
         "true", "false", "boolean", "integer", "float", "divisibleby 2", "in [1, 'a']", "eq 1", "lower"]
methods = [".upper()", ".strip()", ".split(',')", ".split()", ".startswith('a')", ".replace('a', 'z')", ".title()",
           ".find('b')", ".items() | list", ".keys() | list", ".get('k')", ".count(1)", "[0]", "[-1]", "[1:]", "[::-1]", "['k']", ".k"]
def expr(d):
    r = random.random()
    if d <= 0 or r < 0.25: return random.choice(atoms)
    if r < 0.5: return "(%s %s %s)" % (expr(d-1), random.choice(binops), expr(d-1))
    if r < 0.65: return "(%s | %s)" % (expr(d-1), random.choice(filters))
    if r < 0.75: return "(%s is %s%s)" % (expr(d-1), random.choice(["", "not "]), random.choice(tests))
    if r < 0.85: return "(%s)%s" % (expr(d-1), random.choice(methods))
    if r < 0.92: return "(%s if %s else %s)" % (expr(d-1), expr(d-1), expr(d-1))
    return "(not %s)" % expr(d-1)
texts = ["", " ", "  ", "\n", "\n\n", "a", " a ", "\t", "\n  ", "  \n", "b\n", "\n c", " \t\n "]
def mark(): return random.choice(["", "", "-", "+"])
def endmark(): return random.choice(["", "", "-", "+"])
def ws_piece(depth):
    r = random.random()
    if r < 0.35: return random.choice(texts)
    if r < 0.5: return "{{%s 'v' %s}}" % (random.choice(["", "-"]), random.choice(["", "-"]))
    if r < 0.6: return "{#%s c %s#}" % (mark(), endmark())
    if r < 0.7: return "{%%%s set x = 1 %s%%}" % (mark(), endmark())
    if depth > 2: return random.choice(texts)
    kind = random.choice(["if", "for"])
    head = "{%%%s if true %s%%}" % (mark(), endmark()) if kind == "if" else "{%%%s for i in [1, 2] %s%%}" % (mark(), endmark())
    tail = "{%%%s end%s %s%%}" % (mark(), kind, endmark())
    body = "".join(ws_piece(depth + 1) for _ in range(random.randint(0, 4)))
    return head + body + tail
vals = ["1", "'s'", "x", "y", "ns.a", "loop.index", "loop.first", "i", "[1, 2]", "x ~ y", "loop.previtem", "loop.length"]
def st_piece(d):
    r = random.random()
    if r < 0.25: return "{{ %s }}" % random.choice(vals)
    if r < 0.45: return "{%% set %s = %s %%}" % (random.choice(["x", "y", "ns.a", "i"]), random.choice(vals))
    if r < 0.5: return random.choice([" ", "|", "\n"])
    if d > 2: return "{{ x }}"
    if r < 0.7: return "{%% for i in %s %%}%s{%% endfor %%}" % (random.choice(["[1, 2, 3]", "range(2)", "'ab'", "[]"]), "".join(st_piece(d+1) for _ in range(random.randint(1,4))))
    if r < 0.8: return "{%% if %s %%}%s{%% else %%}%s{%% endif %%}" % (random.choice(vals), st_piece(d+1), st_piece(d+1))
    if r < 0.9: return "{%% macro m%d(x) %%}%s{%% endmacro %%}{{ m%d(%s) }}" % (d, st_piece(d+1), d, random.choice(vals))
    return "{%% with y = %s %%}%s{%% endwith %%}" % (random.choice(vals), st_piece(d+1))
out = []
for i in range(int(sys.argv[2])):
    if len(sys.argv) > 3 and sys.argv[3] == "statements":
        out.append("{% set ns = namespace(a=0) %}" + "".join(st_piece(0) for _ in range(random.randint(2, 6))))
    elif len(sys.argv) > 3 and sys.argv[3] == "whitespace":
        out.append("".join(ws_piece(0) for _ in range(random.randint(1, 6))))
    else:
        out.append("{{ %s }}" % expr(3))
print("\n@@\n".join(out), end="")
