#!/usr/bin/env bash
# Build the TARS data in swift-tars' row format (16 kHz wavs + jsonl), from the public sources on the HF hub:
#
#   data/tars/train.jsonl     the released TARS training set (yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1)
#   data/tars/val200.jsonl    200 held-out rows for in-training evaluation (the paper's split: shuffle seed 42,
#                             first 200 rows)
#   data/eval/mmsu.jsonl      VoiceBench MMSU (3,074 questions, 12 domains)
#   data/eval/openbookqa.jsonl  VoiceBench OpenBookQA (455 questions)
#
#   bash examples/build_data.sh
#   DECONTAMINATE=1 bash examples/build_data.sh   # drop training questions that also appear in the eval sets
#
# Rebuilding your own spoken MMLU set instead (TTS): `swift-tars build-data mmlu --help`.
set -euo pipefail

SWIFT_TARS=${SWIFT_TARS:-swift-tars}
PYTHON=${PYTHON:-python}
DATA_DIR=${DATA_DIR:-data/tars}          # training rows and wavs
EVAL_DIR=${EVAL_DIR:-data/eval}          # evaluation rows and wavs
WORKERS=${WORKERS:-8}                    # parallel conversion workers (audio decoding + resampling)
VAL_ROWS=${VAL_ROWS:-200}
SPLIT_SEED=${SPLIT_SEED:-42}
DECONTAMINATE=${DECONTAMINATE:-0}        # 1: --exclude the eval sets (OBQA train is part of MMLU auxiliary_train;
                                         # the paper did not decontaminate, docs/method.md §2.5)
export USE_HF=${USE_HF:-1}

# 1. evaluation sets first (needed by --exclude)
$SWIFT_TARS build-data voicebench --subset mmsu --out "$EVAL_DIR" --workers "$WORKERS"
$SWIFT_TARS build-data voicebench --subset openbookqa --out "$EVAL_DIR" --workers "$WORKERS"

# 2. the released training set -> $DATA_DIR/all.jsonl
EXCLUDE=()
if [[ "$DECONTAMINATE" == 1 ]]; then
  EXCLUDE=(--exclude "$EVAL_DIR/mmsu.jsonl" "$EVAL_DIR/openbookqa.jsonl")
fi
$SWIFT_TARS build-data upstream --out "$DATA_DIR" --name all --workers "$WORKERS" "${EXCLUDE[@]}"

# 3. held-out split: the same permutation as datasets.Dataset.shuffle(seed=42) (numpy default_rng), first 200 rows
#    -> val200.jsonl, the rest -> train.jsonl. Identical to the paper's split only if no row was dropped above.
"$PYTHON" - "$DATA_DIR/all.jsonl" "$DATA_DIR/train.jsonl" "$DATA_DIR/val200.jsonl" "$VAL_ROWS" "$SPLIT_SEED" <<'PY'
import sys

import numpy as np

src, train, val, n_val, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
lines = [line for line in open(src, encoding='utf-8') if line.strip()]
order = np.random.default_rng(seed).permutation(len(lines))
with open(val, 'w', encoding='utf-8') as f:
    f.writelines(lines[i] for i in order[:n_val])
with open(train, 'w', encoding='utf-8') as f:
    f.writelines(lines[i] for i in order[n_val:])
print(f'{len(lines)} rows -> {val} ({min(n_val, len(lines))}) + {train} ({max(len(lines) - n_val, 0)})')
PY
