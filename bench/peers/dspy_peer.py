#!/usr/bin/env python3
"""The peer of bench/paraphrased_families.sh and bench/language_tasks.sh: DSPy.

Runs DSPy (pinned 3.4.1, in the virtual environment bench/peers/dspy_venv.sh makes)
on the same student, the same data and the same metric as flowc:

  Predict            the task's signature, no optimisation (DSPy's "as written")
  LabeledFewShot     k = all training examples as demonstrations
  BootstrapFewShot   demonstrations bootstrapped by the teacher (the same local
                     Qwen2.5-Coder-1.5B flowc's build uses), kept when the metric passes
  MIPROv2 (light)    instruction proposals by the teacher + demonstration search,
                     validated on the training set (m is too small to split off a
                     validation set)

Both models are llama.cpp servers on loopback (llama-cpp-python's, started by the
bench script): the student SmolLM2-135M-Instruct Q4_1, the teacher Qwen2.5-Coder-1.5B.
Every LM call has a timeout and no retries, generation is capped (max_tokens), and the
caller bounds the whole run with `timeout`; the report is rewritten after every method,
so what finished survives a timeout.

Metrics, the same as the .flow files':
  arithmetic  numeric_match(rel_tol = 1e-6) on the answer
  triage      exact_match on the category
  extraction  record_fields: order_id and date as exact text, amount within a cent;
              an example passes when all three are right (flowc's pass: score 1)
Accuracy is the share of held-out examples that pass, as in `flowc eval`. An answer
DSPy cannot parse, or a call that times out, fails the example.

Usage:
  dspy_peer.py --task arithmetic|triage|extraction --train F --heldout F
               --student-url http://127.0.0.1:P/v1 --teacher-url http://127.0.0.1:Q/v1
               --report OUT.json [--methods predict,labeled,bootstrap,mipro]
"""

import argparse
import json
import math
import sys
import time
import traceback
from typing import Literal

import dspy

CLASSES = ("billing", "shipping", "technical", "account")


class Arithmetic(dspy.Signature):
    """Solve the math word problem. Give the final answer as a number."""

    question: str = dspy.InputField()
    answer: float = dspy.OutputField()


class Triage(dspy.Signature):
    """Sort a web shop customer's message to the support team that should handle it."""

    message: str = dspy.InputField()
    category: Literal["billing", "shipping", "technical", "account"] = dspy.OutputField()


class Extraction(dspy.Signature):
    """Copy the order details out of a customer message: the order id without "#", the
    date as YYYY-MM-DD (the year is 2026 unless the message says otherwise), and the
    amount of money as a number."""

    message: str = dspy.InputField()
    order_id: str = dspy.OutputField()
    date: str = dspy.OutputField()
    amount: float = dspy.OutputField()


def as_number(value):
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        return float(str(value).strip().replace(",", "").replace("$", ""))
    except ValueError:
        return None


def arithmetic_score(example, prediction):
    actual = as_number(getattr(prediction, "answer", None))
    expected = float(example.answer)
    if actual is None or not math.isfinite(actual):
        return 0.0
    return 1.0 if abs(expected - actual) <= 1e-6 * max(abs(expected), abs(actual)) else 0.0


def triage_score(example, prediction):
    return 1.0 if str(getattr(prediction, "category", "")).strip() == example.category else 0.0


def extraction_score(example, prediction):
    right = 0
    for key in ("order_id", "date"):
        if str(getattr(prediction, key, "")).strip() == example.record[key]:
            right += 1
    amount = as_number(getattr(prediction, "amount", None))
    if amount is not None and abs(amount - example.record["amount"]) < 0.005:
        right += 1
    return right / 3


TASKS = {
    # signature, inputs, example builder, score, generation cap
    "arithmetic": (Arithmetic, ("question",), lambda r: dict(question=r["input"], answer=r["target"]), arithmetic_score, 256),
    "triage": (Triage, ("message",), lambda r: dict(message=r["message"], category=r["category"]), triage_score, 32),
    "extraction": (Extraction, ("message",), lambda r: dict(message=r["message"], record=r["record"],
                                                             order_id=r["record"]["order_id"], date=r["record"]["date"],
                                                             amount=r["record"]["amount"]), extraction_score, 96),
}


def read_examples(path, build, inputs):
    with open(path) as file:
        return [dspy.Example(**build(json.loads(line))).with_inputs(*inputs) for line in file if line.strip()]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--task", choices=sorted(TASKS), required=True)
    parser.add_argument("--train", required=True)
    parser.add_argument("--heldout", required=True)
    parser.add_argument("--student-url", required=True)
    parser.add_argument("--teacher-url", required=True)
    parser.add_argument("--report", required=True)
    parser.add_argument("--methods", default="predict,labeled,bootstrap,mipro")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per LM call")
    arguments = parser.parse_args()

    signature, inputs, build, score, max_tokens = TASKS[arguments.task]
    train = read_examples(arguments.train, build, inputs)
    heldout = read_examples(arguments.heldout, build, inputs)

    # "hosted_vllm/" (an OpenAI-compatible server, through LiteLLM) and not "openai/":
    # DSPy 3.4.1 sends OpenAI's `max_completion_tokens` for "openai/", which
    # llama-cpp-python's server ignores (the student then rambles to the end of its
    # context); "hosted_vllm/" sends `max_tokens`, which it honours (checked here: a
    # max_tokens=8 request came back with 8 tokens).
    student = dspy.LM("hosted_vllm/smollm2-135m", api_base=arguments.student_url, api_key="local",
                      temperature=0, max_tokens=max_tokens, timeout=arguments.timeout, num_retries=0)
    teacher = dspy.LM("hosted_vllm/qwen2.5-coder-1.5b", api_base=arguments.teacher_url, api_key="local",
                      temperature=0, max_tokens=512, timeout=4 * arguments.timeout, num_retries=0)
    dspy.configure(lm=student)

    def metric(example, prediction, trace=None):
        value = score(example, prediction)
        # While bootstrapping (trace given) only a full pass makes a demonstration.
        return value >= 1.0 - 1e-9 if trace is not None else value

    def passes(example, prediction):
        return score(example, prediction) >= 1.0 - 1e-9

    def evaluate(program, entry):
        passed, errors, first_error = 0, 0, None
        for done, example in enumerate(heldout, start=1):
            try:
                prediction = program(**example.inputs())
                passed += passes(example, prediction)
            except Exception as error:  # a parse failure or a timeout fails the example
                # A student server that stopped answering is not DSPy failing the
                # example: the method ends with an error instead of an accuracy.
                if "Connection refused" in str(error):
                    raise RuntimeError(f"the student server stopped answering after {done - 1} examples: {error}"[:400]) from error
                errors += 1
                if first_error is None:
                    first_error = f"{type(error).__name__}: {error}"[:400]
                    print(f"first failed call: {first_error}", file=sys.stderr, flush=True)
            # Progress on disk after every example: a run cut short by its time bound
            # still says how far it got (reported as partial, never as the accuracy).
            entry["partial"] = {"evaluated": done, "passed": passed, "failed_calls": errors}
            save()
        entry.pop("partial", None)
        return passed, errors, first_error

    report = {"task": arguments.task, "dspy_version": dspy.__version__, "train": len(train),
              "heldout": len(heldout), "methods": {}}

    def save():
        with open(arguments.report, "w") as file:
            json.dump(report, file, indent=2)

    def compile_with(method):
        program = dspy.Predict(signature)
        if method == "predict":
            return program
        if method == "labeled":
            return dspy.LabeledFewShot(k=len(train)).compile(program, trainset=train)
        if method == "bootstrap":
            optimizer = dspy.BootstrapFewShot(metric=metric, teacher_settings=dict(lm=teacher),
                                              max_bootstrapped_demos=4, max_labeled_demos=len(train), max_rounds=1)
            return optimizer.compile(program, trainset=train)
        if method == "mipro":
            optimizer = dspy.MIPROv2(metric=metric, prompt_model=teacher, task_model=student,
                                     teacher_settings=dict(lm=teacher), auto="light", num_threads=1,
                                     max_bootstrapped_demos=4, max_labeled_demos=len(train), seed=0)
            return optimizer.compile(program, trainset=train, valset=train,
                                     minibatch=False, requires_permission_to_run=False)
        raise ValueError(f"unknown method {method}")

    for method in arguments.methods.split(","):
        started = time.time()
        teacher_calls_before = len(teacher.history)
        entry = {}
        try:
            program = compile_with(method)
            entry["compile_s"] = round(time.time() - started, 1)
            report["methods"][method] = entry
            passed, errors, first_error = evaluate(program, entry)
            entry.update(passed=passed, accuracy=round(passed / len(heldout), 3), failed_calls=errors)
            if first_error:
                entry["first_failed_call"] = first_error
        except Exception as error:  # a method that cannot run is reported, not hidden
            entry["error"] = f"{type(error).__name__}: {error}"[:500]
            traceback.print_exc(file=sys.stderr)
        entry["seconds"] = round(time.time() - started, 1)
        entry["teacher_calls"] = len(teacher.history) - teacher_calls_before
        report["methods"][method] = entry
        save()
        print(f"dspy {arguments.task} {method}: {json.dumps(entry)}", file=sys.stderr, flush=True)
    save()


if __name__ == "__main__":
    main()
