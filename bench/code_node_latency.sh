#!/usr/bin/env bash
# Benchmark the latency of one code-node call through flowc's sandbox.
#
# Builds flowc in release mode, then runs benches/code_node_latency.rs: 1,000
# sequential calls of a small `run(numbers)` through a one-worker sandbox (the release
# flowc binary as the worker), after 100 warm-up calls; it prints p50/p95/p99 in
# microseconds, the in-process interpreter's time for comparison, and last:
#
#   code_node_p50_us=<..> code_node_p95_us=<..>
#
# The target is a median under 1,000 us.
#
# Environment:
#   FLOWC_SANDBOX_WORKER  another worker binary (default: the flowc cargo builds)
#   CARGO_TARGET_DIR      honoured, as cargo does
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

cargo build --release --quiet >&2
cargo bench --quiet --bench code_node_latency
