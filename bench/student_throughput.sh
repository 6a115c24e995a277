#!/usr/bin/env bash
# The student (SmolLM2-135M, GGUF) in process (mistralrs, through flowc's backend)
# beside llama.cpp's server (llama-cpp-python's, installed by the set-up, driven over
# HTTP on loopback) on the same GGUF file, the same threads and the same prompts, in
# one run:
#   1. one request at a time: prompt and generation tokens/s (greedy);
#   2. batch scaling: 16 requests (the support-triage extraction prompt over 16
#      messages of bench/data/support_triage_eval.jsonl, 32 tokens at most) with 1, 2,
#      4 and 8 in flight, calls/s at each. llama-cpp-python's server has one slot
#      (it has no n_parallel setting): concurrent requests queue there;
#   3. eval throughput: `flowc eval` of examples/support_triage over the 52 messages of
#      bench/data/support_triage_eval.jsonl (5 consensus samples + 1 extraction per
#      message, --jobs 8, no call cache), student calls per second, in process and
#      with `engine = "llama.cpp"` for the student.
# Last line:
#   prompt_ratio=<in process / llama.cpp> gen_ratio=<..> eval_calls_per_s=<in process>
#   eval_ratio=<in process / llama.cpp> batch8_speedup=<in process, 8 in flight / 1>
# The machine's load (uptime) is printed beside the figures: other sessions' builds
# take the same cores.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
threads="${BENCH_THREADS:-$(nproc)}"
jobs="${BENCH_JOBS:-8}"
model_dir="${FLOWC_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowc/models}"
model="$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$model" ] || { echo "missing $model: run ./scripts/setup.sh" >&2; exit 2; }
python3 -c "import llama_cpp.server" 2>/dev/null || { echo "llama-cpp-python's server is missing: run ./scripts/setup.sh" >&2; exit 2; }
scratch=$(mktemp -d /tmp/flowc-student-throughput.XXXXXX)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
echo "load before: $(uptime)"

# The batch-scaling requests, shared by both sides. Each concurrency's list has its own
# system line first, so it starts with a cold prefix cache on both sides.
requests="$scratch/requests.jsonl"
python3 - "$root/bench/data/support_triage_eval.jsonl" "$requests" <<'PY'
import json, sys
messages = [json.loads(line)["message"] for line in open(sys.argv[1]) if line.strip()][:16]
with open(sys.argv[2], "w") as out:
    for concurrency in (1, 2, 4, 8):
        for message in messages:
            out.write(json.dumps({
                "concurrency": concurrency,
                "system": f"Batch {concurrency}. You copy facts out of customer messages. You never guess.",
                "user": f"Message: {message}\n\nReply with JSON only: {{\"order_id\": the order number as written (such as \"A-1043\"), or \"\" if there is none, \"urgent\": true if the customer needs help today, else false}}",
                "max_tokens": 32,
            }) + "\n")
PY

echo "== in process (mistralrs), RAYON_NUM_THREADS=$threads"
# Built with the release profile (as the tests and flowc are), not `cargo bench`'s own
# profile, which would compile every dependency a second time.
bench_binary=$(cargo build --quiet --release --features in-process-models --bench student_throughput --message-format=json \
  | python3 -c 'import json, sys
for line in sys.stdin:
    message = json.loads(line)
    if message.get("reason") == "compiler-artifact" and message["target"]["name"] == "student_throughput" and message.get("executable"):
        print(message["executable"])')
ours=$(FLOWC_BENCH_REQUESTS="$requests" RAYON_NUM_THREADS="$threads" "$bench_binary" | tee >(cat >&2) | tail -1)
echo "load: $(uptime)"

echo "== llama.cpp's server (llama-cpp-python), n_threads=$threads, one slot"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
python3 -m llama_cpp.server --model "$model" --host 127.0.0.1 --port "$port" --n_ctx 4096 \
  --n_threads "$threads" --n_threads_batch "$threads" >"$scratch/server.log" 2>&1 &
server_pid=$!
theirs=$(python3 - "$port" "$requests" <<'PY'
import json, sys, time, urllib.request
from concurrent.futures import ThreadPoolExecutor
port, requests_path = sys.argv[1], sys.argv[2]
base = f"http://127.0.0.1:{port}/v1"
deadline = time.time() + 120
while True:
    try:
        urllib.request.urlopen(base + "/models", timeout=2).read()
        break
    except Exception:
        if time.time() > deadline:
            sys.exit("the llama.cpp server did not start")
        time.sleep(0.25)
def chat(system, user, max_tokens):
    body = json.dumps({"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
                       "max_tokens": max_tokens, "temperature": 0.0, "seed": 0}).encode()
    request = urllib.request.Request(base + "/chat/completions", data=body, headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=600).read())
problem = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
           "for her friends every day with 4933828. She sells the remainder at the farmers' market daily for "
           "$2 per fresh duck egg. ")
long_prompt = problem * 12 + "How much does she make?"
chat("Warm-up.", "Hello", 4)
prompt_rates, generation_rates = [], []
for run in range(3):
    started = time.perf_counter()
    result = chat(f"Run {run}.", long_prompt, 1)
    seconds = time.perf_counter() - started
    prompt_rates.append(result["usage"]["prompt_tokens"] / seconds)
    print(f"llama.cpp prompt: {result['usage']['prompt_tokens']} tokens in {seconds:.3f} s", file=sys.stderr)
for run in range(3):
    # The prompt alone, then the prompt and 128 tokens: the difference is generation.
    # Different tags each time, so the second does not reuse the first's prompt.
    started = time.perf_counter()
    chat(f"Story {run}a.", "Write a long story about a duck farm.", 1)
    prompt_only = time.perf_counter() - started
    started = time.perf_counter()
    result = chat(f"Story {run}b.", "Write a long story about a duck farm.", 128)
    total = time.perf_counter() - started
    tokens = result["usage"]["completion_tokens"]
    generation_rates.append((tokens - 1) / max(total - prompt_only, 1e-9))
    print(f"llama.cpp generation: {tokens} tokens in {total - prompt_only:.3f} s", file=sys.stderr)
lists = {}
for line in open(requests_path):
    if line.strip():
        item = json.loads(line)
        lists.setdefault(item["concurrency"], []).append(item)
batch = []
for concurrency, items in sorted(lists.items()):
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(lambda item: chat(item["system"], item["user"], item["max_tokens"]), items))
    seconds = time.perf_counter() - started
    print(f"llama.cpp batch: {len(items)} calls, {concurrency} in flight: {seconds:.3f} s, {len(items) / seconds:.2f} calls/s", file=sys.stderr)
    batch.append(f"llamacpp_calls_per_s_{concurrency}={len(items) / seconds:.3f}")
prompt_rates.sort(); generation_rates.sort()
print(f"llamacpp_prompt_tok_s={prompt_rates[1]:.1f} llamacpp_generation_tok_s={generation_rates[1]:.1f} " + " ".join(batch))
PY
)
kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; server_pid=""
echo "$theirs"
echo "load: $(uptime)"

# Eval throughput: the support-triage plan over 52 messages, in process, then with the
# student on llama.cpp's server (the same flow with `engine = "llama.cpp"`).
cargo build --quiet --release --features in-process-models --bin flowc
flowc="${CARGO_TARGET_DIR:-$root/target}/release/flowc"
eval_rate() { # $1: folder with support_triage.flow; prints calls/s
  local folder=$1
  (cd "$folder" && "$flowc" lock support_triage.flow >/dev/null)
  local started ended
  started=$(date +%s.%N)
  (cd "$folder" && "$flowc" eval flow.lock --data "$root/bench/data/support_triage_eval.jsonl" --jobs "$jobs" --no-cache \
     --trace trace.jsonl --report report.json --show-failures 0 >"$folder/eval.log" 2>&1) || { cat "$folder/eval.log" >&2; return 1; }
  ended=$(date +%s.%N)
  python3 - "$folder/trace.jsonl" "$started" "$ended" "$folder/report.json" <<'PY'
import json, sys
calls = 0
for line in open(sys.argv[1]):
    if line.strip():
        for node in json.loads(line).get("nodes", []):
            calls += sum(1 for call in node.get("calls", []) if not call.get("cached"))
seconds = float(sys.argv[3]) - float(sys.argv[2])
accuracy = json.load(open(sys.argv[4])).get("accuracy")
print(f"{calls / seconds:.3f} {calls} {seconds:.1f} {accuracy}")
PY
}
mkdir -p "$scratch/in_process" "$scratch/llama_cpp"
cp examples/support_triage/support_triage.flow "$scratch/in_process/"
cp -r examples/support_triage/data "$scratch/in_process/"
cp -r "$scratch/in_process/." "$scratch/llama_cpp/"
python3 - "$scratch/llama_cpp/support_triage.flow" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
marker = 'model student = gguf("SmolLM2-135M-Instruct.Q4_1.gguf") {\n'
assert marker in text, "the student's model block changed: update bench/student_throughput.sh"
open(path, "w").write(text.replace(marker, marker + '  engine = "llama.cpp"\n', 1))
PY
read -r ours_eval ours_calls ours_seconds ours_accuracy < <(FLOWC_MODEL_DIR="$model_dir" RAYON_NUM_THREADS="$threads" eval_rate "$scratch/in_process")
echo "eval in process: $ours_calls student calls in $ours_seconds s: $ours_eval calls/s (accuracy $ours_accuracy, --jobs $jobs); load: $(uptime)"
read -r theirs_eval theirs_calls theirs_seconds theirs_accuracy < <(FLOWC_MODEL_DIR="$model_dir" eval_rate "$scratch/llama_cpp")
echo "eval llama.cpp:  $theirs_calls student calls in $theirs_seconds s: $theirs_eval calls/s (accuracy $theirs_accuracy, --jobs $jobs); load: $(uptime)"

python3 - "$ours" "$theirs" "$ours_eval" "$theirs_eval" "$threads" <<'PY'
import sys
def parse(line):
    return {key: float(value) for key, value in (part.split("=") for part in line.split())}
ours, theirs = parse(sys.argv[1]), parse(sys.argv[2])
ours_eval, theirs_eval = float(sys.argv[3]), float(sys.argv[4])
scaling = " ".join(f"c{c}={ours[f'mistralrs_calls_per_s_{c}']:.2f}/{theirs[f'llamacpp_calls_per_s_{c}']:.2f}" for c in (1, 2, 4, 8))
print(f"threads={sys.argv[5]} batch calls/s in process/llama.cpp: {scaling} shared_prefix_prompt_tok_s={ours['mistralrs_shared_prefix_prompt_tok_s']:.0f}")
print(f"prompt_ratio={ours['mistralrs_prompt_tok_s'] / theirs['llamacpp_prompt_tok_s']:.2f} "
      f"gen_ratio={ours['mistralrs_generation_tok_s'] / theirs['llamacpp_generation_tok_s']:.2f} "
      f"eval_calls_per_s={ours_eval:.2f} eval_ratio={ours_eval / theirs_eval:.2f} "
      f"batch8_speedup={ours['mistralrs_calls_per_s_8'] / ours['mistralrs_calls_per_s_1']:.2f}")
PY
