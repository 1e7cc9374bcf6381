"""The build pipeline (``swift-tars build-data``): public multiple-choice sources -> swift-tars row-format jsonl
+ 16 kHz mono wavs, with TTS backends (:mod:`.tts`), ASR checks (:mod:`.asr`), decontamination, resumable
parallel builds (:mod:`.pipeline`) and the per-source builders (:mod:`.mmlu`, :mod:`.voicebench`,
:mod:`.upstream`).

Built on ``swift_tars`` (the row format, schemas and audio checks live in ``swift_tars.data``); nothing in the
``swift_tars`` library imports it — only the command-line front (``swift_tars.cli``, ``swift_tars.commands``).
"""
