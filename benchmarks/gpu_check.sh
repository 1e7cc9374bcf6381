#!/usr/bin/env bash
# GPU check of swift-tars, offline (no hub), bounded to 10 minutes on one H200:
#   bash benchmarks/gpu_check.sh [--out gpu-check]      # needs a CUDA GPU (uses CUDA_VISIBLE_DEVICES, default 0)
#   bash benchmarks/gpu_check.sh --dry-run --out DIR    # the same stages on CPU at toy size (80-210 s on 2 cores)
# PYTHON=... picks the interpreter (default .venv/bin/python). More ranks: NPROC_PER_NODE=N CUDA_VISIBLE_DEVICES=...
# (every rank holds whole groups of 4 rollouts; peak memory is reported per rank).
#
# Stage (limit on the GPU; the estimates are not measured yet: no GPU has run this script so far)
#   prepare  180 s  demo data (espeak-ng, ~5 s), warm-started tiny Qwen2.5-Omni (150 steps on CPU, ~40 s), a
#                   random-weight Qwen2.5-Omni of the 7B thinker's shape built on the GPU in bf16 and saved
#                   (8.93 B parameters, ~17 GB of safetensors, ~60 s) and a random embedder of
#                   Qwen3-Embedding-0.6B's shape for tars_behavior (fp32, ~2.4 GB, ~20 s)
#   grpo     250 s  two `swift rlhf --rlhf_type grpo` runs on that model (LoRA r8, bf16, sdpa, 4 steps of 2 groups
#                   x 4 rollouts, 256-token completions): plain (tars_accuracy tars_format) then TARS (all four
#                   rewards); each ~45 s load + ~60 s of steps. Target: TARS step time <= 1.03x plain
#   e2e       80 s  the tiny end-to-end run of tests/test_e2e_tars.py (all rewards, 2 steps) on the GPU
#   eval      60 s  `swift-tars eval` of the tiny model on the 16 demo questions (32 answers): items/s
#   report    30 s  summary.json + summary.md in --out
# Total limit 600 s. A stage past its limit is killed (`timeout`) and reported; later stages still run.
# Exit code: 0 when every stage succeeded (the +3 % target is reported, not enforced), 1 otherwise.
set -euo pipefail

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }

DRY_RUN=0
OUT=gpu-check
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) DRY_RUN=1; shift ;;
    --out) OUT="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu_check.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
done

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
[[ -x "$PY" ]] || PY="$(command -v python3)"
MODE_ARGS=()
if [[ $DRY_RUN == 1 ]]; then
  MODE_ARGS=(--dry-run)
  LIMITS=(prepare=90 grpo=180 e2e=120 eval=90 report=30)  # ~2.5x what 2 CPU cores shared with other jobs took
else
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)'; then
    echo "gpu_check.sh: no CUDA GPU visible to $PY; use --dry-run for the CPU version" >&2
    exit 2
  fi
  LIMITS=(prepare=180 grpo=250 e2e=80 eval=60 report=30)
fi
mkdir -p "$OUT/status"
OUT="$(cd "$OUT" && pwd)"
rm -f "$OUT"/status/* "$OUT"/{prepare,grpo,e2e,eval}.json "$OUT"/summary.{json,md}

limit_of() {
  local kv
  for kv in "${LIMITS[@]}"; do
    if [[ ${kv%%=*} == "$1" ]]; then echo "${kv#*=}"; fi
  done
}

run_stage() {  # run_stage NAME: one python process, killed (whole process group) after its limit
  local name="$1" limit rc start=$SECONDS
  limit="$(limit_of "$name")"
  echo "[gpu-check] $name (limit ${limit} s) ..."
  set +e
  timeout --kill-after=15 "$limit" "$PY" "$ROOT/benchmarks/gpu_check.py" "$name" --out "$OUT" \
    ${MODE_ARGS[@]+"${MODE_ARGS[@]}"} >"$OUT/$name.stage.log" 2>&1
  rc=$?
  set -e
  echo "$rc" >"$OUT/status/$name"
  echo "[gpu-check] $name: exit $rc after $((SECONDS - start)) s (log: $OUT/$name.stage.log)"
  return 0
}

run_stage prepare
if [[ "$(cat "$OUT/status/prepare")" == 0 ]]; then
  run_stage grpo
  run_stage e2e
  run_stage eval
fi
run_stage report
cat "$OUT/summary.md" 2>/dev/null || true
echo "[gpu-check] done in $SECONDS s; $OUT/summary.json"
for stage in prepare grpo e2e eval report; do
  [[ "$(cat "$OUT/status/$stage" 2>/dev/null)" == 0 ]] || exit 1
done
