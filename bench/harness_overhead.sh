#!/usr/bin/env bash
# flowc's harness overhead: plan runs against the bare backend calls they make, same
# prompts, real SmolLM2 in process. Last line: harness_overhead_percent=<..> (≤ 2).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
FLOWC_BINARY="${CARGO_TARGET_DIR:-target}/release/flowc" cargo bench --quiet --features in-process-models --bench harness_overhead 2>/dev/null
