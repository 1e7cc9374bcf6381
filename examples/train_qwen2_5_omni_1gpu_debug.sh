#!/usr/bin/env bash
# Single-GPU LoRA debug run of TARS on Qwen2.5-Omni-7B: the whole pipeline (pairing, all four rewards, hidden-state
# capture, per-modality advantages) for a few steps, with HF generation instead of vLLM. Use it to validate data
# and settings before a multi-GPU run; look at completions.jsonl and the tars/* metrics.
#
#   bash examples/train_qwen2_5_omni_1gpu_debug.sh
#   MAX_STEPS=50 USE_VLLM=true bash examples/train_qwen2_5_omni_1gpu_debug.sh   # also smoke-test vLLM audio rollout
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_1gpu_debug.sh   # dry run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # the paper's GRPO objective + optimiser flags

# ---- tools -----------------------------------------------------------------------------------------------------
SWIFT=${SWIFT:-swift}
SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PLUGIN=${PLUGIN:-$($SWIFT_TARS plugin-path)}

# ---- model and data --------------------------------------------------------------------------------------------
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}     # Qwen/Qwen2.5-Omni-3B is quicker for plumbing checks
DATASET=${DATASET:-data/tars/train.jsonl}
OUTPUT_DIR=${OUTPUT_DIR:-output/tars-debug}
export USE_HF=${USE_HF:-1}

# ---- one process, no torchrun ----------------------------------------------------------------------------------
unset NPROC_PER_NODE NNODES              # `swift` starts torchrun whenever one of them is set
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
USE_VLLM=${USE_VLLM:-false}              # false: HF generate (slow, no TIS); true: vLLM colocate on the same GPU
MAX_STEPS=${MAX_STEPS:-10}
NUM_GENERATIONS=${NUM_GENERATIONS:-8}    # the real group: 4 speech + 4 text
PER_DEVICE_BATCH=${PER_DEVICE_BATCH:-4}
GRAD_ACC=${GRAD_ACC:-2}
# 1 process × per_device 4 × GA 2 = 8 completions per optimiser step = 1 question × 8 rollouts;
# B = 4 × 2 = 8 = G, so the group is complete on the one rank.
MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-512}  # shorter than the recipe's 1,024, for speed

# ---- TARS settings ---------------------------------------------------------------------------------------------
export ENABLE_AUDIO_OUTPUT=0
export TARS_LAYERS=${TARS_LAYERS:-all}
export TARS_REFERENCE=${TARS_REFERENCE:-round_robin}
export TARS_EMBEDDING_MODEL=${TARS_EMBEDDING_MODEL:-Qwen/Qwen3-Embedding-0.6B}
REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior}
REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1}

ROLLOUT_ARGS=(--use_vllm false)
if [[ "$USE_VLLM" == true ]]; then
  ROLLOUT_ARGS=(--use_vllm true --vllm_mode colocate --vllm_gpu_memory_utilization 0.35 --vllm_max_model_len 8192
                --vllm_limit_mm_per_prompt '{"audio": 1, "image": 0, "video": 0}' --sleep_level 1
                --rollout_importance_sampling_mode token_truncate --rollout_importance_sampling_threshold 2.0)
fi

# shellcheck disable=SC2086
$SWIFT rlhf \
  --rlhf_type grpo \
  --model "$MODEL" \
  --external_plugins "$PLUGIN" \
  --torch_dtype bfloat16 \
  --dataset "$DATASET" \
  --reward_funcs $REWARD_FUNCS \
  --reward_weights $REWARD_WEIGHTS \
  --tuner_type lora \
  --lora_rank 8 \
  --lora_alpha 32 \
  --lora_dropout 0.05 \
  --target_modules all-linear \
  "${ROLLOUT_ARGS[@]}" \
  --num_generations "$NUM_GENERATIONS" \
  --per_device_train_batch_size "$PER_DEVICE_BATCH" \
  --gradient_accumulation_steps "$GRAD_ACC" \
  --max_length 8192 \
  --max_completion_length "$MAX_COMPLETION_LENGTH" \
  "${TARS_GRPO_ARGS[@]}" \
  --learning_rate 2e-5 \
  --max_steps "$MAX_STEPS" \
  --save_steps "$MAX_STEPS" \
  --logging_steps 1 \
  --log_completions true \
  --report_to tensorboard \
  --seed 42 \
  --output_dir "$OUTPUT_DIR"
