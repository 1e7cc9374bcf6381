#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B with DeepSpeed ZeRO-2 instead of ZeRO-3: the recipe of train_qwen2_5_omni_8xa100_zero3.sh
# (8 × A100-80GB, LoRA, vLLM colocate, 64 completions per step), only the DeepSpeed stage differs.
#
# ZeRO-2 partitions the optimiser state and gradients only: every GPU holds the whole bf16 model, so it needs more
# memory per GPU than ZeRO-3 (which also shards the parameters). In exchange no parameter gather runs inside the
# forward, so ranks that run the audio encoder a different number of times cannot hang, as they can under ZeRO-3
# (ms-swift's documentation recommends ZeRO-2 for that case). The reference TARS code trained with ZeRO-2.
# With the TARS groups every micro-batch of every rank holds per_device/2 audios (README: when to pick which), so
# ZeRO-3 is safe with the shipped settings; pick ZeRO-2 for data or settings that break that, or to match the
# reference. If vLLM and the replicated weights do not fit together, lower VLLM_GPU_MEMORY_UTILIZATION.
#
#   bash examples/train_qwen2_5_omni_8xa100_zero2.sh
#   SWIFT="swift-tars check-args" bash examples/train_qwen2_5_omni_8xa100_zero2.sh   # dry run
set -euo pipefail

export DEEPSPEED=${DEEPSPEED:-zero2}
export OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-zero2}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh" "$@"
