#!/usr/bin/env python3
"""Run every GSM-Hard PAL program with CPython and record the value it returns.

The sandbox conformance test (tests/sandbox_conformance.rs) runs the same programs
through flowc's embedded interpreter and compares its values with these, so this file
is the reference of record: regenerate it only on purpose, and commit the output.

Input:  tests/data/gsm-hard/gsmhardv2.jsonl  (one object per line; its `code` field
        defines `solution()`)
Output: tests/data/gsm-hard/cpython_values.jsonl, one line per program, in input order:

    {"index": 0, "value": 18}                    an int that fits in 64 bits
    {"index": 1, "value": 4.5}                   a float (always written with a
                                                  fraction or an exponent, so it reads
                                                  back as a float, never as an int)
    {"index": 2, "big_int": "123...890"}         an int outside the 64-bit range,
                                                  as decimal digits
    {"index": 3, "value": "text"}                any other JSON value (str, bool,
                                                  None, list, dict) as JSON
    {"index": 4, "error": "ZeroDivisionError: ..."} the program raised
    {"index": 5, "unsupported": "float('nan')"}  a value JSON cannot hold

Every program runs in a fresh namespace with CPython's ordinary builtins (PAL programs
were written for CPython, imports and all), one at a time, in this process.

Usage: python3 scripts/gsm_hard_cpython_values.py [INPUT] [OUTPUT]
"""

import json
import math
import pathlib
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPOSITORY / "tests" / "data" / "gsm-hard" / "gsmhardv2.jsonl"
DEFAULT_OUTPUT = REPOSITORY / "tests" / "data" / "gsm-hard" / "cpython_values.jsonl"

INT64_MIN = -(2**63)
UINT64_MAX = 2**64 - 1


def describe(value):
    """The JSON object for one program's value (without its index)."""
    # bool first: it is a subclass of int in Python.
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return {"value": value}
    if isinstance(value, int):
        if INT64_MIN <= value <= UINT64_MAX:
            return {"value": value}
        return {"big_int": str(value)}
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return {"unsupported": repr(value)}
        return {"value": value}
    try:
        # Lists, tuples and dicts of plain values; json writes floats with repr, which
        # round-trips exactly.
        json.dumps(value, allow_nan=False)
        return {"value": value}
    except (TypeError, ValueError):
        return {"unsupported": repr(value)}


def run_program(code):
    namespace = {"__name__": "__gsm_hard__"}
    try:
        exec(compile(code, "<solution>", "exec"), namespace)
        return describe(namespace["solution"]())
    except Exception as error:  # noqa: BLE001 - the error is the recorded outcome
        return {"error": "%s: %s" % (type(error).__name__, error)}


def main(arguments):
    input_path = pathlib.Path(arguments[1]) if len(arguments) > 1 else DEFAULT_INPUT
    output_path = pathlib.Path(arguments[2]) if len(arguments) > 2 else DEFAULT_OUTPUT
    lines = []
    counts = {"value": 0, "big_int": 0, "error": 0, "unsupported": 0}
    with open(input_path, encoding="utf-8") as handle:
        for index, line in enumerate(handle):
            if not line.strip():
                continue
            program = json.loads(line)
            outcome = run_program(program["code"])
            for kind in counts:
                if kind in outcome:
                    counts[kind] += 1
            record = {"index": index}
            record.update(outcome)
            lines.append(json.dumps(record, ensure_ascii=False, allow_nan=False))
    with open(output_path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    print(
        "%d programs (CPython %s): %d values, %d big ints, %d errors, %d unsupported -> %s"
        % (
            len(lines),
            sys.version.split()[0],
            counts["value"],
            counts["big_int"],
            counts["error"],
            counts["unsupported"],
            output_path,
        )
    )


if __name__ == "__main__":
    main(sys.argv)
