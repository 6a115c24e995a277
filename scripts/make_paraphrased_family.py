#!/usr/bin/env python3
"""Generate paraphrased arithmetic word-problem families (bench/paraphrased_families.sh).

A *family* (scripts/paraphrased_families.json) is one arithmetic problem told in several
phrasings that state its quantities in different orders, with different surrounding
words, and with number words ("a dozen", "twice", "half") in some of them. Each family
has a reference program, `solution(**quantities)`, over the *named* quantities: every
target is what that program returns for the instance's numbers, so the targets do not
depend on how the text is worded.

Unlike scripts/make_task_family.py (GSM-Hard problems with their numbers varied, every
instance worded the same), the position of a number in the text does not say which
quantity it is here: a plan that reads "the third number" fits one phrasing only.

Sampling, with random.Random(f"{seed}:{family}") so a family is a pure function of the
definitions file, its name and the seed:
  - every quantity is drawn from its range (`int` uniform in [min, max]; `decimal`
    uniform, rounded to `places`);
  - in about 40% of the instances one quantity marked `hard` takes a seven-digit value
    instead (GSM-Hard's trick: the arithmetic is the same, copying the number is not);
  - the values of one instance are all different (so an answer cannot be right by
    confusing two of them);
  - pools (names, items) and [a|b] alternatives are drawn per instance.
Phrasings: the training pool (5 instances) cycles through a seeded permutation of the
phrasings, so m = 3 sees three different phrasings and m = 5 sees them all; each
held-out instance draws its phrasing uniformly (so held-out mixes phrasings seen in
training and, at m = 3, one that was not). Repeated questions are redrawn.

Records: {"input": question, "target": number, "phrasing": index, "quantities": {...}}.
The flow workflows map only input and target; the rest is there to analyse failures.

Usage:
  make_paraphrased_family.py --out DIR [--families FILE] [--seed 2026] [--train 5] [--heldout 50] [--only NAME ...]
      writes DIR/NAME/train.jsonl and DIR/NAME/heldout.jsonl for every family
  make_paraphrased_family.py --check DIR [same options]
      regenerates into memory and exits 1 if any file under DIR differs
"""

import argparse
import json
import math
import os
import random
import re
import sys

NUMBER_WORDS = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen", "twenty",
]

PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z_0-9]*)(?:\.([A-Za-z_]+))?(?::(word))?\}")
ALTERNATIVES = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")


def load_program(family):
    """The family's reference program, as a function of its named quantities."""
    namespace = {}
    exec(compile(family["program"], f"<{family['name']}.program>", "exec"), namespace)
    return namespace["solution"]


def draw_value(spec, rng):
    if spec["kind"] == "int":
        return rng.randint(spec["min"], spec["max"])
    if spec["kind"] == "decimal":
        places = spec["places"]
        value = round(rng.uniform(spec["min"], spec["max"]), places)
        # A decimal that happens to be whole would print as "12.0": draw again.
        return value if value != int(value) else draw_value(spec, rng)
    raise ValueError(f"unknown quantity kind {spec['kind']!r}")


def draw_quantities(family, rng):
    specs = family["quantities"]
    while True:
        values = {name: draw_value(spec, rng) for name, spec in specs.items()}
        hard = [name for name, spec in specs.items() if spec.get("hard")]
        if hard and rng.random() < 0.4:
            values[rng.choice(hard)] = rng.randint(1_000_000, 9_999_999)
        if len(set(values.values())) == len(values):
            return values


def show_number(value, spec, as_word):
    if spec["kind"] == "decimal" and value != int(value):
        return f"{value:.{spec['places']}f}"
    value = int(value)
    if as_word and 0 <= value < len(NUMBER_WORDS):
        return NUMBER_WORDS[value]
    return str(value)


def render(family, phrasing, values, rng):
    picks = {name: rng.choice(options) for name, options in family.get("pools", {}).items()}

    def replace(match):
        name, key, word = match.group(1), match.group(2), match.group(3)
        if name in family["quantities"]:
            return show_number(values[name], family["quantities"][name], word is not None)
        if name in picks:
            pick = picks[name]
            return pick[key] if key else pick
        raise KeyError(f"{family['name']}: unknown placeholder {match.group(0)}")

    text = ALTERNATIVES.sub(lambda match: rng.choice(match.group(1).split("|")), phrasing)
    text = PLACEHOLDER.sub(replace, text)
    return text[0].upper() + text[1:]


def clean_target(value):
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"reference program returned {value!r}")
    value = round(float(value), 6)
    return int(value) if value == int(value) else value


def check_family(family):
    """Every phrasing must state every quantity exactly once, or the text and the
    target could disagree."""
    for index, phrasing in enumerate(family["phrasings"]):
        named = [match.group(1) for match in PLACEHOLDER.finditer(phrasing) if match.group(1) in family["quantities"]]
        if sorted(named) != sorted(family["quantities"]):
            raise ValueError(f"{family['name']}: phrasing {index} states {named}, not each of {sorted(family['quantities'])} once")
    if len(family["phrasings"]) < 3:
        raise ValueError(f"{family['name']}: fewer than three phrasings")


def generate(family, seed, train_count, heldout_count):
    check_family(family)
    solution = load_program(family)
    rng = random.Random(f"{seed}:{family['name']}")
    phrasing_count = len(family["phrasings"])
    cycle = list(range(phrasing_count))
    rng.shuffle(cycle)
    seen = set()
    records = []
    total = train_count + heldout_count
    while len(records) < total:
        position = len(records)
        phrasing = cycle[position % phrasing_count] if position < train_count else rng.randrange(phrasing_count)
        values = draw_quantities(family, rng)
        question = render(family, family["phrasings"][phrasing], values, rng)
        if question in seen:
            continue
        seen.add(question)
        records.append({
            "input": question,
            "target": clean_target(solution(**values)),
            "phrasing": phrasing,
            "quantities": values,
        })
    return records[:train_count], records[train_count:]


def jsonl(records):
    return "".join(json.dumps(record, sort_keys=False) + "\n" for record in records)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--families", default=os.path.join(here, "paraphrased_families.json"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--train", type=int, default=5)
    parser.add_argument("--heldout", type=int, default=50)
    parser.add_argument("--only", nargs="*")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out")
    target.add_argument("--check")
    arguments = parser.parse_args()

    with open(arguments.families) as file:
        families = json.load(file)["families"]
    if arguments.only:
        families = [family for family in families if family["name"] in arguments.only]
    different = []
    for family in families:
        train, heldout = generate(family, arguments.seed, arguments.train, arguments.heldout)
        for file_name, records in (("train.jsonl", train), ("heldout.jsonl", heldout)):
            text = jsonl(records)
            if arguments.out:
                folder = os.path.join(arguments.out, family["name"])
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, file_name), "w") as file:
                    file.write(text)
            else:
                path = os.path.join(arguments.check, family["name"], file_name)
                if not os.path.exists(path) or open(path).read() != text:
                    different.append(path)
        phrasings = sorted({record["phrasing"] for record in train[:3]})
        print(f"{family['name']}: {len(train)} train (first three in phrasings {phrasings}), {len(heldout)} held-out", file=sys.stderr)
    if different:
        print("differs from the generator: " + ", ".join(different), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
