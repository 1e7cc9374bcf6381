"""Data builders: public multiple-choice sources -> swift-tars row-format jsonl + 16 kHz mono wavs."""
