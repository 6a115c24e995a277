# Shared by bench/paraphrased_families.sh and bench/language_tasks.sh (sourced, not run):
# running flowc on one task as written and compiled, and running the DSPy peer on it.
#
# A task folder holds TASK.flow and data/{train,heldout}.jsonl. Functions set globals
# (bash has no tuples): see each one. Every step is bounded by `timeout`.

# accuracy REPORT: the `accuracy` field of a `flowc eval` report.
accuracy() {
  python3 -c 'import json, sys; print("%.3f" % json.load(open(sys.argv[1]))["accuracy"])' "$1"
}

# now_ns: wall clock in nanoseconds.
now_ns() { date +%s%N; }

# mean VALUE...: the mean of the numeric values given, "-" when there are none.
mean() {
  (( $# > 0 )) || { echo "-"; return; }
  printf '%s\n' "$@" | awk '{ total += $1 } END { printf "%.3f", total / NR }'
}

# load_now: the 1-minute load average (the machine is shared; figures are noisy).
load_now() { awk '{ print $1 }' /proc/loadavg; }

# flowc_task DIR NAME: lock, build (timed), eval compiled, eval as written. Sets
#   task_as_written task_compiled task_build_s task_teacher_calls task_status
# task_compiled is 0 when the build fails or times out (task_status says which);
# task_as_written is "-" with BENCH_SKIP_AS_WRITTEN set (a time-boxed run: the plan as
# written is then not evaluated, and the means leave it out).
flowc_task() {
  local dir="$1" name="$2"
  local flow="$dir/$name.flow" data="$dir/data/heldout.jsonl"
  task_as_written=0 task_compiled=0 task_build_s=0 task_teacher_calls=0 task_status=ok
  echo "    load $(load_now) before $name" >&2
  if ! timeout "$eval_timeout" "$flowc" lock "$flow" -o "$dir/as_written.lock" >"$dir/lock.log" 2>&1; then
    echo "error: flowc lock failed on $flow:" >&2; tail -n 20 "$dir/lock.log" >&2; exit 1
  fi
  local start status
  start=$(now_ns)
  set +e
  timeout "$build_timeout" "$flowc" build "$flow" >"$dir/build.log" 2>&1
  status=$?
  set -e
  task_build_s=$(awk -v start="$start" -v end="$(now_ns)" 'BEGIN { printf "%.1f", (end - start) / 1e9 }')
  if [[ $status -eq 0 && -f "$dir/flow.lock" ]]; then
    task_teacher_calls=$(awk -F' = ' '$1 == "teacher_calls" { total += $2 } END { print total + 0 }' "$dir/flow.lock")
    "$flowc" explain-plan "$dir/flow.lock" >"$dir/explain-plan.txt" 2>&1 || true
    if timeout "$eval_timeout" "$flowc" eval "$dir/flow.lock" --data "$data" --report "$dir/compiled.json" \
        ${eval_flags[@]+"${eval_flags[@]}"} >"$dir/eval-compiled.log" 2>&1; then
      task_compiled=$(accuracy "$dir/compiled.json")
    else
      echo "note: flowc eval of the compiled plan failed or timed out on $name; counted 0" >&2
      tail -n 5 "$dir/eval-compiled.log" >&2
      task_status=eval_failed
    fi
  else
    [[ $status -eq 124 ]] && task_status=build_timeout || task_status=build_failed
    echo "note: flowc build of $name: $task_status (exit $status); counted 0; last lines:" >&2
    tail -n 15 "$dir/build.log" >&2
    task_teacher_calls=$(grep -o 'teacher calls[^0-9]*[0-9]*' "$dir/build.log" | tail -n 1 | grep -o '[0-9]*$' || echo 0)
  fi
  # The plan as written last: on a busy machine its student calls are the slowest part,
  # and the build's figure is the one the benchmark is for.
  if [[ -n "${BENCH_SKIP_AS_WRITTEN:-}" ]]; then
    task_as_written="-"
  elif timeout "$eval_timeout" "$flowc" eval "$dir/as_written.lock" --data "$data" --report "$dir/as_written.json" \
      ${eval_flags[@]+"${eval_flags[@]}"} >"$dir/eval-as-written.log" 2>&1; then
    task_as_written=$(accuracy "$dir/as_written.json")
  else
    echo "note: flowc eval of the plan as written failed or timed out on $name; counted 0" >&2
    tail -n 5 "$dir/eval-as-written.log" >&2
    task_status=eval_failed
  fi
}

# --- the DSPy peer ---------------------------------------------------------------

peer_pids=()

# wait_for_server PORT SECONDS: until the server answers /v1/models.
wait_for_server() {
  local port="$1" limit="$2" waited=0
  until python3 -c 'import sys, urllib.request; urllib.request.urlopen("http://127.0.0.1:%s/v1/models" % sys.argv[1], timeout=2)' "$port" 2>/dev/null; do
    sleep 1
    waited=$((waited + 1))
    (( waited < limit )) || return 1
  done
}

# free_port: a free loopback port.
free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_peer_servers: the student and the teacher behind llama.cpp servers (once).
# Sets student_url teacher_url.
start_peer_servers() {
  [[ -n "${student_url:-}" ]] && return 0
  local python="${FLOWC_PYTHON:-python3}" models="${FLOWC_MODEL_DIR:-$HOME/.cache/flowc/models}"
  local student_port teacher_port
  student_port=$(free_port)
  teacher_port=$(free_port)
  # n_ctx 1024 caps the student's generation on the server side too (it rambles past
  # max_tokens otherwise: ../shared notes on running DSPy here); few-shot prompts of the
  # language tasks need more, hence BENCH_PEER_STUDENT_CTX.
  "$python" -m llama_cpp.server --model "$models/SmolLM2-135M-Instruct.Q4_1.gguf" --port "$student_port" \
    --n_ctx "${BENCH_PEER_STUDENT_CTX:-1024}" --n_threads 2 >"$work/student-server.log" 2>&1 &
  peer_pids+=($!)
  "$python" -m llama_cpp.server --model "$models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf" --port "$teacher_port" \
    --n_ctx 4096 --n_threads 2 >"$work/teacher-server.log" 2>&1 &
  peer_pids+=($!)
  wait_for_server "$student_port" 120 || { echo "error: the student server did not start:" >&2; tail -n 20 "$work/student-server.log" >&2; exit 1; }
  wait_for_server "$teacher_port" 180 || { echo "error: the teacher server did not start:" >&2; tail -n 20 "$work/teacher-server.log" >&2; exit 1; }
  student_url="http://127.0.0.1:$student_port/v1"
  teacher_url="http://127.0.0.1:$teacher_port/v1"
}

stop_peer_servers() {
  local pid
  for pid in ${peer_pids[@]+"${peer_pids[@]}"}; do
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  peer_pids=()
  student_url=""
}

# peer_task DIR KIND: DSPy on the task's data. Sets peer_best (best held-out accuracy
# of the methods that ran, "-" if none did) and peer_best_method.
peer_task() {
  local dir="$1" kind="$2" venv_python
  peer_best="-" peer_best_method="-"
  venv_python=$("$repo/bench/peers/dspy_venv.sh") || { echo "note: no DSPy environment; peer skipped" >&2; return 0; }
  start_peer_servers
  echo "    load $(load_now) before the DSPy peer on $(basename "$dir")" >&2
  # BENCH_PEER_HELDOUT: the peer on the first N held-out examples only (time-boxed
  # runs on a busy machine; its rows then say so).
  local peer_heldout="$dir/data/heldout.jsonl"
  if [[ -n "${BENCH_PEER_HELDOUT:-}" ]]; then
    peer_heldout="$dir/data/peer_heldout.jsonl"
    head -n "$BENCH_PEER_HELDOUT" "$dir/data/heldout.jsonl" >"$peer_heldout"
  fi
  set +e
  timeout "$peer_timeout" "$venv_python" "$repo/bench/peers/dspy_peer.py" --task "$kind" \
    --train "$dir/data/train.jsonl" --heldout "$peer_heldout" \
    --student-url "$student_url" --teacher-url "$teacher_url" \
    --methods "$peer_methods" --report "$dir/dspy.json" >"$dir/dspy.log" 2>&1
  local status=$?
  set -e
  [[ $status -eq 0 ]] || echo "note: the DSPy peer on $(basename "$dir") exited $status (124: timed out after ${peer_timeout}s); methods that finished count" >&2
  if [[ -f "$dir/dspy.json" ]]; then
    read -r peer_best peer_best_method < <(python3 - "$dir/dspy.json" <<'PY'
import json, sys
methods = json.load(open(sys.argv[1]))["methods"]
scored = [(entry["accuracy"], name) for name, entry in methods.items() if "accuracy" in entry]
print("%.3f %s" % max(scored) if scored else "- -")
PY
)
    python3 -c 'import json, sys
for name, entry in json.load(open(sys.argv[1]))["methods"].items():
    shown = entry.get("accuracy", entry.get("error", "?"))
    if "partial" in entry:
        shown = "cut short after %(evaluated)d examples: %(passed)d passed, %(failed_calls)d failed calls" % entry["partial"]
    print("      dspy %-10s %s" % (name, shown), file=sys.stderr)' "$dir/dspy.json"
  fi
}
