#!/usr/bin/env bash
# Upload a TARS checkpoint to the Hugging Face hub with a generated model card (base model, data, rewards and
# weights, layer set, TARS_* settings, hyper-parameters, the `swift-tars eval` table and the MRR protocol note).
#
#   export HF_TOKEN=hf_...                # read from the environment; never printed or written to a file
#   CHECKPOINT=output/tars-qwen2.5-omni-7b/v0-xxx/checkpoint-2400 HUB_MODEL_ID=me/tars-qwen2.5-omni-7b \
#     bash examples/push_to_hub.sh
#   DRY_RUN=1 ...                        # write the upload folder and the card, list the files, upload nothing
#   MERGE_LORA=1 ...                     # upload the merged model (swift export --merge_lora) instead of the adapter
#
# Plain ms-swift alternative without the card: swift export --adapters $CHECKPOINT --push_to_hub true \
#   --hub_model_id $HUB_MODEL_ID --use_hf true [--merge_lora true] (token from HF_TOKEN or --hub_token).
set -euo pipefail

SWIFT_TARS=${SWIFT_TARS:-swift-tars}
CHECKPOINT=${CHECKPOINT:?set CHECKPOINT to a checkpoint dir of swift rlhf (or its run dir: the last checkpoint)}
HUB_MODEL_ID=${HUB_MODEL_ID:?set HUB_MODEL_ID=user/name}
EVAL_SUMMARY=${EVAL_SUMMARY:-}           # tars-eval/<name>/summary.json from examples/eval_voicebench.sh
BASE_MODEL=${BASE_MODEL:-}               # hub id for the card when the run used a local model path
MERGE_LORA=${MERGE_LORA:-0}              # 1: merge the LoRA into the base model and upload the full model
PRIVATE=${PRIVATE:-1}                    # 1: create a private repository
DRY_RUN=${DRY_RUN:-0}

ARGS=(--checkpoint "$CHECKPOINT" --hub_model_id "$HUB_MODEL_ID")
[[ -n "$EVAL_SUMMARY" ]] && ARGS+=(--eval_summary "$EVAL_SUMMARY")
[[ -n "$BASE_MODEL" ]] && ARGS+=(--base_model "$BASE_MODEL")
[[ "$MERGE_LORA" == 1 ]] && ARGS+=(--merge_lora)
[[ "$PRIVATE" == 1 ]] && ARGS+=(--private)
[[ "$DRY_RUN" == 1 ]] && ARGS+=(--dry_run)

$SWIFT_TARS push "${ARGS[@]}"
