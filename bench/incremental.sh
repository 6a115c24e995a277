#!/usr/bin/env bash
# How incremental `flowc build` is: wall time and model calls of a full build, a
# no-op rebuild and a rebuild after a one-node edit.
#
# Runs benches/incremental_build.rs (release profile): it generates a 200-node
# workflow (a ladder of llm(student) and code nodes from `x` to `answer`, 3 training
# examples) in a temporary folder and builds it through the library with rule-based
# test-double models (no network, no model files; calls counted below the call
# cache), then rebuilds it unchanged, then with one llm node's prompt reworded.
#
# Then the no-op with the real GGUF files: `flowc build --locked` (the release
# binary) on every committed example that has a lock, whose models are the real
# SmolLM2 student and Qwen2.5-Coder teacher in ~/.cache/flowc/models (fetched by
# scripts/setup.sh). One first run (it may hash the model files, ~1.1 GB, if the
# digest cache does not know them yet), then the median of 5 runs. It prints one
# line per build and example, then, last (the bench's line, with the real figure
# beside the test-double one):
#
#   nodes=200 full_s=<..> full_calls=<..> noop_s=<..> noop_calls=<..> edit_s=<..> edit_calls=<..> real_noop_ms=<slowest example's median>
#
# `cargo bench` builds the release flowc first (the sandbox's worker binary) in the
# shared target folder, so nothing is compiled twice.
#
# Environment:
#   CARGO_TARGET_DIR      default $HOME/.cache/flowc/target (the folder the other
#                         scripts use, which holds the release build)
#   FLOWC_SANDBOX_WORKER  another worker binary (default: the flowc cargo builds)
#   BENCH_CARGO_FLAGS     extra cargo flags, e.g. --no-default-features (a no-op
#                         build loads no model, so the in-process engine is not needed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowc/target}"
# shellcheck disable=SC2086 # the flags are words
bench_output="$(cargo bench --quiet ${BENCH_CARGO_FLAGS:-} --bench incremental_build)"
printf '%s\n' "$bench_output" | sed '$d'
last_line="$(printf '%s\n' "$bench_output" | tail -n 1)"

flowc="$CARGO_TARGET_DIR/release/flowc"
milliseconds() { # the wall time of one command, in ms
  local started ended
  started=$(date +%s%N)
  "$@" >/dev/null 2>&1 || { echo "error: $* failed; is the example's lock up to date and are the models fetched (./scripts/setup.sh)?" >&2; exit 1; }
  ended=$(date +%s%N)
  echo $(( (ended - started) / 1000000 ))
}
slowest=0
for lock in examples/*/flow.lock; do
  example="$(dirname "$lock")"
  source_file="$(ls "$example"/*.flow | head -n 1)"
  first=$(milliseconds "$flowc" build --locked "$source_file")
  runs=()
  for _ in 1 2 3 4 5; do runs+=("$(milliseconds "$flowc" build --locked "$source_file")"); done
  median=$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 3p)
  echo "real models: $example flowc build --locked: median ${median} ms of 5 (first run ${first} ms)"
  (( median > slowest )) && slowest=$median
done
echo "$last_line real_noop_ms=$slowest"
