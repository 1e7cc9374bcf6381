#!/usr/bin/env bash
# TARS on Qwen2.5-Omni-7B across two nodes of 8 GPUs: the full recipe of train_qwen2_5_omni_8xa100_zero3.sh,
# launched by ms-swift/torchrun on each node. Run the SAME command on both nodes, only NODE_RANK differs:
#
#   node 0:  NODE_RANK=0 MASTER_ADDR=10.0.0.1 bash examples/train_qwen2_5_omni_2nodes.sh
#   node 1:  NODE_RANK=1 MASTER_ADDR=10.0.0.1 bash examples/train_qwen2_5_omni_2nodes.sh
#
# The data path, the swift-tars version and every TARS_* variable must be identical on both nodes (torchrun
# passes the environment to the local workers only). OUTPUT_DIR should be on a shared file system.
#
# Batch arithmetic: each rank must hold whole groups, B = per_device 4 × steps_per_generation (= GA) 2 = 8 = G. With
# 16 ranks the smallest optimiser step is therefore 16 × 8 = 128 completions = 16 questions (twice the paper's
# 64), i.e. half as many optimiser steps per epoch. The learning rate is kept (the DAPO loss is a token mean, so
# the gradient scale does not grow with the batch); lower it or cut EPOCHS if the run becomes too aggressive/long.
set -euo pipefail

# ---- multi-node (read by `swift`, passed to torchrun; NPROC_PER_NODE 8 and MASTER_PORT come from the recipe) ---
export NNODES=${NNODES:-2}
export NODE_RANK=${NODE_RANK:?set NODE_RANK=0 on the first node and 1 on the second}
export MASTER_ADDR=${MASTER_ADDR:?set MASTER_ADDR to the address of node 0 (on both nodes)}

export OUTPUT_DIR=${OUTPUT_DIR:-output/tars-qwen2.5-omni-7b-2nodes}
exec bash "$(dirname "${BASH_SOURCE[0]}")/train_qwen2_5_omni_8xa100_zero3.sh" "$@"
