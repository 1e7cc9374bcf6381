#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B: the full recipe (arXiv 2601.05543) on one node with 8 × A100-80GB.
#
#   LoRA r 8 / α 32 on the thinker LLM, DeepSpeed ZeRO-3, vLLM colocate rollout, 4 speech + 4 text rollouts per
#   question, rewards tars_accuracy tars_format tars_representation tars_behavior, per-modality advantages.
#
#   bash examples/train_qwen2_5_omni_8xa100_zero3.sh
#   DATASET=/data/tars/train.jsonl NPROC_PER_NODE=4 GRAD_ACC=4 bash examples/train_qwen2_5_omni_8xa100_zero3.sh
#   bash examples/train_qwen2_5_omni_8xa100_zero3.sh --save_steps 50   # extra `swift rlhf` flags: appended, they win
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_8xa100_zero3.sh   # dry run: validate only
#
# This is the ONE `swift rlhf` command of swift-tars. Every other training script is an overlay that sets some of
# the variables below and execs this file: _zero2 (DeepSpeed ZeRO-2), _2nodes, _full_ft (no LoRA), _vllm_server
# (`swift rollout` on its own GPU), _1gpu_debug (one process, HF generate), _cord, _tars_cord, _ablations.
# Every setting can be overridden from the environment. Data: examples/build_data.sh.
# Hardware: the paper reports ~55 h for the Qwen2.5-Omni run (hardware per run not stated: 4×A100 or 8×H200).
set -euo pipefail
# MODEL, MAX_LENGTH, VLLM_LIMIT_MM_PER_PROMPT (shared with `swift rollout`), USE_HF, ENABLE_AUDIO_OUTPUT=0, and the
# paper's GRPO objective + optimiser flags (TARS_GRPO_ARGS, TARS_OPTIM_ARGS; TEMPERATURE):
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# ---- tools -----------------------------------------------------------------------------------------------------
SWIFT=${SWIFT:-swift}                    # ms-swift's CLI; the dry-run test sets SWIFT="swift-tars check-args"
SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PLUGIN=${PLUGIN:-$($SWIFT_TARS plugin-path)}  # swift_tars/plugin.py: registers the rewards and the TARS trainer

# ---- data ------------------------------------------------------------------------------------------------------
DATASET=${DATASET:-data/tars/train.jsonl}    # row format (swift-tars build-data); or the registered tars-mmlu-speech
VAL_DATASET=${VAL_DATASET-data/tars/val200.jsonl}  # the paper's 200 held-out rows; empty = no in-training eval
OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b}

# ---- processes and batch arithmetic ----------------------------------------------------------------------------
NPROC_PER_NODE=${NPROC_PER_NODE-8}       # `swift` re-launches itself with torchrun when this is set;
if [[ -n "$NPROC_PER_NODE" ]]; then      # empty = one process without torchrun (the 1-GPU debug overlay)
  export NPROC_PER_NODE
else
  unset NPROC_PER_NODE
fi
export CUDA_VISIBLE_DEVICES=${CUDA_VISIBLE_DEVICES:-0,1,2,3,4,5,6,7}
export MASTER_PORT=${MASTER_PORT:-29500}
NUM_GENERATIONS=${NUM_GENERATIONS:-8}    # G = 4 speech + 4 text rollouts of one question (must be even)
PER_DEVICE_BATCH=${PER_DEVICE_BATCH:-4}  # completions per micro-batch; even, so each holds speech AND text rows
GRAD_ACC=${GRAD_ACC:-2}                  # steps_per_generation defaults to this
# Completions per optimiser step = NPROC 8 × per_device 4 × GA 2 = 64 = 8 questions × 8 rollouts (the reference's
# 64, there as 8 GPUs × 2 per device × GA 4).
# Rollouts generated per rank per round B = per_device 4 × steps_per_generation 2 = 8 = one whole group, so a
# question's 8 rollouts never straddle ranks (B must be a multiple of G; swift-tars stops the run otherwise).
# With 4 GPUs keep 64 by GRAD_ACC=4 (B = 16 = 2 groups per rank).
NUM_GENERATIONS_EVAL=${NUM_GENERATIONS_EVAL:-2}  # in-training eval: 1 speech + 1 text per question (the reference
PER_DEVICE_EVAL_BATCH=${PER_DEVICE_EVAL_BATCH:-2} # ran 8 per question; offline `swift-tars eval` is the real eval)

# ---- TARS settings (environment variables: ms-swift rejects unknown CLI flags) ---------------------------------
export TARS_LAYERS=${TARS_LAYERS:-all}   # tars_representation layers: all 28 decoder layers (paper's best set)
export TARS_REFERENCE=${TARS_REFERENCE:-round_robin}  # speech k ↔ correct text k mod K as in the paper's code;
                                         # swift-tars' default `mean` compares with the mean of the correct texts
export TARS_EMPTY_POOL=${TARS_EMPTY_POOL:-neutral}    # empty completion: no alignment signal (reference: penalty)
export TARS_EMBEDDING_MODEL=${TARS_EMBEDDING_MODEL:-Qwen/Qwen3-Embedding-0.6B}  # tars_behavior embedder (paper)
export TARS_FORMAT_SCORES=${TARS_FORMAT_SCORES:-1.0,0.5,0.0}  # strict/loose/none = reference code. The paper's
                                         # R_acc + 0.5·R_fmt: TARS_FORMAT_SCORES=1,0,0 and weight 0.5 for tars_format
REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior}
REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1}  # α = β = 1 as in the paper; one weight per reward function

# ---- what is trained, and how it is sharded ---------------------------------------------------------------------
TUNER_TYPE=${TUNER_TYPE:-lora}           # lora (paper) | full (train_qwen2_5_omni_full_ft.sh); the audio encoder
                                         # and projector stay frozen either way (--freeze_vit/--freeze_aligner)
LORA_RANK=${LORA_RANK:-8}                # LoRA only
LORA_ALPHA=${LORA_ALPHA:-32}
DEEPSPEED=${DEEPSPEED-zero3}             # zero3 shards the 7B base and fits vLLM beside it; zero2 (the reference's,
                                         # train_qwen2_5_omni_8xa100_zero2.sh; README: when to pick which);
                                         # zero3_offload; a JSON file; empty = no DeepSpeed (the 1-GPU debug overlay)

# ---- rollout ---------------------------------------------------------------------------------------------------
USE_VLLM=${USE_VLLM:-true}               # false: HF generate (slow; no rollout log-probs, so no TIS)
VLLM_MODE=${VLLM_MODE:-colocate}         # colocate: vLLM shares each training GPU; server: an external `swift rollout`
                                         # (train_qwen2_5_omni_vllm_server.sh starts one and sets the three below)
VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.45}  # colocate: vLLM's share of each GPU
SLEEP_LEVEL=${SLEEP_LEVEL:-1}            # colocate: while training, vLLM frees its KV cache (1), and weights too (2)
OFFLOAD_MODEL=${OFFLOAD_MODEL:-false}    # colocate: training weights / optimiser state to CPU while vLLM generates
OFFLOAD_OPTIMIZER=${OFFLOAD_OPTIMIZER:-false}
# server mode: VLLM_SERVER_HOST, VLLM_SERVER_PORT and VLLM_ENABLE_LORA (must match the server's --vllm_enable_lora)

# ---- optimisation and checkpoints (paper / reference code) -----------------------------------------------------
LEARNING_RATE=${LEARNING_RATE:-2e-5}
EPOCHS=${EPOCHS:-3}
MAX_STEPS=${MAX_STEPS:--1}               # > 0: stop after this many optimiser steps instead of EPOCHS
MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-1024}  # paper 1,024 (the Phi-4 reference code used 512)
EVAL_STEPS=${EVAL_STEPS:-100}
SAVE_STEPS=${SAVE_STEPS:-100}
SAVE_TOTAL_LIMIT=${SAVE_TOTAL_LIMIT:-5}
SAVE_ONLY_MODEL=${SAVE_ONLY_MODEL:-false}  # true: no optimiser state in checkpoints (cannot resume; much smaller)
LOGGING_STEPS=${LOGGING_STEPS:-5}
SEED=${SEED:-42}
REPORT_TO=${REPORT_TO:-tensorboard}      # e.g. "tensorboard wandb"

# ---- the optional parts of the command -------------------------------------------------------------------------
VAL_ARGS=()
if [[ -n "$VAL_DATASET" ]]; then
  VAL_ARGS=(--val_dataset "$VAL_DATASET" --eval_steps "$EVAL_STEPS"
            --num_generations_eval "$NUM_GENERATIONS_EVAL" --per_device_eval_batch_size "$PER_DEVICE_EVAL_BATCH")
fi
case "$TUNER_TYPE" in
  lora) TUNER_ARGS=(--lora_rank "$LORA_RANK" --lora_alpha "$LORA_ALPHA" --lora_dropout 0.05
                    --target_modules all-linear) ;;
  full) TUNER_ARGS=() ;;
  *) echo "TUNER_TYPE must be lora or full (got $TUNER_TYPE)" >&2; exit 2 ;;
esac
DEEPSPEED_ARGS=()
if [[ -n "$DEEPSPEED" ]]; then
  DEEPSPEED_ARGS=(--deepspeed "$DEEPSPEED")
fi
# TIS: per-token weight min(π_old/π_vLLM, 2) corrects for vLLM's sampling mismatch (vLLM rollouts only)
TIS_ARGS=(--rollout_importance_sampling_mode token_truncate --rollout_importance_sampling_threshold 2.0)
if [[ "$USE_VLLM" != true ]]; then
  ROLLOUT_ARGS=()
elif [[ "$VLLM_MODE" == colocate ]]; then
  ROLLOUT_ARGS=(--vllm_mode colocate
                --vllm_gpu_memory_utilization "$VLLM_GPU_MEMORY_UTILIZATION"
                --vllm_tensor_parallel_size 1
                --vllm_max_model_len "$MAX_LENGTH"
                --vllm_limit_mm_per_prompt "$VLLM_LIMIT_MM_PER_PROMPT"
                --sleep_level "$SLEEP_LEVEL"
                --offload_model "$OFFLOAD_MODEL"
                --offload_optimizer "$OFFLOAD_OPTIMIZER"
                "${TIS_ARGS[@]}")
elif [[ "$VLLM_MODE" == server ]]; then
  ROLLOUT_ARGS=(--vllm_mode server
                --vllm_server_host "${VLLM_SERVER_HOST:?VLLM_MODE=server needs VLLM_SERVER_HOST (see train_qwen2_5_omni_vllm_server.sh)}"
                --vllm_server_port "${VLLM_SERVER_PORT:?VLLM_MODE=server needs VLLM_SERVER_PORT}"
                --vllm_enable_lora "${VLLM_ENABLE_LORA:?VLLM_MODE=server needs VLLM_ENABLE_LORA (as the server got it)}"
                "${TIS_ARGS[@]}")
else
  echo "VLLM_MODE must be colocate or server (got $VLLM_MODE)" >&2; exit 2
fi

# shellcheck disable=SC2086  # REWARD_FUNCS / REWARD_WEIGHTS / REPORT_TO are word lists
$SWIFT rlhf \
  --rlhf_type grpo \
  --model "$MODEL" \
  --external_plugins "$PLUGIN" \
  --torch_dtype bfloat16 \
  --attn_impl flash_attn \
  --dataset "$DATASET" \
  "${VAL_ARGS[@]}" \
  --dataset_num_proc 8 \
  --dataloader_num_workers 2 \
  --reward_funcs $REWARD_FUNCS \
  --reward_weights $REWARD_WEIGHTS \
  --tuner_type "$TUNER_TYPE" \
  "${TUNER_ARGS[@]}" \
  --freeze_vit true \
  --freeze_aligner true \
  "${DEEPSPEED_ARGS[@]}" \
  --use_vllm "$USE_VLLM" \
  "${ROLLOUT_ARGS[@]}" \
  --num_generations "$NUM_GENERATIONS" \
  --per_device_train_batch_size "$PER_DEVICE_BATCH" \
  --gradient_accumulation_steps "$GRAD_ACC" \
  --max_length "$MAX_LENGTH" \
  --max_completion_length "$MAX_COMPLETION_LENGTH" \
  "${TARS_GRPO_ARGS[@]}" \
  --learning_rate "$LEARNING_RATE" \
  "${TARS_OPTIM_ARGS[@]}" \
  --num_train_epochs "$EPOCHS" \
  --max_steps "$MAX_STEPS" \
  --save_steps "$SAVE_STEPS" \
  --save_total_limit "$SAVE_TOTAL_LIMIT" \
  --save_only_model "$SAVE_ONLY_MODEL" \
  --logging_steps "$LOGGING_STEPS" \
  --log_completions true \
  --report_to $REPORT_TO \
  --seed "$SEED" \
  --output_dir "$OUTPUT_DIR" \
  "$@"

# Flag notes (docs/method.md §8–9); the GRPO objective and optimiser flags are in common.sh:
#   --rollout_importance_sampling_*            TIS, per-token weight min(π_old/π_vLLM, 2); vLLM rollouts only
#   --vllm_limit_mm_per_prompt                 one audio per prompt, no images/videos (vLLM memory planning)
#   --freeze_vit/--freeze_aligner true         ms-swift's defaults, stated: the audio encoder and projector are
#                                              not trained (paper); LoRA targets the thinker LLM only
#   --lr_scheduler_type linear --warmup_ratio 0.01 --weight_decay 0.01 --max_grad_norm 1.0   reference code
#   (ms-swift's defaults: cosine, 0, 0.1); --save_steps/--eval_steps 100, --seed 42 as in the reference.
#   Not set: --padding_free, --dynamic_sample true, --async_generate, --truncation_strategy delete — they break
#   the speech/text pairing and swift-tars refuses to start with them.
