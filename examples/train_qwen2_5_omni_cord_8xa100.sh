#!/usr/bin/env bash
# CORD only on Qwen2.5-Omni-7B, 8 × A100-80GB (arXiv 2601.16547 settings where known): no answer labels are used.
# The TARS + CORD recipe (train_qwen2_5_omni_tars_cord_8xa100.sh: the CORD token-level settings) without TARS's
# rewards:
#   - token level: reverse KL from each speech rollout to the same policy given the text question (top-20, CORD
#     weights), added to the loss;
#   - sequence level: GRPO on tars_agreement (speech answer == majority answer of the text rollouts),
#     temperature 1.5, no KL to a reference model.
# Text rollouts are still sampled — they are the agreement reference and carry no reward of their own here
# (NaN -> zero advantage), so they are not trained; the speech half is the CORD policy update. CORD samples 4 audio
# rollouts; swift-tars adds 4 text rollouts as the agreement reference (G = 4 + 4), which doubles rollout cost.
#
#   bash examples/train_qwen2_5_omni_cord_8xa100.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_cord_8xa100.sh   # dry run
set -euo pipefail

export REWARD_FUNCS=${REWARD_FUNCS:-tars_agreement}
export REWARD_WEIGHTS=${REWARD_WEIGHTS:-1}
export TEMPERATURE=${TEMPERATURE:-1.5}   # CORD's GRPO temperature: more diverse speech rollouts (more groups with
                                         # both agreeing and disagreeing answers), at the price of more malformed or
                                         # truncated completions than at 1.0

export OUTPUT_DIR=${OUTPUT_DIR:-output/cord-qwen2.5-omni-7b}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_tars_cord_8xa100.sh" "$@"
