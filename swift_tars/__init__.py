"""swift-tars: TARS (arXiv 2601.05543) as an ms-swift 4.6.0 GRPO plugin for speech LLMs.

Importing this package is cheap (no torch, no swift); the heavy pieces live in submodules.
The file handed to ``swift rlhf --external_plugins`` is ``swift_tars/plugin.py``
(``swift-tars plugin-path`` prints its absolute path).
"""
__version__ = '0.1.0'

SWIFT_VERSION = '4.6.0'  # the exact ms-swift release whose private hooks we override
