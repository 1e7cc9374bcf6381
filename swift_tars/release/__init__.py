"""Releasing a trained checkpoint: ``swift-tars push`` (:mod:`.push`, upload a LoRA or merged checkpoint to
the Hugging Face hub) and its generated model card (:mod:`.model_card`, :mod:`.card_datasets`).

May import: ``swift_tars.evaluation`` (the card's results table) and the core modules. Nothing in training
or evaluation imports it.
"""
