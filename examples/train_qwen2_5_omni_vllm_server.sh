#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B with a vLLM rollout SERVER: `swift rollout` on one GPU, and on the other seven the recipe
# of train_qwen2_5_omni_8xa100_zero3.sh with VLLM_MODE=server and DeepSpeed ZeRO-2.
#
#   bash examples/train_qwen2_5_omni_vllm_server.sh                 # MODE=both: start the server, wait, train
#   MODE=rollout bash examples/train_qwen2_5_omni_vllm_server.sh    # only the server (foreground), e.g. on its own node
#   MODE=train VLLM_SERVER_HOST=10.0.0.2 bash examples/train_qwen2_5_omni_vllm_server.sh  # only the trainer
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_vllm_server.sh   # dry run of both commands
#
# Server mode frees the training GPUs from vLLM's memory (no sleep/wake-up per step) at the price of one GPU that
# only generates. Speech/text pairing is unaffected: swift-tars builds the pairs on the trainer side before the
# requests are sent. Extra arguments go to `swift rlhf`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # MODEL, MAX_LENGTH, VLLM_LIMIT_MM_PER_PROMPT: same as the trainer
RECIPE="$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh"

SWIFT=${SWIFT:-swift}
MODE=${MODE:-both}                       # both | rollout | train

# ---- rollout server --------------------------------------------------------------------------------------------
ROLLOUT_GPUS=${ROLLOUT_GPUS:-7}          # GPUs of `swift rollout` (= tensor parallel × data parallel size)
ROLLOUT_TP=${ROLLOUT_TP:-1}              # vLLM tensor parallel size
ROLLOUT_DP=${ROLLOUT_DP:-1}              # vLLM data parallel size
ROLLOUT_GPU_MEMORY_UTILIZATION=${ROLLOUT_GPU_MEMORY_UTILIZATION:-0.9}  # the server GPU does nothing else
VLLM_SERVER_HOST=${VLLM_SERVER_HOST:-127.0.0.1}  # where the trainer finds the server
VLLM_SERVER_PORT=${VLLM_SERVER_PORT:-8000}
VLLM_ENABLE_LORA=${VLLM_ENABLE_LORA:-false}  # true: sync only the LoRA weights each step instead of merged full
                                         # weights (faster; ms-swift marks vLLM LoRA on multimodal models
                                         # experimental). The server's LoRA slots must be ≥ the trained LORA_RANK:
                                         # ms-swift's default --vllm_max_lora_rank 16 covers the recipe's 8.
SERVER_WAIT_S=${SERVER_WAIT_S:-1200}     # how long MODE=both waits for the server to come up

# ---- trainer: the recipe on the other GPUs, rollouts from the server --------------------------------------------
TRAIN_ENV=(
  VLLM_MODE=server VLLM_SERVER_HOST="$VLLM_SERVER_HOST" VLLM_SERVER_PORT="$VLLM_SERVER_PORT"
  VLLM_ENABLE_LORA="$VLLM_ENABLE_LORA"
  CUDA_VISIBLE_DEVICES="${TRAIN_GPUS:-0,1,2,3,4,5,6}"
  NPROC_PER_NODE="${TRAIN_NPROC:-7}"
  DEEPSPEED="${DEEPSPEED:-zero2}"        # no vLLM on the training GPUs, so ZeRO-2 (the reference's) fits easily
  OUTPUT_DIR="${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-server}"
)
# 7 training ranks × per_device 4 × GA 2 = 56 completions per optimiser step = 7 questions × 8 rollouts. 64 (the
# paper) is not reachable with 7 ranks because every rank must hold whole groups: B = 4 × 2 = 8 = G per rank.
# So an epoch has 8/7 as many (slightly smaller) steps as on 8 training GPUs.

rollout() {
  local lora_args=()
  if [[ -n "${LORA_RANK:-}" ]]; then     # a non-default LoRA rank: give the server enough LoRA slots
    lora_args=(--vllm_max_lora_rank "$LORA_RANK")
  fi
  CUDA_VISIBLE_DEVICES=$ROLLOUT_GPUS $SWIFT rollout \
    --model "$MODEL" \
    --host 0.0.0.0 \
    --port "$VLLM_SERVER_PORT" \
    --vllm_tensor_parallel_size "$ROLLOUT_TP" \
    --vllm_data_parallel_size "$ROLLOUT_DP" \
    --vllm_gpu_memory_utilization "$ROLLOUT_GPU_MEMORY_UTILIZATION" \
    --vllm_max_model_len "$MAX_LENGTH" \
    --vllm_limit_mm_per_prompt "$VLLM_LIMIT_MM_PER_PROMPT" \
    --vllm_enable_lora "$VLLM_ENABLE_LORA" \
    "${lora_args[@]}"
}

wait_for_server() {  # polls GET /health/ of `swift rollout`
  local pid=$1 waited=0
  until curl -sf "http://$VLLM_SERVER_HOST:$VLLM_SERVER_PORT/health/" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      if wait "$pid"; then  # exited cleanly without serving: a dry run (SWIFT="swift-tars check-args")
        return 0
      fi
      echo "swift rollout exited with an error before serving" >&2
      exit 1
    fi
    if (( waited >= SERVER_WAIT_S )); then
      echo "swift rollout did not answer on $VLLM_SERVER_HOST:$VLLM_SERVER_PORT within ${SERVER_WAIT_S}s" >&2
      exit 1
    fi
    sleep 2
    waited=$((waited + 2))
  done
}

case "$MODE" in
  rollout) rollout ;;
  train) exec env "${TRAIN_ENV[@]}" bash "$RECIPE" "$@" ;;
  both)
    rollout &
    ROLLOUT_PID=$!
    trap 'kill "$ROLLOUT_PID" 2>/dev/null || true' EXIT
    wait_for_server "$ROLLOUT_PID"
    env "${TRAIN_ENV[@]}" bash "$RECIPE" "$@"  # not exec: this shell stays to stop the server when training ends
    ;;
  *) echo "MODE must be both, rollout or train (got $MODE)" >&2; exit 2 ;;
esac
