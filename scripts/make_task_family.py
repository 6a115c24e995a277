#!/usr/bin/env python3
"""Turn one GSM-Hard problem into a templated task family whose numbers vary.

A *family* is one problem of tests/data/gsm-hard/gsmhardv2.jsonl with some of its
numbers replaced by fresh ones. Every instance's target is what the problem's own PAL
program (its `code` field, which defines `solution()`) returns once the same numbers
are substituted in it, so the targets are exactly as right as GSM-Hard's programs.

Slots. Every number written in digits in the question (integers, decimals, with or
without thousands commas) is matched against the numeric literals of the program
(found with `ast`, so the docstring, which repeats the original GSM8K text, is never
touched). A value becomes a slot only when the match is unambiguous:

  - it occurs exactly once in the question, in a plain context (not in `1/2`, `3:30`,
    `3rd`, `5k`, `20-30`, ...), and no number word of the question (`three`, `dozen`,
    `twice`, `half`, ...) has the same value;
  - it occurs exactly once among the program's literals, as the whole right-hand side
    of a plain assignment (`eggs_per_day = 16`);
  - no other literal of the program looks derived from it (v*100, v/100, v*60, 1/v,
    ... : `25%` written as `25` in the text and `0.25` in the code would be varied in
    one place only);
  - it is not 0 or 1 (they are usually words in disguise: "1 hour", "each").

A value found in both but failing any of these makes the problem *ambiguous*: it is
refused (exit 2), because varying it could change the text without the code or the
other way round. Values found only in the question or only in the program stay fixed.
Programs with a `while` loop are refused too (new values could make them run forever).

Sampling (random.Random(seed), so a family is a pure function of index and seed):
  - integers 2..12 (small counts) become 2..12;
  - integers 13..99 stay two-digit, within half to twice the original (percentages
    stay below 100);
  - integers of 3 digits or more keep their number of digits (GSM-Hard's seven-digit
    numbers stay seven-digit), and their thousands commas if they had them;
  - decimals keep their number of decimal places, within half to twice the original;
  - counts with a natural ceiling stay under it (hours a day <= 24, days a week <= 7,
    weeks a year <= 52, ...);
  - the values of one instance are all different from each other and from the fixed
    numbers of the question.
Instances whose program raises or returns something other than a finite number are
dropped, as are repeated questions.

Usage:
  make_task_family.py --index N --name NAME --out DIR [--seed S] [--train 3] [--heldout 50]
      writes DIR/data/train.jsonl (the first --train instances) and
      DIR/data/heldout.jsonl (the next --heldout), records {"input": ..., "target": ...}
  make_task_family.py --list-candidates K
      prints K problem indices that template cleanly: at least 2 slots, a straight-line
      program (no loops, no branches), whose original numbers give back its target
  make_task_family.py --verify FAMILIES_FILE
      for each `name index seed` line, substitutes the original numbers and compares
      the program's value with GSM-Hard's target

Exit status: 0 done, 1 failure (e.g. too few valid instances), 2 refused or bad usage.
"""

import argparse
import ast
import copy
import json
import math
import pathlib
import random
import re
import sys

REPOSITORY = pathlib.Path(__file__).resolve().parent.parent
DATA = REPOSITORY / "tests" / "data" / "gsm-hard" / "gsmhardv2.jsonl"

# A number written in digits: 1,234,567 / 1234567 / 12.5 / 1,234.50
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?")

# Unit suffixes glued to a number that leave it a plain quantity (300g, 15kg, 32MPH).
UNIT_SUFFIXES = {
    "g", "kg", "mg", "lb", "lbs", "oz", "m", "km", "cm", "mm", "ft", "in", "mi",
    "mph", "kph", "kmh", "l", "ml", "s", "h", "hr", "hrs", "min", "mins", "gb", "mb",
}

NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "seventy": 70, "eighty": 80, "ninety": 90, "hundred": 100, "thousand": 1000,
    "dozen": 12, "twice": 2, "double": 2, "half": 2, "halves": 2, "pair": 2,
    "thrice": 3, "triple": 3, "third": 3, "thirds": 3, "quarter": 4, "quarters": 4,
    "fourth": 4, "fifth": 5, "tenth": 10, "score": 20, "week": 7, "weeks": 7,
}

# Units whose count has a natural ceiling: the phrase right after a number, its largest
# sensible value (no 85-week years, no 30-hour days).
CEILINGS = (
    (re.compile(r"\s*(?:hours?|hrs?)\s+(?:a|per|each)\s+day\b", re.I), 24),
    (re.compile(r"\s*days?\s+(?:a|per|each)\s+week\b", re.I), 7),
    (re.compile(r"\s*weeks?\s+(?:a|per|each)\s+year\b", re.I), 52),
    (re.compile(r"\s*months?\s+(?:a|per|each)\s+year\b", re.I), 12),
    (re.compile(r"\s*days?\s+(?:a|per|each)\s+year\b", re.I), 365),
    (re.compile(r"\s*(?:hours?|hrs?)\s+(?:a|per|each)\s+week\b", re.I), 168),
    (re.compile(r"\s*minutes?\s+(?:an|per|each)\s+hour\b", re.I), 60),
)

# Factors by which a program may carry a value in another form (percent, minutes, ...).
DERIVED_FACTORS = (100, 1000, 60, 3600, 12, 24, 7, 52, 365)


class Refused(Exception):
    """The problem cannot be templated soundly."""


def load(path=DATA):
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# ------------------------------------------------------------------ the question
def text_numbers(question):
    """Every number written in digits: dicts with span, text, value, kind, safe, percent."""
    found = []
    for match in NUMBER.finditer(question):
        start, end = match.span()
        raw = match.group()
        before = question[start - 1] if start > 0 else " "
        after = question[end:end + 1] or " "
        tail = re.match(r"[A-Za-z]+", question[end:])
        safe = True
        if before.isalpha() or before in "./-:" or after in "/:":
            safe = False  # 1/2, 3:30, A4, .5, 20-30, -5
        if after == "-" and question[end + 1:end + 2].isdigit():
            safe = False  # 20-30
        if tail and tail.group().lower() not in UNIT_SUFFIXES:
            safe = False  # 3rd, 5k, 2x
        if raw.endswith(".") or (after == "." and question[end + 1:end + 2].isdigit()):
            safe = False
        plain = raw.replace(",", "")
        kind = "decimal" if "." in plain else "int"
        value = float(plain) if kind == "decimal" else int(plain)
        ceiling = None
        for phrase, limit in CEILINGS:
            if phrase.match(question, end):
                ceiling = limit
        found.append({
            "ceiling": ceiling,
            "span": (start, end),
            "text": raw,
            "value": value,
            "kind": kind,
            "places": len(plain.split(".")[1]) if kind == "decimal" else 0,
            "commas": "," in raw,
            "safe": safe,
            "percent": after == "%" or question[end:end + 8].lower().startswith(" percent"),
        })
    return found


def word_values(question):
    values = set()
    for word in re.findall(r"[A-Za-z]+", question.lower()):
        if word in NUMBER_WORDS:
            values.add(NUMBER_WORDS[word])
    return values


# ------------------------------------------------------------------ the program
def numeric_constants(tree):
    """(node, parent) for every int/float literal of the program (bools excluded)."""
    parents = {}
    for parent in ast.walk(tree):
        for child in ast.iter_child_nodes(parent):
            parents[child] = parent
    result = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            result.append((node, parents.get(node)))
    return result


def is_plain_assignment(node, parent):
    return (
        isinstance(parent, ast.Assign)
        and parent.value is node
        and len(parent.targets) == 1
        and isinstance(parent.targets[0], ast.Name)
    )


def same_value(a, b):
    return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)


def is_straight_line(tree):
    """Only assignments, a docstring, imports and returns; no loops or branches."""
    banned = (ast.For, ast.While, ast.If, ast.IfExp, ast.Try, ast.With, ast.ListComp,
              ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Lambda, ast.AsyncFunctionDef)
    functions = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)]
    if len(functions) != 1 or functions[0].name != "solution":
        return False
    return not any(isinstance(node, banned) for node in ast.walk(tree))


# ------------------------------------------------------------------ the template
class Template:
    def __init__(self, index, record):
        self.index = index
        self.question = record["input"]
        self.code = record["code"]
        self.target = record["target"]
        try:
            self.tree = ast.parse(self.code)
        except SyntaxError as error:
            raise Refused("problem %d: its program does not parse (%s)" % (index, error))
        if any(isinstance(node, ast.While) for node in ast.walk(self.tree)):
            raise Refused("problem %d: its program has a while loop; new numbers could make it run forever" % index)
        self.numbers = text_numbers(self.question)
        self.constants = numeric_constants(self.tree)
        self.slots = self._find_slots()
        if not self.slots:
            raise Refused("problem %d: no number appears both in the question and in the program, nothing to vary" % index)

    def _find_slots(self):
        words = word_values(self.question)
        slots = []
        seen = set()
        for number in self.numbers:
            value = number["value"]
            key = float(value)
            if key in seen:
                continue
            seen.add(key)
            in_text = [other for other in self.numbers if same_value(other["value"], value)]
            in_code = [(node, parent) for node, parent in self.constants if same_value(node.value, value)]
            if not in_code:
                continue  # text only: stays fixed
            if value in (0, 1):
                continue  # fixed everywhere, consistently
            where = "problem %d: the number %s" % (self.index, number["text"])
            if len(in_text) > 1:
                raise Refused("%s appears %d times in the question and in the program: ambiguous" % (where, len(in_text)))
            if not number["safe"]:
                raise Refused("%s is part of a fraction, time, ordinal or range in the question, and in the program: ambiguous" % where)
            if float(value).is_integer() and int(value) in words:
                raise Refused("%s also appears as a word in the question: ambiguous" % where)
            if len(in_code) > 1:
                raise Refused("%s appears %d times among the program's literals: ambiguous" % (where, len(in_code)))
            node, parent = in_code[0]
            if not is_plain_assignment(node, parent):
                raise Refused("%s is used inside an expression of the program (line %d), not assigned to a name: ambiguous" % (where, node.lineno))
            for other, _ in self.constants:
                if other is node or other.value in (0, 1):
                    continue
                derived = [float(value) * f for f in DERIVED_FACTORS] + [float(value) / f for f in DERIVED_FACTORS] + [1.0 / float(value)]
                if any(same_value(other.value, d) for d in derived):
                    raise Refused("%s seems to appear in another form in the program too (%r, line %d): ambiguous" % (where, other.value, other.lineno))
            slots.append({"number": number, "node": node, "name": parent.targets[0].id, "code_float": isinstance(node.value, float)})
        return slots

    # --------------------------------------------------------------- evaluation
    def run(self, values):
        """The program's value with slot i set to values[i] (code-side Python numbers)."""
        tree = copy.deepcopy(self.tree)
        positions = {(slot["node"].lineno, slot["node"].col_offset): value for slot, value in zip(self.slots, values)}

        class Substitute(ast.NodeTransformer):
            def visit_Constant(self, node):
                key = (node.lineno, node.col_offset)
                if key in positions and type(node.value) in (int, float):
                    return ast.copy_location(ast.Constant(positions[key]), node)
                return node

        tree = ast.fix_missing_locations(Substitute().visit(tree))
        namespace = {}
        exec(compile(tree, "<gsm-hard %d>" % self.index, "exec"), namespace)
        return namespace["solution"]()

    def original_values(self):
        return [slot["node"].value for slot in self.slots]

    def render(self, texts):
        """The question with slot i's digits replaced by texts[i]."""
        pieces = []
        cursor = 0
        for slot, text in sorted(zip(self.slots, texts), key=lambda pair: pair[0]["number"]["span"]):
            start, end = slot["number"]["span"]
            pieces.append(self.question[cursor:start])
            pieces.append(text)
            cursor = end
        pieces.append(self.question[cursor:])
        return "".join(pieces)

    def pattern(self):
        return self.render(["{%s}" % slot["name"] for slot in self.slots])

    # --------------------------------------------------------------- sampling
    def sample(self, rng):
        """(question text pieces, code values) for one instance."""
        fixed = {float(number["value"]) for number in self.numbers} - {float(slot["number"]["value"]) for slot in self.slots}
        for _ in range(1000):
            texts, values = [], []
            for slot in self.slots:
                text, value = sample_number(slot["number"], rng)
                texts.append(text)
                values.append(float(value) if slot["code_float"] else value)
            floats = [float(value) for value in values]
            if len(set(floats)) == len(floats) and not (set(floats) & fixed):
                return texts, values
        raise RuntimeError("problem %d: cannot draw distinct values" % self.index)


def format_int(value, commas):
    return "{:,}".format(value) if commas else str(value)


def sample_number(number, rng):
    """A new value like `number`: (its text in the question, its value in the program)."""
    value = number["value"]
    if number["kind"] == "int":
        if 2 <= value <= 12:
            new = rng.randint(2, 12)
        elif value < 100:
            low = max(13, (value + 1) // 2)
            high = min(99, 2 * value)
            new = rng.randint(low, high)
        else:
            digits = len(str(value))
            low, high = 10 ** (digits - 1), 10 ** digits - 1
            if number["percent"]:
                low, high = max(low, value // 2), min(high, 2 * value)
            new = rng.randint(low, high)
        ceiling = number["ceiling"]
        if ceiling is not None and new > ceiling:
            low = min(value, max(2, (value + 1) // 2))
            new = rng.randint(low, max(low, min(ceiling, 2 * value)))
        return format_int(new, number["commas"]), new
    places = number["places"]
    scale = 10 ** places
    low = max(1, math.ceil(value / 2 * scale))
    high = max(low, math.floor(value * 2 * scale))
    if number["percent"] and value < 100:
        high = min(high, 99 * scale + scale - 1)
    trailing_zero_ok = number["text"].endswith("0")
    for _ in range(100):
        units = rng.randint(low, high)
        if units % 10 or trailing_zero_ok:
            break
    whole, fraction = divmod(units, scale)
    text = "%s.%0*d" % (format_int(whole, number["commas"]), places, fraction)
    return text, float("%d.%0*d" % (whole, places, fraction))


def finite_number(result):
    if isinstance(result, bool) or not isinstance(result, (int, float)):
        return None
    try:
        result = float(result)
    except OverflowError:
        return None
    return result if math.isfinite(result) else None


def reproduces_target(template):
    """(value of the program with the original numbers, whether it matches the target)."""
    value = finite_number(template.run(template.original_values()))
    target = float(template.target)
    ok = value is not None and (math.isclose(value, target, rel_tol=1e-6, abs_tol=1e-9) or round(value, 2) == round(target, 2))
    return value, ok


def instances(template, count, seed, max_attempts=None):
    rng = random.Random(seed)
    max_attempts = max_attempts or count * 50
    records, questions = [], {template.question}
    for _ in range(max_attempts):
        if len(records) == count:
            break
        texts, values = template.sample(rng)
        question = template.render(texts)
        if question in questions:
            continue
        try:
            result = finite_number(template.run(values))
        except Exception:  # noqa: BLE001 -- a program that raises drops the instance
            result = None
        if result is None:
            continue
        questions.add(question)
        records.append({"input": question, "target": result})
    return records


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")


def describe(template):
    return ", ".join("%s=%s" % (slot["name"], slot["number"]["text"]) for slot in template.slots)


# ------------------------------------------------------------------ commands
def make(arguments, records):
    if not 0 <= arguments.index < len(records):
        print("error: --index must be between 0 and %d" % (len(records) - 1), file=sys.stderr)
        return 2
    try:
        template = Template(arguments.index, records[arguments.index])
    except Refused as refusal:
        print("refused: %s" % refusal, file=sys.stderr)
        return 2
    value, ok = reproduces_target(template)
    print("family %s: problem %d, %d slot(s): %s" % (arguments.name, arguments.index, len(template.slots), describe(template)))
    print("template: %s" % template.pattern())
    print("original numbers: program gives %r, GSM-Hard target %r: %s" % (value, template.target, "ok" if ok else "MISMATCH"))
    wanted = arguments.train + arguments.heldout
    drawn = instances(template, wanted, arguments.seed)
    if len(drawn) < wanted:
        print("error: only %d valid distinct instances of %d wanted" % (len(drawn), wanted), file=sys.stderr)
        return 1
    out = pathlib.Path(arguments.out)
    write_jsonl(out / "data" / "train.jsonl", drawn[:arguments.train])
    write_jsonl(out / "data" / "heldout.jsonl", drawn[arguments.train:])
    print("wrote %d train and %d heldout instances under %s" % (arguments.train, arguments.heldout, out / "data"))
    return 0


def list_candidates(count, records):
    shown = 0
    for index, record in enumerate(records):
        if shown == count:
            break
        try:
            template = Template(index, record)
        except Refused:
            continue
        if len(template.slots) < 2 or not is_straight_line(template.tree):
            continue
        try:
            _, ok = reproduces_target(template)
        except Exception:  # noqa: BLE001
            continue
        if not ok or len(instances(template, 53, 0)) < 53:
            continue
        question = " ".join(template.question.split())
        print("%d\tslots=%d\t%s\t%s" % (index, len(template.slots), describe(template), question[:110]))
        shown += 1
    return 0


def verify(path, records):
    failures = 0
    for line in pathlib.Path(path).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, index, seed = line.split()
        index = int(index)
        try:
            template = Template(index, records[index])
        except Refused as refusal:
            print("%s %d: refused: %s" % (name, index, refusal))
            failures += 1
            continue
        value, ok = reproduces_target(template)
        failures += not ok
        print("%-14s problem %4d  slots: %-60s original numbers -> %r, target %r: %s"
              % (name, index, describe(template), value, template.target, "ok" if ok else "MISMATCH"))
    return 1 if failures else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--index", type=int, help="the GSM-Hard problem (0-based line of gsmhardv2.jsonl)")
    parser.add_argument("--name", help="the family's name")
    parser.add_argument("--out", help="output folder (DIR/data/{train,heldout}.jsonl)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--train", type=int, default=3)
    parser.add_argument("--heldout", type=int, default=50)
    parser.add_argument("--list-candidates", type=int, metavar="K")
    parser.add_argument("--verify", metavar="FAMILIES_FILE")
    parser.add_argument("--data", default=str(DATA), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    records = load(arguments.data)
    if arguments.list_candidates is not None:
        return list_candidates(arguments.list_candidates, records)
    if arguments.verify:
        return verify(arguments.verify, records)
    if arguments.index is None or not arguments.name or not arguments.out:
        parser.print_usage(sys.stderr)
        print("error: --index, --name and --out are required (or --list-candidates K / --verify FILE)", file=sys.stderr)
        return 2
    return make(arguments, records)


if __name__ == "__main__":
    sys.exit(main())
