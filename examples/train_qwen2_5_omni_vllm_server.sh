#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B with a vLLM rollout SERVER: `swift rollout` on one GPU, training on the other seven.
#
#   bash examples/train_qwen2_5_omni_vllm_server.sh                 # MODE=both: start the server, wait, train
#   MODE=rollout bash examples/train_qwen2_5_omni_vllm_server.sh    # only the server (foreground), e.g. on its own node
#   MODE=train VLLM_SERVER_HOST=10.0.0.2 bash examples/train_qwen2_5_omni_vllm_server.sh  # only the trainer
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_vllm_server.sh   # dry run of both commands
#
# Server mode frees the training GPUs from vLLM's memory (no sleep/wake-up per step) at the price of one GPU that
# only generates. Speech/text pairing is unaffected: swift-tars builds the pairs on the trainer side before the
# requests are sent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # the paper's GRPO objective + optimiser flags

# ---- tools -----------------------------------------------------------------------------------------------------
SWIFT=${SWIFT:-swift}
SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PLUGIN=${PLUGIN:-$($SWIFT_TARS plugin-path)}
MODE=${MODE:-both}                       # both | rollout | train

# ---- model and data --------------------------------------------------------------------------------------------
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}     # the server and the trainer must load the same model
DATASET=${DATASET:-data/tars/train.jsonl}
VAL_DATASET=${VAL_DATASET:-data/tars/val200.jsonl}
OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-server}
export USE_HF=${USE_HF:-1}

# ---- rollout server --------------------------------------------------------------------------------------------
ROLLOUT_GPUS=${ROLLOUT_GPUS:-7}          # GPUs of `swift rollout` (= tensor parallel × data parallel size)
VLLM_SERVER_HOST=${VLLM_SERVER_HOST:-127.0.0.1}
VLLM_SERVER_PORT=${VLLM_SERVER_PORT:-8000}
VLLM_ENABLE_LORA=${VLLM_ENABLE_LORA:-false}  # true: sync only the LoRA weights each step instead of merged full
                                         # weights (faster; ms-swift marks vLLM LoRA on multimodal models
                                         # experimental)
SERVER_WAIT_S=${SERVER_WAIT_S:-1200}     # how long MODE=both waits for the server to come up

# ---- trainer processes and batch arithmetic --------------------------------------------------------------------
TRAIN_GPUS=${TRAIN_GPUS:-0,1,2,3,4,5,6}
TRAIN_NPROC=${TRAIN_NPROC:-7}
NUM_GENERATIONS=${NUM_GENERATIONS:-8}    # 4 speech + 4 text
PER_DEVICE_BATCH=${PER_DEVICE_BATCH:-4}
GRAD_ACC=${GRAD_ACC:-2}
# 7 training ranks × per_device 4 × GA 2 = 56 completions per optimiser step = 7 questions × 8 rollouts. 64 (the
# paper) is not reachable with 7 ranks because every rank must hold whole groups: B = 4 × 2 = 8 = G per rank.
# So an epoch has 8/7 as many (slightly smaller) steps as on 8 training GPUs.

# ---- TARS settings ---------------------------------------------------------------------------------------------
export ENABLE_AUDIO_OUTPUT=0
export TARS_LAYERS=${TARS_LAYERS:-all}
export TARS_REFERENCE=${TARS_REFERENCE:-round_robin}
export TARS_EMPTY_POOL=${TARS_EMPTY_POOL:-neutral}
export TARS_EMBEDDING_MODEL=${TARS_EMBEDDING_MODEL:-Qwen/Qwen3-Embedding-0.6B}
REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior}
REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1}

# ---- optimisation ----------------------------------------------------------------------------------------------
LEARNING_RATE=${LEARNING_RATE:-2e-5}
EPOCHS=${EPOCHS:-3}
MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-1024}
MAX_LENGTH=${MAX_LENGTH:-8192}
LORA_RANK=${LORA_RANK:-8}
DEEPSPEED=${DEEPSPEED:-zero2}            # no vLLM on the training GPUs, so ZeRO-2 (the reference's) fits easily
SEED=${SEED:-42}

rollout() {
  # --vllm_max_lora_rank must be ≥ the trained --lora_rank (only used with --vllm_enable_lora true)
  CUDA_VISIBLE_DEVICES=$ROLLOUT_GPUS $SWIFT rollout \
    --model "$MODEL" \
    --host 0.0.0.0 \
    --port "$VLLM_SERVER_PORT" \
    --vllm_tensor_parallel_size 1 \
    --vllm_data_parallel_size 1 \
    --vllm_gpu_memory_utilization 0.9 \
    --vllm_max_model_len "$MAX_LENGTH" \
    --vllm_limit_mm_per_prompt '{"audio": 1, "image": 0, "video": 0}' \
    --vllm_enable_lora "$VLLM_ENABLE_LORA" \
    --vllm_max_lora_rank "$LORA_RANK"
}

train() {
  local val_args=()
  if [[ -n "$VAL_DATASET" ]]; then
    val_args=(--val_dataset "$VAL_DATASET" --eval_steps 100 --num_generations_eval 2 --per_device_eval_batch_size 2)
  fi
  # shellcheck disable=SC2086
  CUDA_VISIBLE_DEVICES=$TRAIN_GPUS NPROC_PER_NODE=$TRAIN_NPROC $SWIFT rlhf \
    --rlhf_type grpo \
    --model "$MODEL" \
    --external_plugins "$PLUGIN" \
    --torch_dtype bfloat16 \
    --attn_impl flash_attn \
    --dataset "$DATASET" \
    "${val_args[@]}" \
    --dataloader_num_workers 2 \
    --reward_funcs $REWARD_FUNCS \
    --reward_weights $REWARD_WEIGHTS \
    --tuner_type lora \
    --lora_rank "$LORA_RANK" \
    --lora_alpha 32 \
    --lora_dropout 0.05 \
    --target_modules all-linear \
    --use_vllm true \
    --vllm_mode server \
    --vllm_server_host "$VLLM_SERVER_HOST" \
    --vllm_server_port "$VLLM_SERVER_PORT" \
    --vllm_enable_lora "$VLLM_ENABLE_LORA" \
    --rollout_importance_sampling_mode token_truncate \
    --rollout_importance_sampling_threshold 2.0 \
    --deepspeed "$DEEPSPEED" \
    --num_generations "$NUM_GENERATIONS" \
    --per_device_train_batch_size "$PER_DEVICE_BATCH" \
    --gradient_accumulation_steps "$GRAD_ACC" \
    --max_length "$MAX_LENGTH" \
    --max_completion_length "$MAX_COMPLETION_LENGTH" \
    "${TARS_GRPO_ARGS[@]}" \
    --learning_rate "$LEARNING_RATE" \
    "${TARS_OPTIM_ARGS[@]}" \
    --num_train_epochs "$EPOCHS" \
    --save_steps 100 \
    --save_total_limit 5 \
    --logging_steps 5 \
    --log_completions true \
    --report_to tensorboard \
    --seed "$SEED" \
    --output_dir "$OUTPUT_DIR"
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
  train) train ;;
  both)
    rollout &
    ROLLOUT_PID=$!
    trap 'kill "$ROLLOUT_PID" 2>/dev/null || true' EXIT
    wait_for_server "$ROLLOUT_PID"
    train
    ;;
  *) echo "MODE must be both, rollout or train (got $MODE)" >&2; exit 2 ;;
esac
