"""Offline stand-ins for tests, the demo and the benchmarks: tiny seeded models built on CPU without a hub
(:mod:`.models`: Qwen2.5-Omni, the embedder, a random LoRA adapter), the real ``swift rlhf`` run offline
(:mod:`.runs`), and synthetic source data and audio (:mod:`.data`).

May import the core modules and ``swift_tars.data``; never ``data_builders``. Production code never imports it.
"""
