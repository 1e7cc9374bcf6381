# Sourced by the training recipe train_qwen2_5_omni_8xa100_zero3.sh (which every other training script overlays)
# and by the `swift rollout` part of train_qwen2_5_omni_vllm_server.sh. Two things live here, each once:
#   1. what `swift rlhf` and `swift rollout` must agree on (the same model, length budget and audio limit);
#   2. the TARS paper's GRPO objective and optimiser settings (docs/method.md §8–9): pass "${TARS_GRPO_ARGS[@]}" and
#      "${TARS_OPTIM_ARGS[@]}" to `swift rlhf`.
# Every variable can be overridden from the environment.

# ---- shared by the trainer and the vLLM rollout server ---------------------------------------------------------
export USE_HF=${USE_HF:-1}               # model ids are Hugging Face ids (ms-swift's default hub is ModelScope)
export ENABLE_AUDIO_OUTPUT=0             # do not build the talker: memory, and required with ZeRO-3
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}     # Qwen/Qwen2.5-Omni-3B is quicker for plumbing checks
MAX_LENGTH=${MAX_LENGTH:-8192}           # prompt ≤ ~3.1k tokens for 120 s of audio (25 audio tokens/s) + completion;
                                         # also vLLM's max_model_len
VLLM_LIMIT_MM_PER_PROMPT=${VLLM_LIMIT_MM_PER_PROMPT:-'{"audio": 1, "image": 0, "video": 0}'}  # vLLM memory planning

# ---- the paper's GRPO objective and optimiser ------------------------------------------------------------------
TEMPERATURE=${TEMPERATURE:-1.0}   # paper sampling temperature (ms-swift's default is 0.9)

TARS_GRPO_ARGS=(
  --truncation_strategy left      # never `delete`: it replaces over-long rows one by one and breaks the groups
  --temperature "$TEMPERATURE" --top_p 1.0 --top_k -1   # paper sampling
  --beta 0                        # no KL term and no reference model (ms-swift's default is 0.04)
  --loss_type dapo --epsilon 0.2 --epsilon_high 0.28    # DAPO token-mean loss, asymmetric clipping
  --scale_rewards none            # Dr. GRPO: mean-centring only; swift-tars centres per modality
  --overlong_filter true          # truncated completions are masked out of the loss
  --num_iterations 1
  --dynamic_sample false          # swift-tars refuses true: it would resample groups before R_rep is filled in
)

TARS_OPTIM_ARGS=(
  # reference code (ms-swift's defaults: cosine, 0, 0.1)
  --lr_scheduler_type linear --warmup_ratio 0.01 --weight_decay 0.01 --max_grad_norm 1.0
)
