# Sourced by the training scripts: the TARS paper's GRPO objective and optimiser settings (docs/method.md §8–9) in one
# place, so every recipe trains the same objective. Pass "${TARS_GRPO_ARGS[@]}" and "${TARS_OPTIM_ARGS[@]}" to
# `swift rlhf`; override TEMPERATURE from the environment.
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
