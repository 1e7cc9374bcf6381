#!/usr/bin/env bash
# Reward and layer-set ablations of TARS on Qwen2.5-Omni-7B (paper Table 2/3 and the layer ablation), each run the
# full 8-GPU recipe of train_qwen2_5_omni_8xa100_zero3.sh with a different reward list, one after another:
#
#   base   tars_accuracy tars_format                                   GRPO with R_base only (same 4+4 groups and
#                                                                      per-modality advantages as TARS)
#   rep    base + tars_representation                                  + R_rep
#   beh    base + tars_behavior                                        + R_beh  <- recommended for Qwen
#   full   base + tars_representation + tars_behavior                  TARS
#
# The paper found R_rep *hurt* on Qwen2.5-Omni (MRR 99.23 % -> 98.39 %) while behaviour alignment alone reached
# 100.01 % ("over-regularisation of a well-trained model", docs/method.md §11), hence the default ABLATIONS=beh.
#
#   bash examples/train_qwen2_5_omni_ablations.sh                                   # behaviour-only run
#   ABLATIONS="base rep beh full" bash examples/train_qwen2_5_omni_ablations.sh     # the reward ablation
#   ABLATIONS=rep LAYER_SETS="shallow middle deep last all" bash examples/train_qwen2_5_omni_ablations.sh
#   SWIFT="swift-tars check-args" ABLATIONS="base rep beh full" bash examples/train_qwen2_5_omni_ablations.sh
# Extra arguments go to every `swift rlhf` run.
set -euo pipefail
EXTRA_ARGS=("$@")

ABLATIONS=${ABLATIONS:-beh}              # any of: base rep beh full (run in this order)
LAYER_SETS=${LAYER_SETS:-all}            # TARS_LAYERS for runs with tars_representation: all shallow middle deep
                                         # last or ranges like 10-18 (Qwen2.5-Omni-7B has 28 decoder layers:
                                         # shallow 1-9, middle 10-18, deep 19-26, last 27-28)
OUTPUT_ROOT=${OUTPUT_ROOT:-output/tars-ablations}
RECIPE=${RECIPE:-"$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh"}  # batch arithmetic: see there

run() {  # name, TARS_LAYERS, reward functions...
  local name=$1 layers=$2
  shift 2
  local weights
  weights=$(printf '1 %.0s' "$@")        # weight 1 per reward, as in the paper (α = β = 1)
  echo "== ablation $name: rewards $*, TARS_LAYERS=$layers -> $OUTPUT_ROOT/$name" >&2
  REWARD_FUNCS="$*" REWARD_WEIGHTS="${weights% }" TARS_LAYERS="$layers" OUTPUT_DIR="$OUTPUT_ROOT/$name" \
    bash "$RECIPE" "${EXTRA_ARGS[@]}"
}

for ablation in $ABLATIONS; do
  case "$ablation" in
    base) run base all tars_accuracy tars_format ;;
    beh) run beh all tars_accuracy tars_format tars_behavior ;;
    rep | full)
      for layers in $LAYER_SETS; do
        suffix=""
        [[ "$layers" != all ]] && suffix="-layers-${layers//,/_}"
        if [[ "$ablation" == rep ]]; then
          run "rep$suffix" "$layers" tars_accuracy tars_format tars_representation
        else
          run "full$suffix" "$layers" tars_accuracy tars_format tars_representation tars_behavior
        fi
      done
      ;;
    *) echo "unknown ablation '$ablation': use base rep beh full" >&2; exit 2 ;;
  esac
done
