"""Offline stand-ins for tests, the demo and the benchmarks: tiny seeded models built on CPU without a hub
(:mod:`.models`: Qwen2.5-Omni, the embedder, a random LoRA adapter; :mod:`.families`: Qwen2-Audio and
Qwen3-Omni; :mod:`.omni_shape`: random-weight models
of the 7B thinker's and the 0.6B embedder's shapes), their teacher-forced warm start
(:mod:`.warm_start`), the miniature modality gap of ``reproduce-mini`` (:mod:`.gap_miniature`), the real
``swift rlhf`` run offline (:mod:`.runs`), and synthetic source data and audio (:mod:`.data`).

May import the core modules, ``swift_tars.data`` and ``swift_tars.cli`` (the plugin path); never
``data_builders``. Production code never imports it.
"""
