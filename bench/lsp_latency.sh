#!/usr/bin/env bash
# Benchmark `flowc lsp`: edit → diagnostics, hover and completion latencies and the
# server's peak memory, on a generated 1,000-node file and on the 10,000-node file of
# bench/check_large.sh (the same generator, read out of that script).
#
# Builds flowc and benches/lsp_latency.rs in release mode, then runs the bench binary,
# which drives the real `flowc lsp` over stdio (50 one-character edits, 50 hovers, 50
# completions per file; median and p95). Prints a line per file and, last:
#   lsp_edit_1k_ms=<median> lsp_edit_10k_ms=<median> hover_ms=<median> completion_ms=<median> rss_mb=<peak, 10k>
# Targets (issue 9): ≤ 30 ms at 1k, ≤ 150 ms at 10k, hover/completion ≤ 10 ms, RSS ≤ 300 MB.
#
# Environment: CARGO_TARGET_DIR honoured; BENCH_KEEP keeps the generated files;
# BENCH_CARGO_FLAGS is added to the cargo commands (`--no-default-features` builds
# without the in-process model engine, which the server does not use).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v python3 >/dev/null || { echo "lsp_latency.sh: python3 is required" >&2; exit 2; }

work="$(mktemp -d "${TMPDIR:-/tmp}/flowc-lsp-bench.XXXXXX")"
if [[ -n "${BENCH_KEEP:-}" ]]; then
  echo "generated files kept in $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi

# The generator of bench/check_large.sh: the Python program of its `generate` function.
sed -n "/^  python3 - \"\$1\" \"\$2\" <<'PY'\$/,/^PY\$/p" "$repo/bench/check_large.sh" | sed '1d;$d' >"$work/generate.py"
[[ -s "$work/generate.py" ]] || { echo "lsp_latency.sh: could not read the generator out of bench/check_large.sh" >&2; exit 2; }
python3 "$work/generate.py" 1000 "$work/big_1000.flow"
python3 "$work/generate.py" 10000 "$work/big_10000.flow"

# shellcheck disable=SC2086 # the flags are words
(cd "$repo" && cargo build --release --quiet ${BENCH_CARGO_FLAGS:-} --bin flowc && cargo bench --quiet ${BENCH_CARGO_FLAGS:-} --bench lsp_latency --no-run) >&2
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
flowc="$target_dir/release/flowc"
bench_binary="$(ls -t "$target_dir"/release/deps/lsp_latency-* 2>/dev/null | grep -v '\.d$' | head -n 1)"
[[ -x "$flowc" && -x "$bench_binary" ]] || { echo "lsp_latency.sh: no binaries under $target_dir/release" >&2; exit 2; }

echo "measured on $(nproc) CPU(s); other work on the machine makes these figures noisy" >&2
"$bench_binary" "$flowc" "$work/big_1000.flow" "$work/big_10000.flow"
