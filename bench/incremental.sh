#!/usr/bin/env bash
# How incremental `flowc build` is: wall time and model calls of a full build, a
# no-op rebuild and a rebuild after a one-node edit.
#
# Runs benches/incremental_build.rs (release profile): it generates a 200-node
# workflow (a ladder of llm(student) and code nodes from `x` to `answer`, 3 training
# examples) in a temporary folder and builds it through the library with rule-based
# test-double models (no network, no model files; calls counted below the call
# cache), then rebuilds it unchanged, then with one llm node's prompt reworded. It
# prints one line per build, then, last:
#
#   nodes=200 full_s=<..> full_calls=<..> noop_s=<..> noop_calls=<..> edit_s=<..> edit_calls=<..>
#
# `cargo bench` builds the release flowc first (the sandbox's worker binary) in the
# shared target folder, so nothing is compiled twice.
#
# Environment:
#   CARGO_TARGET_DIR      default $HOME/.cache/flowc/target (the folder the other
#                         scripts use, which holds the release build)
#   FLOWC_SANDBOX_WORKER  another worker binary (default: the flowc cargo builds)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/flowc/target}"
cargo bench --quiet --bench incremental_build
