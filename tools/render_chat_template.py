#!/usr/bin/python3
"""Reference chat-template renderer: Python Jinja2 configured as HF transformers'
apply_chat_template configures it (ImmutableSandboxedEnvironment, trim_blocks,
lstrip_blocks, loopcontrols, its tojson, raise_exception, strftime_now).
The C++ engine's output is compared against this byte for byte (tests/engine/
chat_template_reference_test.cpp). Prints the rendering to stdout; on a template
error prints 'ERROR: <message>' to stderr and exits 3.
Run with Debian's /usr/bin/python3 (python3-jinja2)."""
import argparse
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def main():
    ap = argparse.ArgumentParser()
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--template", help="template file (.jinja)")
    src.add_argument("--tokenizer-config", help="tokenizer_config.json with chat_template")
    src.add_argument("--snippets", help="file of templates separated by lines '@@': each is "
                     "rendered without variables; prints a JSON list of [ok, text or error]")
    ap.add_argument("--messages", help="JSON file: list of messages")
    ap.add_argument("--tools", help="JSON file: list of tool schemas")
    ap.add_argument("--documents", help="JSON file: list of documents")
    ap.add_argument("--kwargs", help="JSON file: object of extra template variables")
    ap.add_argument("--no-generation-prompt", action="store_true")
    ap.add_argument("--bos-token")
    ap.add_argument("--eos-token")
    ap.add_argument("--now", type=int, default=None, help="strftime_now's time (unix seconds)")
    args = ap.parse_args()

    special = {}
    if args.snippets:
        with open(args.snippets, encoding="utf-8") as f:
            snippets = f.read().split("\n@@\n")
    elif args.messages is None:
        ap.error("--messages is required")
    if args.template:
        with open(args.template, encoding="utf-8") as f:
            source = f.read()
    elif args.tokenizer_config:
        with open(args.tokenizer_config, encoding="utf-8") as f:
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
    if args.bos_token is not None:
        special["bos_token"] = args.bos_token
    if args.eos_token is not None:
        special["eos_token"] = args.eos_token

    def load(path):
        if path is None:
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)

    def raise_exception(message):
        raise jinja2.exceptions.TemplateError(message)

    def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
        return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent,
                          separators=separators, sort_keys=sort_keys)

    def strftime_now(fmt):
        now = datetime.fromtimestamp(args.now) if args.now is not None else datetime.now()
        return now.strftime(fmt)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now

    if args.snippets:
        results = []
        for text in snippets:
            try:
                results.append([True, env.from_string(text).render()])
            except Exception as e:
                results.append([False, "%s: %s" % (type(e).__name__, e)])
        sys.stdout.write(json.dumps(results))
        return

    kwargs = dict(special)
    kwargs.update(load(args.kwargs) or {})
    try:
        template = env.from_string(source)
        out = template.render(messages=load(args.messages), tools=load(args.tools),
                              documents=load(args.documents),
                              add_generation_prompt=not args.no_generation_prompt, **kwargs)
    except Exception as e:  # any template failure: the C++ side must fail too
        sys.stderr.write("ERROR: %s: %s\n" % (type(e).__name__, e))
        sys.exit(3)
    sys.stdout.buffer.write(out.encode("utf-8"))


if __name__ == "__main__":
    main()
