#!/usr/bin/env bash
# SmolLM2-135M tokens/s, in process (mistralrs, through flowc's backend) beside
# llama.cpp (llama-cpp-python, installed by the set-up) on the same GGUF file and the
# same number of threads, greedy. Prints each side's figures, then a last line:
#   threads=<n> prompt_ratio=<mistralrs/llama.cpp> generation_ratio=<mistralrs/llama.cpp>
#   shared_prefix_prompt_tok_s=<mistralrs, a system prompt shared by every input>
# flowc loads the Q4_1 file re-quantised to Q8_0 (see src/models/mistralrs_backend.rs);
# llama.cpp reads the Q4_1 file as it is.
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${BENCH_THREADS:-$(nproc)}"
model_dir="${FLOWC_MODEL_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/flowc/models}"
model="$model_dir/SmolLM2-135M-Instruct.Q4_1.gguf"
[ -f "$model" ] || { echo "missing $model: run ./scripts/setup.sh" >&2; exit 2; }

ours=$(RAYON_NUM_THREADS="$threads" cargo bench --quiet --features in-process-models --bench student_throughput 2>/dev/null | tee >(cat >&2) | tail -1)

theirs=$(python3 - "$model" "$threads" <<'PY'
import sys, time
from llama_cpp import Llama
model, threads = sys.argv[1], int(sys.argv[2])
llm = Llama(model_path=model, n_threads=threads, n_ctx=4096, verbose=False, seed=0)
problem = ("Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
           "for her friends every day with 4933828. She sells the remainder at the farmers' market daily for "
           "$2 per fresh duck egg. ")
long_prompt = problem * 12 + "How much does she make?"
def chat(content, max_tokens):
    return llm.create_chat_completion(messages=[{"role": "user", "content": content}], max_tokens=max_tokens, temperature=0.0)
chat("Hello", 4)
prompt_rates, generation_rates = [], []
for _ in range(3):
    llm.reset()
    started = time.perf_counter()
    result = chat(long_prompt, 1)
    seconds = time.perf_counter() - started
    prompt_rates.append(result["usage"]["prompt_tokens"] / seconds)
    print(f"llama.cpp prompt: {result['usage']['prompt_tokens']} tokens in {seconds:.3f} s", file=sys.stderr)
for _ in range(3):
    # Time the prompt alone, then prompt + 128 tokens: the difference is generation.
    llm.reset()
    started = time.perf_counter()
    chat("Write a long story about a duck farm.", 1)
    prompt_only = time.perf_counter() - started
    llm.reset()
    started = time.perf_counter()
    result = chat("Write a long story about a duck farm.", 128)
    total = time.perf_counter() - started
    tokens = result["usage"]["completion_tokens"]
    generation_rates.append((tokens - 1) / max(total - prompt_only, 1e-9))
    print(f"llama.cpp generation: {tokens} tokens in {total - prompt_only:.3f} s", file=sys.stderr)
prompt_rates.sort(); generation_rates.sort()
print(f"llamacpp_prompt_tok_s={prompt_rates[1]:.1f} llamacpp_generation_tok_s={generation_rates[1]:.1f}")
PY
)
echo "$theirs"
python3 - "$ours" "$theirs" "$threads" <<'PY'
import sys
def parse(line):
    return {key: float(value) for key, value in (part.split("=") for part in line.split())}
ours, theirs = parse(sys.argv[1]), parse(sys.argv[2])
print(f"threads={sys.argv[3]} prompt_ratio={ours['mistralrs_prompt_tok_s'] / theirs['llamacpp_prompt_tok_s']:.2f} "
      f"generation_ratio={ours['mistralrs_generation_tok_s'] / theirs['llamacpp_generation_tok_s']:.2f} "
      f"shared_prefix_prompt_tok_s={ours['mistralrs_shared_prefix_prompt_tok_s']:.0f}")
PY
