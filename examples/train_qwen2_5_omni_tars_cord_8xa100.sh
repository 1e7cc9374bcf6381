#!/usr/bin/env bash
# TARS + CORD on Qwen2.5-Omni-7B, 8 × A100-80GB: the full TARS recipe (train_qwen2_5_omni_8xa100_zero3.sh) plus
# CORD's two signals (arXiv 2601.16547), all from the same `swift rlhf` command:
#   - token level: each speech rollout is distilled towards the same policy given the *text* question (reverse KL
#     per completion token, over the student's top-20 tokens, CORD weights); one extra no-grad forward per
#     micro-batch, right after the old-policy forward;
#   - sequence level: tars_agreement (speech answer == majority answer of the text rollouts).
#
#   bash examples/train_qwen2_5_omni_tars_cord_8xa100.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_tars_cord_8xa100.sh   # dry run
#
# train_qwen2_5_omni_cord_8xa100.sh (CORD only) overlays this script, so the CORD settings below are its too.
set -euo pipefail

# ---- CORD token-level term (TARS_* environment variables) ----------------------------------------------------
export TARS_DISTILL_COEF=${TARS_DISTILL_COEF:-0.1}   # not given in the CORD summary we work from: 0.1 keeps the
                                         # weighted KL (≈0.1–2 nats/token) below the GRPO term; sweep 0.05–0.5
export TARS_DISTILL_MODE=${TARS_DISTILL_MODE:-loss}  # loss: gradient of the KL itself; advantage: per-token
                                         # shaping (cheaper to reason about, no extra gradient path)
export TARS_DISTILL_TOPK=${TARS_DISTILL_TOPK:-20}    # CORD's top-k 20: KL over the student's 20 most likely
                                         # tokens (k rows of the 152k-row output matrix); 0 = exact, ~V/k more work
export TARS_DISTILL_TOP_TOKENS=${TARS_DISTILL_TOP_TOKENS:-20}        # CORD: up-weight the 20 highest-KL tokens
export TARS_DISTILL_KL_WEIGHT=${TARS_DISTILL_KL_WEIGHT:-2}           # ... by 2 (CORD's strength)
export TARS_DISTILL_POSITION_WEIGHT=${TARS_DISTILL_POSITION_WEIGHT:-2}  # early tokens 2 → last 1 (CORD)

# ---- rewards: TARS's four + CORD's agreement ------------------------------------------------------------------
export REWARD_FUNCS=${REWARD_FUNCS:-tars_accuracy tars_format tars_representation tars_behavior tars_agreement}
export REWARD_WEIGHTS=${REWARD_WEIGHTS:-1 1 1 1 1}
export TARS_AGREEMENT_JUDGE=${TARS_AGREEMENT_JUDGE:-extract}  # deterministic letter match; or an OpenAI-compatible
                                         # URL / local model for CORD's LLM judge (slower, can grade free text)

# ---- everything else: the TARS recipe (G = 4 speech + 4 text, T 1.0, LoRA, ZeRO-3, vLLM colocate) -------------
export OUTPUT_DIR=${OUTPUT_DIR:-output/tars-cord-qwen2.5-omni-7b}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh" "$@"
