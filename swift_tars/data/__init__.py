"""The data model shared by training, evaluation and the builders: the row format and its checks
(:mod:`.rows`) and the dataset checks run before training (:mod:`.row_checks`), one question's fields (:mod:`.mcq`), the upstream and VoiceBench schemas (:mod:`.upstream`,
:mod:`.voicebench`), 16 kHz audio and the content-addressed wav cache (:mod:`.audio`, :mod:`.wavcache`), the resumable append-only
jsonl with torn-tail repair (:mod:`.jsonl_log`), and
the ms-swift dataset registration (:mod:`.datasets`, the only module here that imports ms-swift).

May import: ``swift_tars.config``, ``swift_tars.answers``, ``swift_tars.prompts``. Imported by every other
layer, including ``data_builders``; it never imports ``data_builders``.
"""
