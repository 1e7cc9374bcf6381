#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B with FULL fine-tuning of the thinker LLM (8 × A100-80GB, ZeRO-3, vLLM colocate).
#
# Not a paper setting: the paper trains LoRA r 8 / α 32 only. Use this when LoRA capacity is the suspected limit.
# Audio encoder and projector stay frozen (ms-swift's --freeze_vit/--freeze_aligner default true), as in the paper.
#
#   bash examples/train_qwen2_5_omni_full_ft.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_full_ft.sh   # dry run
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # the paper's GRPO objective + optimiser flags

# ---- tools -----------------------------------------------------------------------------------------------------
SWIFT=${SWIFT:-swift}
SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PLUGIN=${PLUGIN:-$($SWIFT_TARS plugin-path)}

# ---- model and data --------------------------------------------------------------------------------------------
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}
DATASET=${DATASET:-data/tars/train.jsonl}
VAL_DATASET=${VAL_DATASET:-data/tars/val200.jsonl}
OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-full}
export USE_HF=${USE_HF:-1}

# ---- processes and batch arithmetic ----------------------------------------------------------------------------
export NPROC_PER_NODE=${NPROC_PER_NODE:-8}
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0,1,2,3,4,5,6,7}
export MASTER_PORT=${MASTER_PORT:-29500}
NUM_GENERATIONS=${NUM_GENERATIONS:-8}    # 4 speech + 4 text
PER_DEVICE_BATCH=${PER_DEVICE_BATCH:-2}  # smaller micro-batches: full optimiser state leaves less room
GRAD_ACC=${GRAD_ACC:-4}
# NPROC 8 × per_device 2 × GA 4 = 64 completions per optimiser step = 8 questions × 8 rollouts (as in the paper).
# B = per_device 2 × steps_per_generation 4 = 8 = one group per rank (B must be a multiple of G; per_device even).

# ---- TARS settings ---------------------------------------------------------------------------------------------
export ENABLE_AUDIO_OUTPUT=0             # no talker (memory; required with ZeRO-3)
export TARS_LAYERS=${TARS_LAYERS:-all}
export TARS_REFERENCE=${TARS_REFERENCE:-round_robin}
export TARS_EMPTY_POOL=${TARS_EMPTY_POOL:-neutral}
export TARS_EMBEDDING_MODEL=${TARS_EMBEDDING_MODEL:-Qwen/Qwen3-Embedding-0.6B}
REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior}
REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1}

# ---- optimisation ----------------------------------------------------------------------------------------------
LEARNING_RATE=${LEARNING_RATE:-1e-6}     # full fine-tuning: 20× below the LoRA rate of 2e-5 (ms-swift's GRPO advice)
EPOCHS=${EPOCHS:-3}
MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-1024}
MAX_LENGTH=${MAX_LENGTH:-8192}
DEEPSPEED=${DEEPSPEED:-zero3}            # 7B weights + grads + fp32 Adam ≈ 112 GB, sharded over 8 GPUs;
                                         # zero3_offload moves the optimiser state to CPU if memory is short
VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.4}
SEED=${SEED:-42}

VAL_ARGS=()
if [[ -n "$VAL_DATASET" ]]; then
  VAL_ARGS=(--val_dataset "$VAL_DATASET" --eval_steps 100 --num_generations_eval 2 --per_device_eval_batch_size 2)
fi

# --beta 0 matters more here: a KL term would load a full reference copy of the 7B model.
# --offload_model/--offload_optimizer move training weights and optimiser state to CPU while vLLM generates;
# --sleep_level 2 releases vLLM's weights too (full weights are re-synced after every step anyway).
# shellcheck disable=SC2086
$SWIFT rlhf \
  --rlhf_type grpo \
  --model "$MODEL" \
  --external_plugins "$PLUGIN" \
  --torch_dtype bfloat16 \
  --attn_impl flash_attn \
  --dataset "$DATASET" \
  "${VAL_ARGS[@]}" \
  --dataloader_num_workers 2 \
  --reward_funcs $REWARD_FUNCS \
  --reward_weights $REWARD_WEIGHTS \
  --tuner_type full \
  --freeze_vit true \
  --freeze_aligner true \
  --use_vllm true \
  --vllm_mode colocate \
  --vllm_gpu_memory_utilization "$VLLM_GPU_MEMORY_UTILIZATION" \
  --vllm_max_model_len "$MAX_LENGTH" \
  --vllm_limit_mm_per_prompt '{"audio": 1, "image": 0, "video": 0}' \
  --sleep_level 2 \
  --offload_model true \
  --offload_optimizer true \
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
  --save_total_limit 3 \
  --save_only_model true \
  --logging_steps 5 \
  --log_completions true \
  --report_to tensorboard \
  --seed "$SEED" \
  --output_dir "$OUTPUT_DIR"
# --save_only_model true: a 7B full checkpoint with optimiser state is ~100 GB; resume needs it, release does not.
