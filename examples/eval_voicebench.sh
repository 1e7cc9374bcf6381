#!/usr/bin/env bash
# Speech vs text accuracy, gap and MRR on VoiceBench MMSU + OpenBookQA (paper Table 1 protocol: greedy, up to
# 1,000 new tokens, speech mode = system prompt + audio only, text mode = VoiceBench's text prompt).
#
#   bash examples/eval_voicebench.sh                                         # the base model
#   ADAPTERS=output/tars-qwen2.5-omni-7b/v0-xxx/checkpoint-2400 bash examples/eval_voicebench.sh
#   ADAPTERS=... REFERENCE_TEXT_ACC=tars-eval/Qwen2.5-Omni-7B/summary.json bash examples/eval_voicebench.sh
#
# Resumable: rerun the same command after an interruption. Data: examples/build_data.sh.
set -euo pipefail

SWIFT_TARS=${SWIFT_TARS:-swift-tars}
MODEL=${MODEL:-Qwen/Qwen2.5-Omni-7B}     # base model (or a merged/full checkpoint)
ADAPTERS=${ADAPTERS:-}                   # LoRA checkpoint dir of `swift rlhf`; empty = evaluate MODEL itself
EVAL_DIR=${EVAL_DIR:-data/eval}
NAME=$(basename "${ADAPTERS:-$MODEL}")
OUTPUT_DIR=${OUTPUT_DIR:-tars-eval/$NAME}
INFER_BACKEND=${INFER_BACKEND:-vllm}     # vllm (fast) or transformers
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-1000}   # paper: 1,000 (training used 1,024)
REFERENCE_TEXT_ACC=${REFERENCE_TEXT_ACC:-77.70}  # MRR denominator: the paper divides every Qwen2.5-Omni row by the
                                         # original text backbone's 77.70; or pass the base model's summary.json
export ENABLE_AUDIO_OUTPUT=0             # text output only (no talker)
export USE_HF=${USE_HF:-1}

ADAPTER_ARGS=()
if [[ -n "$ADAPTERS" ]]; then
  ADAPTER_ARGS=(--adapters "$ADAPTERS")
fi

$SWIFT_TARS eval \
  --model "$MODEL" \
  "${ADAPTER_ARGS[@]}" \
  --eval_sets "mmsu=$EVAL_DIR/mmsu.jsonl" "obqa=$EVAL_DIR/openbookqa.jsonl" \
  --infer_backend "$INFER_BACKEND" \
  --max_new_tokens "$MAX_NEW_TOKENS" \
  --temperature 0 \
  --reference_text_acc "$REFERENCE_TEXT_ACC" \
  --output_dir "$OUTPUT_DIR"
# -> $OUTPUT_DIR/summary.json (for `swift-tars push --eval_summary`), summary.md, predictions.jsonl
