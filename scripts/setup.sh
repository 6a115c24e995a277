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

# flowc serve's tests and benchmark: a real browser for the plan page
# (tests/serve_plan_page_browser.rs), a real load balancer in front of replicas
# (tests/serve_load_balancer.rs), and an HTTP load generator (bench/serve_load.sh).
echo "==> chromium, chromium-driver and haproxy (flowc serve's tests)"
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 && [ -x /usr/sbin/haproxy ]; then
  echo "ok    chromium, chromedriver and haproxy are installed"
elif command -v apt-get >/dev/null 2>&1; then
  sudo_prefix=""
  if [ "$(id -u)" != 0 ]; then sudo_prefix="sudo"; fi
  $sudo_prefix apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_prefix apt-get install -y -qq chromium chromium-driver haproxy >/dev/null
else
  echo "error: install chromium, chromium-driver and haproxy (Debian packages) for flowc serve's tests" >&2
  exit 1
fi
echo "==> oha (the HTTP load generator of bench/serve_load.sh)"
if command -v oha >/dev/null 2>&1; then
  echo "ok    oha is installed"
else
  # Compiles for a few minutes on 2 cores.
  cargo install oha --locked --quiet
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
