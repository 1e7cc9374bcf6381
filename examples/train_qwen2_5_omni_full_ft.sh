#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B with FULL fine-tuning of the thinker LLM: the recipe of train_qwen2_5_omni_8xa100_zero3.sh
# (8 × A100-80GB, ZeRO-3, vLLM colocate, 64 completions per step) without LoRA.
#
# Not a paper setting: the paper trains LoRA r 8 / α 32 only. Use this when LoRA capacity is the suspected limit.
# The audio encoder and projector stay frozen (--freeze_vit/--freeze_aligner true in the recipe), as in the paper.
# --beta 0 (common.sh) matters more here: a KL term would load a full reference copy of the 7B model.
#
#   bash examples/train_qwen2_5_omni_full_ft.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_full_ft.sh   # dry run
set -euo pipefail

export TUNER_TYPE=full
export LEARNING_RATE=${LEARNING_RATE:-1e-6}  # 20× below the LoRA rate of 2e-5 (ms-swift's GRPO advice for full FT)

# ---- memory: weights + grads + fp32 Adam of 7B ≈ 112 GB, sharded over 8 GPUs by ZeRO-3 (DEEPSPEED=zero3_offload
# moves the optimiser state to CPU if memory is still short) ----------------------------------------------------
export PER_DEVICE_BATCH=${PER_DEVICE_BATCH:-2}  # smaller micro-batches: full optimiser state leaves less room
export GRAD_ACC=${GRAD_ACC:-4}           # 8 × 2 × 4 = 64 completions per step; B = 2 × 4 = 8 = one group per rank
export VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.4}
export SLEEP_LEVEL=${SLEEP_LEVEL:-2}     # vLLM releases its weights too (full weights are re-synced every step anyway)
export OFFLOAD_MODEL=${OFFLOAD_MODEL:-true}          # training weights and optimiser state to CPU while vLLM
export OFFLOAD_OPTIMIZER=${OFFLOAD_OPTIMIZER:-true}  # generates

# ---- checkpoints: a 7B full checkpoint with optimiser state is ~100 GB; resume needs it, release does not -------
export SAVE_ONLY_MODEL=${SAVE_ONLY_MODEL:-true}
export SAVE_TOTAL_LIMIT=${SAVE_TOTAL_LIMIT:-3}

export OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-full}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh" "$@"
