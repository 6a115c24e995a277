#!/usr/bin/env python3
"""Generate the language tasks of bench/language_tasks.sh from scripts/language_tasks.json.

Two tasks, each a training set and a held-out set drawn from DISJOINT pools of
templates and words (the definitions file keeps them apart as train_* and heldout_*),
so the held-out messages are worded in ways the training messages never show:

  triage      a support message -> one of four teams (billing, shipping, technical,
              account). Records {"message": ..., "category": ...}. Balanced: the same
              number of messages per team in each set (training: m / 4 per team).
  extraction  a message about an order -> {"order_id", "date", "amount"} normalised:
              the order id as written without a leading "#", the date as YYYY-MM-DD
              (2026 unless the message names a year), the amount as a number.
              Records {"message": ..., "record": {"order_id", "date", "amount"}}.
              Date and amount *formats* ("the 3rd of March", "Mar 3", "2026-03-03";
              "$1,204.50", "129 dollars and 50 cents", ...) are the task's
              specification and are drawn for both sets; the sentences around them
              and the order-id letters are not shared.

Everything is drawn from random.Random(f"{seed}:{task}:{split}"), so the files are a
pure function of the definitions, the seed and the sizes. Repeated messages are drawn
again.

Usage:
  make_language_task.py --out DIR [--definitions FILE] [--seed 2026] [--train 8] [--heldout 100]
      writes DIR/triage/{train,heldout}.jsonl and DIR/extraction/{train,heldout}.jsonl
  make_language_task.py --check DIR [same options]
      exits 1 if the files under DIR are not what the generator writes
"""

import argparse
import datetime
import json
import os
import random
import re
import sys

ALTERNATIVES = re.compile(r"\[([^\[\]]*\|[^\[\]]*)\]")
SLOT = re.compile(r"\{([a-z_]+)\}")
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def ordinal(day):
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def fill(template, words, rng, extra=None):
    text = ALTERNATIVES.sub(lambda match: rng.choice(match.group(1).split("|")), template)

    def replace(match):
        slot = match.group(1)
        if extra and slot in extra:
            return extra[slot]
        if slot not in words:
            raise KeyError(f"template {template!r}: no word pool {slot!r}")
        return rng.choice(words[slot])

    return SLOT.sub(replace, text)


def triage_split(definitions, split, count, rng):
    classes = definitions["classes"]
    templates = definitions[f"{split}_templates"]
    words = definitions[f"{split}_words"]
    per_class = count // len(classes)
    if per_class * len(classes) != count:
        raise ValueError(f"triage: {count} {split} messages do not split evenly over {len(classes)} teams")
    records, seen = [], set()
    for category in classes:
        used_templates = []
        made = 0
        attempts = 0
        while made < per_class:
            attempts += 1
            if attempts > 10000:
                raise ValueError(f"triage: cannot draw {per_class} distinct {split} messages for {category}")
            # Training draws distinct templates first (m is small: show the variety).
            fresh = [t for t in templates[category] if t not in used_templates]
            template = rng.choice(fresh if split == "train" and fresh else templates[category])
            order = f"{rng.choice(words['order_letter'])}-{rng.randint(1000, 9999)}"
            body = fill(template, words, rng, {"order": order})
            greeting = rng.choice(words["greeting"])
            if greeting.endswith(","):
                body = body[0].lower() + body[1:] if not body.startswith("I ") else body
            parts = [greeting, body, rng.choice(words["closing"])]
            message = " ".join(part for part in parts if part)
            if message in seen:
                continue
            seen.add(message)
            used_templates.append(template)
            records.append({"message": message, "category": category})
            made += 1
    rng.shuffle(records)
    return records


def draw_date(definitions, rng):
    year = 2026
    form = rng.choice(definitions["date_forms"])
    if "{year}" in form or "{iso}" in form:
        year = rng.choice([2026, 2027])
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    date = datetime.date(year, month, day)
    text = form.format(ordinal=ordinal(day), month=MONTHS[month - 1], mon=MONTHS[month - 1][:3],
                       day=day, year=year, iso=date.isoformat())
    return text, date.isoformat()


def draw_amount(definitions, rng):
    whole = rng.choice([rng.randint(5, 99), rng.randint(100, 999), rng.randint(1000, 25000)])
    cents = 0 if rng.random() < 0.3 else rng.randint(1, 99)
    value = round(whole + cents / 100, 2)
    form = rng.choice(definitions["amount_forms"])
    if cents:
        dollars = f"{value:.2f}"
        dollars_comma = f"{value:,.2f}"
    else:
        dollars = str(whole) if rng.random() < 0.5 else f"{whole}.00"
        dollars_comma = f"{whole:,}"
    if "{whole}" in form and not cents:
        form = "{whole} dollars"
    text = form.format(dollars=dollars, dollars_comma=dollars_comma, whole=f"{whole:,}" if whole >= 1000 else whole, cents=cents)
    return text, value


def extraction_split(definitions, split, count, rng):
    templates = definitions[f"{split}_templates"]
    letters = definitions[f"{split}_letters"]
    records, seen = [], set()
    attempts = 0
    while len(records) < count:
        attempts += 1
        if attempts > 100000:
            raise ValueError(f"extraction: cannot draw {count} distinct {split} messages")
        template = rng.choice(templates) if split == "heldout" or len(records) >= len(templates) else templates[len(records)]
        order_id = f"{rng.choice(letters)}-{rng.randint(10000, 99999)}"
        # "order {id}" already says "order": only the bare forms read naturally there.
        forms = definitions["id_forms"][:2] if "order {id}" in template.lower() else definitions["id_forms"]
        id_text = rng.choice(forms).format(id=order_id)
        date_text, date = draw_date(definitions, rng)
        amount_text, amount = draw_amount(definitions, rng)
        message = fill(template, {}, rng, {"id": id_text, "date": date_text, "amount": amount_text,
                                           "count": str(rng.randint(2, 6))})
        message = message[0].upper() + message[1:]
        if message in seen:
            continue
        seen.add(message)
        records.append({"message": message, "record": {"order_id": order_id, "date": date, "amount": amount}})
    return records


def jsonl(records):
    return "".join(json.dumps(record) + "\n" for record in records)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--definitions", default=os.path.join(here, "language_tasks.json"))
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--train", type=int, default=8)
    parser.add_argument("--heldout", type=int, default=100)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--out")
    target.add_argument("--check")
    arguments = parser.parse_args()
    with open(arguments.definitions) as file:
        definitions = json.load(file)

    outputs = {}
    for task, make in (("triage", triage_split), ("extraction", extraction_split)):
        for split, count in (("train", arguments.train), ("heldout", arguments.heldout)):
            rng = random.Random(f"{arguments.seed}:{task}:{split}")
            outputs[(task, split)] = jsonl(make(definitions[task], split, count, rng))
    # The two splits must not share a message (they are drawn from disjoint pools).
    for task in ("triage", "extraction"):
        train = {json.loads(line)["message"] for line in outputs[(task, "train")].splitlines()}
        heldout = {json.loads(line)["message"] for line in outputs[(task, "heldout")].splitlines()}
        if train & heldout:
            raise ValueError(f"{task}: training and held-out share messages")

    different = []
    for (task, split), text in outputs.items():
        if arguments.out:
            folder = os.path.join(arguments.out, task)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, f"{split}.jsonl"), "w") as file:
                file.write(text)
        else:
            path = os.path.join(arguments.check, task, f"{split}.jsonl")
            if not os.path.exists(path) or open(path).read() != text:
                different.append(path)
        print(f"{task} {split}: {text.count(chr(10))} records", file=sys.stderr)
    if different:
        print("differs from the generator: " + ", ".join(different), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
