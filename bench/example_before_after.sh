#!/usr/bin/env bash
# Held-out accuracy of one example before and after `flowc build`.
#
#   bench/example_before_after.sh examples/gsm_hard/gsm_hard.flow examples/gsm_hard/data/heldout.jsonl
#
# Locks the workflow as written (into a temporary folder), evaluates it on the
# held-out data, builds the example in place (writes its flow.lock next to the
# .flow file, reusing what the existing lock allows), evaluates the compiled plan,
# and prints a last line of figures:
#
#   example=<name> heldout=<n> before=<accuracy> after=<accuracy> build_s=<s> teacher_calls=<n>
set -euo pipefail

[[ $# -eq 2 ]] || { echo "usage: $0 FLOW HELDOUT.jsonl" >&2; exit 2; }
flow="$1"
heldout="$2"
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/flowc/target}"
flowc="${FLOWC:-$target_dir/release/flowc}"
[[ -x "$flowc" ]] || { echo "no flowc binary at $flowc (cargo build --release, or set FLOWC)" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/flowc-example.XXXXXX")"
trap 'rm -rf "$work"' EXIT
accuracy() { python3 -c 'import json, sys; print("%.3f" % json.load(open(sys.argv[1]))["accuracy"])' "$1"; }

"$flowc" lock "$flow" -o "$work/before.lock" >&2
# The as-written plan lives in the temporary folder: point it at the source.
"$flowc" eval "$work/before.lock" --data "$heldout" --report "$work/before.json" --show-failures 0 >&2 || true
before=$(accuracy "$work/before.json")

start=$(date +%s%N)
"$flowc" build "$flow" >&2
build_s=$(awk -v start="$start" -v end="$(date +%s%N)" 'BEGIN { printf "%.1f", (end - start) / 1e9 }')
lock="$(dirname "$flow")/flow.lock"
"$flowc" eval "$lock" --data "$heldout" --report "$work/after.json" --show-failures 0 >&2
after=$(accuracy "$work/after.json")
calls=$(awk -F' = ' '$1 == "teacher_calls" { print $2; exit }' "$lock")
count=$(grep -c . "$heldout")
echo "example=$(basename "$flow" .flow) heldout=$count before=$before after=$after build_s=$build_s teacher_calls=${calls:-0}"
