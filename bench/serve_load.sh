#!/usr/bin/env bash
# flowc serve under load, loopback only, bounded in count and time (oha, installed
# by the set-up, as the HTTP load generator):
#   1. the committed code-only plan (examples/templated_shopping_change/flow.lock, no
#      model call at run time): requests/s and p50/p99 at 1, 16 and 64 connections,
#      beside `flowc run --inputs` over the same inputs (throughput ratio serve/run);
#      the 429 rate at saturation (256 connections against --jobs 2 --queue 8);
#   2. a plan with a student call (SmolLM2-135M in process, greedy, 48 tokens at
#      most, text output so a truncated answer is not a failed run, no call cache):
#      requests/s and p99, and the same plan with the student on llama.cpp's
#      OpenAI-compatible server (llama-cpp-python), so the engines can be compared;
#   3. the server's peak RSS (VmHWM of the serve process; sandbox workers are
#      separate processes).
# Last line:
#   serve_code_rps=… serve_code_p99_ms=… serve_vs_run=… serve_student_rps=… rss_mb=…
# (serve_code_* at 16 connections). Needs the release build with default features.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v oha >/dev/null 2>&1 || { echo "oha is missing: run ./scripts/setup.sh" >&2; exit 2; }
target_dir="${CARGO_TARGET_DIR:-target}"
if [ -z "${FLOWC_BINARY:-}" ]; then
  cargo build --release --quiet
  FLOWC_BINARY="$target_dir/release/flowc"
fi
flowc="$FLOWC_BINARY"
model_dir="${FLOWC_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowc/models}"
student_file="$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$student_file" ] || { echo "missing $student_file: run ./scripts/setup.sh" >&2; exit 2; }
requests_code="${BENCH_CODE_REQUESTS:-4000}"
requests_student="${BENCH_STUDENT_REQUESTS:-12}"
work="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# Starts `flowc serve PLAN ARGS...` on a free port; sets serve_pid and serve_url.
start_serve() {
  local plan="$1"; shift
  local port; port="$(free_port)"
  "$flowc" serve "$plan" --addr "127.0.0.1:$port" --quiet "$@" 2>"$work/serve-$port.log" &
  serve_pid=$!
  pids+=("$serve_pid")
  serve_url="http://127.0.0.1:$port"
  for _ in $(seq 1 1200); do
    if curl -sf "$serve_url/readyz" >/dev/null 2>&1; then return 0; fi
    if ! kill -0 "$serve_pid" 2>/dev/null; then cat "$work/serve-$port.log" >&2; exit 1; fi
    sleep 0.1
  done
  echo "flowc serve did not become ready" >&2; cat "$work/serve-$port.log" >&2; exit 1
}

stop_serve() {
  kill -TERM "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
}

peak_rss_mb() { awk '/VmHWM/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

# oha's JSON summary → "rps p50_ms p99_ms ok_count total 429_count"
load() {
  local url="$1" body="$2" requests="$3" connections="$4"
  timeout 180 oha --no-tui --output-format json -n "$requests" -c "$connections" -m POST \
    -H 'content-type: application/json' -d "$body" "$url" > "$work/oha.json"
  python3 - "$work/oha.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
summary = report["summary"]
percentiles = report.get("latencyPercentiles", {})
statuses = {int(code): count for code, count in report.get("statusCodeDistribution", {}).items()}
total = sum(statuses.values()) + sum(report.get("errorDistribution", {}).values())
print(f'{summary["requestsPerSec"]:.1f} {percentiles.get("p50", 0) * 1000:.2f} {percentiles.get("p99", 0) * 1000:.2f} {statuses.get(200, 0)} {total} {statuses.get(429, 0)}')
PY
}

echo "== code-only plan: examples/templated_shopping_change/flow.lock (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
plan="examples/templated_shopping_change/flow.lock"
body="$(head -1 examples/templated_shopping_change/data/sample_questions.jsonl)"
start_serve "$plan" --queue 256
declare -A code_rps code_p99
for connections in 1 16 64; do
  read -r rps p50 p99 ok total rejected < <(load "$serve_url/v1/workflows/solve:run" "$body" "$requests_code" "$connections")
  code_rps[$connections]="$rps"; code_p99[$connections]="$p99"
  echo "serve  connections=$connections requests=$total ok=$ok rps=$rps p50_ms=$p50 p99_ms=$p99"
  [ "$ok" = "$total" ] || echo "  note: $((total - ok)) of $total requests were not answered 200"
done
code_rss="$(peak_rss_mb "$serve_pid")"
stop_serve

# `flowc run --inputs` over the same input, as many times, in one process.
for _ in $(seq 1 "$requests_code"); do echo "$body"; done > "$work/inputs.jsonl"
started=$(date +%s.%N)
"$flowc" run "$plan" --inputs "$work/inputs.jsonl" -o "$work/run-out.jsonl"
finished=$(date +%s.%N)
run_rps=$(python3 -c "print(f'{$requests_code / ($finished - $started):.1f}')")
echo "run    inputs=$requests_code wall_s=$(python3 -c "print(f'{$finished - $started:.2f}')") rps=$run_rps (start-up included)"
serve_vs_run=$(python3 -c "print(f'{${code_rps[16]} / $run_rps:.2f}')")
echo "serve/run throughput ratio (16 connections): $serve_vs_run"

echo "== saturation: 256 connections against --jobs 2 --queue 8"
start_serve "$plan" --jobs 2 --queue 8
read -r rps p50 p99 ok total rejected < <(load "$serve_url/v1/workflows/solve:run" "$body" "$requests_code" 256)
rate_429=$(python3 -c "print(f'{100 * $rejected / max($total, 1):.1f}')")
lost=$((total - ok - rejected))
echo "saturated requests=$total ok=$ok 429=$rejected (${rate_429}%) other=$lost rps=$rps p99_ms=$p99"
stop_serve

echo "== student plan: one llm node, SmolLM2-135M, greedy, --no-cache"
mkdir -p "$work/student"
write_student_flow() {
  cat > "$work/student/$1.flow" <<FLOW
$2

workflow extract(question: text) -> (numbers: text) {
  node read = llm(student) {
    system = "You copy every number of a math word problem, in the order they appear."
    prompt = "Problem: {question}\nThe numbers, separated by commas:"
    output = text
  }
  numbers = read
}
FLOW
  "$flowc" lock "$work/student/$1.flow" -o "$work/student/$1.lock" >/dev/null
}
write_student_flow in_process "model student = gguf(\"$student_file\") {
  temperature = 0
  seed = 0
  max_tokens = 48
}"
start_serve "$work/student/in_process.lock" --no-cache --jobs 2 --timeout 300
read -r student_rps p50 student_p99 ok total rejected < <(load "$serve_url/v1/workflows/extract:run" "$body" "$requests_student" 2)
echo "in-process  requests=$total ok=$ok rps=$student_rps p50_ms=$p50 p99_ms=$student_p99"
student_rss="$(peak_rss_mb "$serve_pid")"
stop_serve

llama_port="$(free_port)"
python3 -m llama_cpp.server --model "$student_file" --host 127.0.0.1 --port "$llama_port" --n_ctx 2048 --n_threads "$(nproc)" >"$work/llama.log" 2>&1 &
pids+=("$!")
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$llama_port/v1/models" >/dev/null 2>&1 && break; sleep 0.2; done
write_student_flow llama_cpp 'model student = openai("SmolLM2-135M-Instruct") {
  base_url = env("BENCH_STUDENT_URL")
  temperature = 0
  seed = 0
  max_tokens = 48
}'
export BENCH_STUDENT_URL="http://127.0.0.1:$llama_port/v1"
start_serve "$work/student/llama_cpp.lock" --no-cache --jobs 2 --timeout 300
read -r llama_rps p50 llama_p99 ok total rejected < <(load "$serve_url/v1/workflows/extract:run" "$body" "$requests_student" 2)
echo "llama.cpp   requests=$total ok=$ok rps=$llama_rps p50_ms=$p50 p99_ms=$llama_p99"
stop_serve
echo "engines: in-process/llama.cpp requests/s ratio $(python3 -c "print(f'{$student_rps / max($llama_rps, 1e-9):.2f}')")"

rss_mb=$(python3 -c "print(max($code_rss, $student_rss))")
echo "peak RSS of the serve process: code-only ${code_rss} MB, in-process student ${student_rss} MB"
echo "serve_code_rps=${code_rps[16]} serve_code_p99_ms=${code_p99[16]} serve_vs_run=$serve_vs_run serve_student_rps=$student_rps rss_mb=$rss_mb"
