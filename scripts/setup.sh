#!/usr/bin/env bash
# Set up flowc on a fresh machine and run its main job.
#
# Idempotent: quick when everything is already there. Honours CARGO_TARGET_DIR, so
# CI can keep one build folder across clones.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo >/dev/null 2>&1; then
  echo "error: cargo is not installed; install Rust from your distribution or rustup first" >&2
  exit 1
fi

target_dir="${CARGO_TARGET_DIR:-target}"

echo "==> building flowc (release)"
cargo build --release --locked

echo "==> checking the examples"
"$target_dir/release/flowc" check examples/
"$target_dir/release/flowc" fmt --check examples/ stdlib/
echo "==> flowc is ready: $target_dir/release/flowc"
