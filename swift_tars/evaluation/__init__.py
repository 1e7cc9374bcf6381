"""Evaluation of the modality gap: ``swift-tars eval`` (accuracy, gap, MRR; ``--task asr``: WER of transcriptions)
and ``swift-tars probe`` (layer-wise speech/text hidden-state similarity and the Alignment Path Score).

Pure pieces (no torch, no ms-swift): :mod:`.stats`, :mod:`.alignment`, :mod:`.metrics`, :mod:`.paired`,
:mod:`.compare`, :mod:`.fingerprint`, :mod:`.resume`, :mod:`.report`, :mod:`.wer`, :mod:`.asr`.
Model-facing pieces use ms-swift's own engines and templates: :mod:`.engine`, :mod:`.runner`, :mod:`.probe`.
"""
