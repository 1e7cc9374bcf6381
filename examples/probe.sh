#!/usr/bin/env bash
# Layer-wise speech/text hidden-state similarity (paper Fig. 2) and Alignment Path Score, for the base model and a
# TARS checkpoint on the same questions: each item's text-mode answer is teacher-forced after the audio prompt and
# after the text prompt, and the answer-token states are compared layer by layer.
#
#   ADAPTERS=output/tars-qwen2.5-omni-7b/v0-xxx/checkpoint-2400 bash examples/probe.sh
set -euo pipefail

SWIFT_TARS=${SWIFT_TARS:-swift-tars}
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}
ADAPTERS=${ADAPTERS:?set ADAPTERS to the LoRA checkpoint to compare with the base model}
EVAL_SET=${EVAL_SET:-mmsu=data/eval/mmsu.jsonl}  # one row-format eval set, optionally NAME=path
N=${N:-256}                              # questions (seeded sample); the interval shrinks with √N
OUTPUT_DIR=${OUTPUT_DIR:-tars-probe/$(basename "$ADAPTERS")}
export ENABLE_AUDIO_OUTPUT=0
export USE_HF=${USE_HF:-1}

# The base model is the first curve, the adapter (--compare) the second.
$SWIFT_TARS probe \
  --model "$MODEL" \
  --compare "$ADAPTERS" \
  --labels base tars \
  --eval_set "$EVAL_SET" \
  --n "$N" \
  --answer_source text \
  --torch_dtype bfloat16 \
  --output_dir "$OUTPUT_DIR"
# -> $OUTPUT_DIR/probe.json, layer_similarity.png, aps.png
