#!/usr/bin/env bash
# Makes (once) the virtual environment the DSPy peer runs in, and prints its python.
#
#   bench/peers/dspy_venv.sh            -> prints e.g. /root/.cache/flowc/dspy-venv/bin/python
#
# Idempotent: an environment that already imports dspy 3.4.1 and optuna is reused as
# is. DSPy is pinned so the peer's figures can be compared from one run to the next.
# Environment: DSPY_VENV (default $HOME/.cache/flowc/dspy-venv), PYTHON (default python3).
set -euo pipefail
venv="${DSPY_VENV:-$HOME/.cache/flowc/dspy-venv}"
python="${PYTHON:-python3}"
pinned="3.4.1"
if [[ -x "$venv/bin/python" ]] &&
  "$venv/bin/python" -c "import dspy, optuna, sys; sys.exit(0 if dspy.__version__ == '$pinned' else 1)" >/dev/null 2>&1; then
  echo "$venv/bin/python"
  exit 0
fi
echo "dspy_venv.sh: making $venv (dspy[optuna]==$pinned)" >&2
"$python" -m venv "$venv" >&2
"$venv/bin/python" -m pip install --quiet --upgrade pip >&2
"$venv/bin/python" -m pip install --quiet "dspy[optuna]==$pinned" >&2
"$venv/bin/python" -c "import dspy, optuna; assert dspy.__version__ == '$pinned', dspy.__version__" >&2
echo "$venv/bin/python"
