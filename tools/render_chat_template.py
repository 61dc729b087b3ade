#!/usr/bin/python3
"""Reference chat-template renderer: Python Jinja2 configured as HF transformers'
apply_chat_template configures it (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols, its tojson, raise_exception, strftime_now).
The C++ engine's output is compared against this byte for byte (tests/engine/
chat_template_reference_test.cpp, jinja_reference_test.cpp).

One rendering: prints it to stdout; on a template error prints 'ERROR: <message>' to
stderr and exits 3. --batch JOBS.json renders a list of jobs ({"template" or
"tokenizer_config": path, "messages", "tools", "documents", "kwargs": JSON values,
"add_generation_prompt", "bos_token", "eos_token", "now"}) and prints a JSON list of
[ok, text or error]. --snippets FILE renders templates separated by lines '@@'.
Run with Debian's /usr/bin/python3 (python3-jinja2)."""
import argparse
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def make_env(now):
    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        return (datetime.fromtimestamp(now) if now is not None else datetime.now()).strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def load_source(template_path, config_path):
    """The template text and the special tokens a tokenizer config declares."""
    special = {}
    if template_path:
        with open(template_path, encoding="utf-8") as f:
            return f.read(), special
    with open(config_path, encoding="utf-8") as f:
        config = json.load(f)
    source = config["chat_template"]
    if isinstance(source, list):
        source = next(t["template"] for t in source if t["name"] == "default")
    for key in ("bos_token", "eos_token"):
        tok = config.get(key)
        if isinstance(tok, dict):
            tok = tok.get("content")
        if isinstance(tok, str):
            special[key] = tok
    return source, special


def render(source, special, messages, tools, documents, kwargs, add_generation_prompt, now):
    """transformers' render call: messages, tools, documents, add_generation_prompt,
    then the special tokens and the extra kwargs."""
    template_kwargs = dict(special)
    template_kwargs.update(kwargs or {})
    template = make_env(now).from_string(source)
    return template.render(messages=messages, tools=tools, documents=documents,
                           add_generation_prompt=add_generation_prompt, **template_kwargs)


def attempt(fn):
    try:
        return [True, fn()]
    except Exception as e:  # any template failure: the C++ side must fail too
        return [False, "%s: %s" % (type(e).__name__, e)]


def run_batch(path):
    with open(path, encoding="utf-8") as f:
        jobs = json.load(f)
    results = []
    for job in jobs:
        source, special = load_source(job.get("template"), job.get("tokenizer_config"))
        for key in ("bos_token", "eos_token"):
            if job.get(key) is not None:
                special[key] = job[key]
        results.append(attempt(lambda: render(
            source, special, job.get("messages"), job.get("tools"), job.get("documents"),
            job.get("kwargs"), job.get("add_generation_prompt", True), job.get("now"))))
    sys.stdout.write(json.dumps(results))


def run_snippets(path, now):
    with open(path, encoding="utf-8") as f:
        snippets = f.read().split("\n@@\n")
    env = make_env(now)
    sys.stdout.write(json.dumps([attempt(lambda: env.from_string(s).render()) for s in snippets]))


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--template", help="template file (.jinja)")
    src.add_argument("--tokenizer-config", help="tokenizer_config.json with chat_template")
    src.add_argument("--batch", help="JSON file: list of render jobs")
    src.add_argument("--snippets", help="file of templates separated by lines '@@'")
    ap.add_argument("--messages", help="JSON file: list of messages")
    ap.add_argument("--tools", help="JSON file: list of tool schemas")
    ap.add_argument("--documents", help="JSON file: list of documents")
    ap.add_argument("--kwargs", help="JSON file: object of extra template variables")
    ap.add_argument("--no-generation-prompt", action="store_true")
    ap.add_argument("--bos-token")
    ap.add_argument("--eos-token")
    ap.add_argument("--now", type=int, default=None, help="strftime_now's time (unix seconds)")
    args = ap.parse_args()
    if args.batch:
        return run_batch(args.batch)
    if args.snippets:
        return run_snippets(args.snippets, args.now)
    if args.messages is None:
        ap.error("--messages is required")

    def load(path):
        if path is None:
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    source, special = load_source(args.template, args.tokenizer_config)
    if args.bos_token is not None:
        special["bos_token"] = args.bos_token
    if args.eos_token is not None:
        special["eos_token"] = args.eos_token
    ok, text = attempt(lambda: render(source, special, load(args.messages), load(args.tools),
                                      load(args.documents), load(args.kwargs),
                                      not args.no_generation_prompt, args.now))
    if not ok:
        sys.stderr.write("ERROR: %s\n" % text)
        sys.exit(3)
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
