#!/usr/bin/env bash
# End-to-end result of `flowc build` on templated GSM-Hard task families.
#
# For every family of scripts/task_families.txt (`name index seed` per line), writes
# into a temporary folder the family's data (scripts/make_task_family.py: 3 training
# instances, 50 held-out ones) and the same workflow for all of them (the .flow of
# examples/templated_shopping_change: SmolLM2-135M student, local Qwen2.5-Coder-1.5B
# teacher), then
#
#   flowc lock F.flow -o before.lock                            the plan as written
#   flowc eval before.lock --data heldout.jsonl --report before.json
#   flowc build F.flow                                          writes flow.lock, timed
#   flowc eval flow.lock --data heldout.jsonl --report after.json
#
# and prints one row per family (held-out accuracy before/after, build wall time),
# then, last:
#
#   families=<n> before=<mean accuracy> after=<mean accuracy> build_s=<total> build_failed=<k>
#
# A family whose build fails counts as accuracy 0 after (its log is shown on stderr).
#
# Environment:
#   FLOWC             the flowc binary (default: $CARGO_TARGET_DIR/release/flowc, with
#                     CARGO_TARGET_DIR defaulting to $HOME/.cache/flowc/target); this
#                     script does not build it
#   BENCH_FAMILIES    the families file (default scripts/task_families.txt)
#   BENCH_ONLY        space-separated family names to run (default: all)
#   BENCH_HELDOUT     held-out instances per family (default 50)
#   BENCH_NO_CACHE    set to evaluate with --no-cache (no model-call cache)
#   BENCH_KEEP        set to keep the generated folders (their path is printed)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$HOME/.cache/flowc/target}"
flowc="${FLOWC:-$target_dir/release/flowc}"
families_file="${BENCH_FAMILIES:-$repo/scripts/task_families.txt}"
only="${BENCH_ONLY:-}"
heldout="${BENCH_HELDOUT:-50}"
flow_template="$repo/examples/templated_shopping_change/shopping_change.flow"

command -v python3 >/dev/null || { echo "task_families.sh: python3 is required" >&2; exit 2; }
[[ -x "$flowc" ]] || { echo "task_families.sh: no flowc binary at $flowc (cargo build --release, or set FLOWC)" >&2; exit 2; }
[[ -f "$families_file" ]] || { echo "task_families.sh: no families file $families_file" >&2; exit 2; }
[[ -f "$flow_template" ]] || { echo "task_families.sh: no workflow $flow_template" >&2; exit 2; }

eval_flags=()
[[ -n "${BENCH_NO_CACHE:-}" ]] && eval_flags+=(--no-cache)

work="$(mktemp -d "${TMPDIR:-/tmp}/flowc-families.XXXXXX")"
if [[ -n "${BENCH_KEEP:-}" ]]; then
  echo "generated files kept in $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi

# accuracy REPORT: the `accuracy` field of a `flowc eval` report.
accuracy() {
  python3 -c 'import json, sys; print("%.3f" % json.load(open(sys.argv[1]))["accuracy"])' "$1"
}

# now_ns: a monotonic-enough clock for wall times.
now_ns() { date +%s%N; }

rows=()
befores=()
afters=()
build_total=0
teacher_total=0
failed=0
count=0

while read -r name index seed _; do
  [[ -z "$name" || "$name" == \#* ]] && continue
  if [[ -n "$only" && " $only " != *" $name "* ]]; then
    continue
  fi
  dir="$work/$name"
  mkdir -p "$dir"
  echo "==> $name (problem $index, seed $seed)" >&2

  python3 "$repo/scripts/make_task_family.py" --index "$index" --name "$name" --seed "$seed" \
    --train 3 --heldout "$heldout" --out "$dir" >"$dir/generate.log"
  cp "$flow_template" "$dir/$name.flow"
  flow="$dir/$name.flow"
  data="$dir/data/heldout.jsonl"

  "$flowc" lock "$flow" -o "$dir/before.lock" >"$dir/lock.log" 2>&1 ||
    { echo "task_families.sh: flowc lock failed on $flow:" >&2; tail -n 20 "$dir/lock.log" >&2; exit 1; }
  "$flowc" eval "$dir/before.lock" --data "$data" --report "$dir/before.json" ${eval_flags[@]+"${eval_flags[@]}"} \
    >"$dir/eval-before.log" 2>&1 ||
    { echo "task_families.sh: flowc eval failed on $dir/before.lock:" >&2; tail -n 20 "$dir/eval-before.log" >&2; exit 1; }
  before=$(accuracy "$dir/before.json")

  start=$(now_ns)
  set +e
  "$flowc" build "$flow" >"$dir/build.log" 2>&1
  status=$?
  set -e
  build_s=$(awk -v start="$start" -v end="$(now_ns)" 'BEGIN { printf "%.1f", (end - start) / 1e9 }')
  build_total=$(awk -v a="$build_total" -v b="$build_s" 'BEGIN { printf "%.1f", a + b }')

  if [[ $status -eq 0 && -f "$dir/flow.lock" ]]; then
    "$flowc" eval "$dir/flow.lock" --data "$data" --report "$dir/after.json" ${eval_flags[@]+"${eval_flags[@]}"} \
      >"$dir/eval-after.log" 2>&1 ||
      { echo "task_families.sh: flowc eval failed on $dir/flow.lock:" >&2; tail -n 20 "$dir/eval-after.log" >&2; exit 1; }
    after=$(accuracy "$dir/after.json")
    after_shown=$after
    calls=$(awk -F' = ' '$1 == "teacher_calls" { print $2; exit }' "$dir/flow.lock")
    teacher_total=$((teacher_total + ${calls:-0}))
  else
    echo "note: flowc build failed on $name (exit $status); last lines:" >&2
    tail -n 20 "$dir/build.log" >&2
    failed=$((failed + 1))
    after=0
    after_shown="failed"
    calls="-"
  fi

  befores+=("$before")
  afters+=("$after")
  count=$((count + 1))
  rows+=("$(printf '%-18s %6s %8s %8s %10s %8s' "$name" "$index" "$before" "$after_shown" "$build_s" "$calls")")
  echo "    before=$before after=$after_shown build_s=$build_s teacher_calls=$calls" >&2
done <"$families_file"

(( count > 0 )) || { echo "task_families.sh: no family to run" >&2; exit 2; }

printf '%-18s %6s %8s %8s %10s %8s\n' "family" "index" "before" "after" "build_s" "teacher"
printf '%s\n' "${rows[@]}"
mean() { printf '%s\n' "$@" | awk '{ total += $1 } END { printf "%.3f", total / NR }'; }
echo "families=$count before=$(mean "${befores[@]}") after=$(mean "${afters[@]}") build_s=$build_total teacher_calls=$teacher_total build_failed=$failed"
