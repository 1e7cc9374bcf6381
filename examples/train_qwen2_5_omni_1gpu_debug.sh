#!/usr/bin/env bash
# Single-GPU LoRA debug run of TARS on Qwen2.5-Omni-7B: the recipe of train_qwen2_5_omni_8xa100_zero3.sh (same
# pairing, all four rewards, hidden-state capture, per-modality advantages, same objective) for a few steps in ONE
# process, without DeepSpeed and with HF generation instead of vLLM. Use it to validate data and settings before a
# multi-GPU run; look at completions.jsonl and the tars/* metrics.
#
#   bash examples/train_qwen2_5_omni_1gpu_debug.sh
#   MAX_STEPS=50 USE_VLLM=true bash examples/train_qwen2_5_omni_1gpu_debug.sh   # also smoke-test vLLM audio rollout
#   MODEL=Qwen/Qwen2.5-Omni-3B bash examples/train_qwen2_5_omni_1gpu_debug.sh   # quicker plumbing check
#   bash examples/train_qwen2_5_omni_1gpu_debug.sh --attn_impl sdpa   # no flash-attn on this machine
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_1gpu_debug.sh   # dry run
set -euo pipefail

# ---- one process, no torchrun, no DeepSpeed --------------------------------------------------------------------
unset NNODES                             # `swift` starts torchrun whenever NNODES or NPROC_PER_NODE is set;
export NPROC_PER_NODE=                   # empty: the recipe unsets it
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0}
export DEEPSPEED=
# 1 process × per_device 4 × GA 2 = 8 completions per optimiser step = 1 question × 8 rollouts;
# B = 4 × 2 = 8 = G, so the group is complete on the one rank.

# ---- rollout: HF generate (slow, no TIS); USE_VLLM=true: vLLM colocate on the same GPU -------------------------
export USE_VLLM=${USE_VLLM:-false}
export VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.35}

# ---- a few steps, no in-training eval, everything logged --------------------------------------------------------
export MAX_STEPS=${MAX_STEPS:-10}
export SAVE_STEPS=${SAVE_STEPS:-$MAX_STEPS}
export LOGGING_STEPS=${LOGGING_STEPS:-1}
export VAL_DATASET=${VAL_DATASET-}
export MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-512}  # shorter than the recipe's 1,024, for speed

export OUTPUT_DIR=${OUTPUT_DIR:-output/tars-debug}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh" "$@"
