#!/usr/bin/env bash
# Set up flowc on a fresh machine, then run its main job.
#
# Installs what the project needs (a release build of flowc, the two real GGUF models
# verified by sha256, llama.cpp's OpenAI-compatible server for the HTTP tests and the
# local teacher), checks the examples, checks that the committed compiled plans are up
# to date (`flowc build --locked`: a no-op build, no model call), and runs them on
# three problems each with the local SmolLM2 student alone (no teacher). Idempotent: quick when everything is already there. Honours
# CARGO_TARGET_DIR, so CI can keep one build folder across clones.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in cargo python3; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "error: $tool is not installed; install it first (Rust via rustup, Python 3.9+)" >&2
    exit 1
  fi
done

target_dir="${CARGO_TARGET_DIR:-target}"
flowc="$target_dir/release/flowc"

echo "==> models (SmolLM2-135M student, Qwen2.5-Coder-1.5B teacher)"
python3 scripts/fetch_models.py

echo "==> llama.cpp server (the local teacher's engine, and the HTTP tests)"
if python3 -c "import llama_cpp.server" >/dev/null 2>&1; then
  echo "ok    llama-cpp-python is installed"
else
  # Builds llama.cpp from source (a few minutes on 2 cores).
  python3 -m pip install --quiet 'llama-cpp-python[server]==0.3.36'
fi

# --- nginx: the real HTTP remote-cache server (Bazel's protocol: GET/PUT through
# WebDAV) that tests/remote_cache.rs starts on a loopback port with its own config.
echo "==> nginx with WebDAV PUT (the shared-cache tests' server)"
nginx_binary="$(command -v nginx || echo /usr/sbin/nginx)"
if [ -x "$nginx_binary" ] && "$nginx_binary" -V 2>&1 | grep -q http_dav_module; then
  echo "ok    nginx is installed ($nginx_binary)"
elif command -v apt-get >/dev/null 2>&1; then
  sudo_if_needed=""
  [ "$(id -u)" -ne 0 ] && sudo_if_needed="sudo"
  $sudo_if_needed apt-get update -qq
  # -light is enough (it has the dav module); the test never uses the system service.
  DEBIAN_FRONTEND=noninteractive $sudo_if_needed apt-get install -y -qq nginx-light
else
  echo "warning: nginx is not installed and apt-get is missing: tests/remote_cache.rs will fail until nginx (with http_dav_module) is on PATH" >&2
fi

echo "==> building flowc (release)"
cargo build --release --locked

echo "==> checking the examples"
"$flowc" check examples/
"$flowc" fmt --check examples/ stdlib/

echo "==> the compiled plans are up to date (no-op builds: no model call)"
"$flowc" build --locked examples/templated_shopping_change/shopping_change.flow
"$flowc" build --locked examples/gsm_hard/gsm_hard.flow

echo "==> running the compiled plans with the student alone, three problems each"
"$flowc" run examples/templated_shopping_change/flow.lock --inputs examples/templated_shopping_change/data/sample_questions.jsonl
"$flowc" run examples/gsm_hard/flow.lock --inputs examples/gsm_hard/data/sample_questions.jsonl
echo "==> flowc is ready: $flowc"
