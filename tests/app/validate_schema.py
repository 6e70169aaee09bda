#!/usr/bin/env python3
"""Validates every line of every *.jsonl golden file against replay's JSON Schema.

Usage: validate_schema.py SCHEMA GOLDEN_DIR
Fails (exit 1) naming the file, the line and the schema error; also fails if no file was found or a
file has no summary line, so an emptied golden directory cannot pass.
"""
import json
import pathlib
import sys

import jsonschema


def main() -> int:
    schema = json.loads(pathlib.Path(sys.argv[1]).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    files = sorted(pathlib.Path(sys.argv[2]).glob("*.jsonl"))
    if not files:
        print(f"no *.jsonl files in {sys.argv[2]}")
        return 1
    failures = 0
    for path in files:
        summaries = 0
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            obj = json.loads(line)
            errors = list(validator.iter_errors(obj))
            for error in errors:
                print(f"{path}:{number}: {error.message}")
                failures += 1
            if obj.get("action") == "summary":
                summaries += 1
        if summaries != 1:
            print(f"{path}: expected exactly one summary line, found {summaries}")
            failures += 1
        print(f"{path.name}: ok")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
