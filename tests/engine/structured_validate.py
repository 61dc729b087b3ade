#!/usr/bin/python3
"""Independent validator for the structured-output property test.

Reads JSON lines {"kind": "json" | "regex" | "choice", "spec": ..., "choices": [...],
"text": "..."} and checks each text with Python's own tools: json.loads + jsonschema
(Draft 2020-12) for schemas, re.fullmatch for regexes, membership for choices. Prints one
line per failure and exits 1 if any; exits 2 when jsonschema is not installed.
"""
import json
import re
import sys

try:
    import jsonschema
except ImportError:
    print("jsonschema is not installed (Debian: python3-jsonschema)")
    sys.exit(2)


def check(case):
    kind, text = case["kind"], case["text"]
    if kind == "json":
        schema = json.loads(case["spec"])
        try:
            value = json.loads(text)
        except ValueError as e:
            return "not JSON: %s" % e
        validator = jsonschema.validators.validator_for(
            schema, default=jsonschema.Draft202012Validator)(schema)
        errors = [e.message for e in validator.iter_errors(value)]
        return "; ".join(errors) if errors else None
    if kind == "regex":
        return None if re.fullmatch(case["spec"], text, re.DOTALL) else "does not match"
    if kind == "choice":
        return None if text in case["choices"] else "not one of the choices"
    return "unknown kind " + kind


def main():
    failures = checked = 0
    with open(sys.argv[1], encoding="utf-8") as f:
        for line in f:
            case = json.loads(line)
            checked += 1
            problem = check(case)
            if problem:
                failures += 1
                print("FAIL %s %r -> %r: %s" % (case["kind"], case.get("spec") or case.get("choices"),
                                                 case["text"], problem))
    print("checked %d outputs, %d invalid" % (checked, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
