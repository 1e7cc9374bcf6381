#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B: the full recipe (arXiv 2601.05543) on one node with 8 × A100-80GB.
#
#   LoRA r 8 / α 32 on the thinker LLM, DeepSpeed ZeRO-3, vLLM colocate rollout, 4 speech + 4 text rollouts per
#   question, rewards tars_accuracy tars_format tars_representation tars_behavior, per-modality advantages.
#
#   bash examples/train_qwen2_5_omni_8xa100_zero3.sh
#   DATASET=/data/tars/train.jsonl NPROC_PER_NODE=4 GRAD_ACC=4 bash examples/train_qwen2_5_omni_8xa100_zero3.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_8xa100_zero3.sh   # dry run: validate only
#
# Every setting below can be overridden from the environment. Data: examples/build_data.sh.
# Hardware: the paper reports ~55 h for the Qwen2.5-Omni run (hardware per run not stated: 4×A100 or 8×H200).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"   # the paper's GRPO objective + optimiser flags

# ---- tools -----------------------------------------------------------------------------------------------------
SWIFT=${SWIFT:-swift}                    # ms-swift's CLI; the dry-run test sets SWIFT="swift-tars check-args"
SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PLUGIN=${PLUGIN:-$($SWIFT_TARS plugin-path)}  # swift_tars/plugin.py: registers the rewards and the TARS trainer

# ---- model and data --------------------------------------------------------------------------------------------
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}
DATASET=${DATASET:-data/tars/train.jsonl}    # row format (swift-tars build-data); or the registered tars-mmlu-speech
VAL_DATASET=${VAL_DATASET:-data/tars/val200.jsonl}  # the paper's 200 held-out rows; empty = no in-training eval
OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b}
export USE_HF=${USE_HF:-1}               # model ids are Hugging Face ids (ms-swift's default hub is ModelScope)

# ---- processes and batch arithmetic ----------------------------------------------------------------------------
export NPROC_PER_NODE=${NPROC_PER_NODE:-8}   # `swift` re-launches itself with torchrun when this is set
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
export ENABLE_AUDIO_OUTPUT=0             # do not build the talker: memory, and required with ZeRO-3
export TARS_LAYERS=${TARS_LAYERS:-all}   # tars_representation layers: all 28 decoder layers (paper's best set)
export TARS_REFERENCE=${TARS_REFERENCE:-round_robin}  # speech k ↔ correct text k mod K as in the paper's code;
                                         # swift-tars' default `mean` compares with the mean of the correct texts
export TARS_EMPTY_POOL=${TARS_EMPTY_POOL:-neutral}    # empty completion: no alignment signal (reference: penalty)
export TARS_EMBEDDING_MODEL=${TARS_EMBEDDING_MODEL:-Qwen/Qwen3-Embedding-0.6B}  # tars_behavior embedder (paper)
export TARS_FORMAT_SCORES=${TARS_FORMAT_SCORES:-1.0,0.5,0.0}  # strict/loose/none = reference code. The paper's
                                         # R_acc + 0.5·R_fmt: TARS_FORMAT_SCORES=1,0,0 and weight 0.5 for tars_format
REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior}
REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1}  # α = β = 1 as in the paper; one weight per reward function

# ---- optimisation (paper / reference code) ---------------------------------------------------------------------
LEARNING_RATE=${LEARNING_RATE:-2e-5}
EPOCHS=${EPOCHS:-3}
MAX_COMPLETION_LENGTH=${MAX_COMPLETION_LENGTH:-1024}  # paper 1,024 (the Phi-4 reference code used 512)
MAX_LENGTH=${MAX_LENGTH:-8192}           # prompt ≤ ~3.1k tokens for 120 s of audio (25 audio tokens/s) + completion
LORA_RANK=${LORA_RANK:-8}
LORA_ALPHA=${LORA_ALPHA:-32}
DEEPSPEED=${DEEPSPEED:-zero3}            # the reference used ZeRO-2; ZeRO-3 shards the 7B base and fits vLLM beside
                                         # it. If the audio tower hangs or vLLM weight gathering OOMs, use zero2.
VLLM_GPU_MEMORY_UTILIZATION=${VLLM_GPU_MEMORY_UTILIZATION:-0.45}  # colocate: vLLM shares each GPU with training
SEED=${SEED:-42}
REPORT_TO=${REPORT_TO:-tensorboard}      # e.g. "tensorboard wandb"

VAL_ARGS=()
if [[ -n "$VAL_DATASET" ]]; then
  VAL_ARGS=(--val_dataset "$VAL_DATASET" --eval_steps 100)
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
  --tuner_type lora \
  --lora_rank "$LORA_RANK" \
  --lora_alpha "$LORA_ALPHA" \
  --lora_dropout 0.05 \
  --target_modules all-linear \
  --use_vllm true \
  --vllm_mode colocate \
  --vllm_gpu_memory_utilization "$VLLM_GPU_MEMORY_UTILIZATION" \
  --vllm_tensor_parallel_size 1 \
  --vllm_max_model_len "$MAX_LENGTH" \
  --vllm_limit_mm_per_prompt '{"audio": 1, "image": 0, "video": 0}' \
  --sleep_level 1 \
  --rollout_importance_sampling_mode token_truncate \
  --rollout_importance_sampling_threshold 2.0 \
  --deepspeed "$DEEPSPEED" \
  --num_generations "$NUM_GENERATIONS" \
  --per_device_train_batch_size "$PER_DEVICE_BATCH" \
  --gradient_accumulation_steps "$GRAD_ACC" \
  --num_generations_eval "$NUM_GENERATIONS_EVAL" \
  --per_device_eval_batch_size "$PER_DEVICE_EVAL_BATCH" \
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
  --report_to $REPORT_TO \
  --seed "$SEED" \
  --output_dir "$OUTPUT_DIR"

# Flag notes (docs/method.md §8–9); the GRPO objective and optimiser flags are in common.sh:
#   --rollout_importance_sampling_*            TIS, per-token weight min(π_old/π_vLLM, 2); vLLM rollouts only
#   --vllm_limit_mm_per_prompt                 one audio per prompt, no images/videos (vLLM memory planning)
#   --lr_scheduler_type linear --warmup_ratio 0.01 --weight_decay 0.01 --max_grad_norm 1.0   reference code
#   (ms-swift's defaults: cosine, 0, 0.1); --save_steps/--eval_steps 100, --seed 42 as in the reference.
#   Not set: --padding_free, --dynamic_sample true, --async_generate, --truncation_strategy delete — they break
#   the speech/text pairing and swift-tars refuses to start with them.
