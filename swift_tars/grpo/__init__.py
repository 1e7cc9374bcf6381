"""The GRPO internals of TARS and CORD behind the one trainer extension (:mod:`.trainer`, registered by
``plugin.py`` as ms-swift's ``grpo`` trainer): speech/text group pairing (:mod:`.pairing`), per-modality
advantages (:mod:`.advantages`), hidden-state capture for ``R_rep`` (:mod:`.hidden_states`), CORD's text
teacher view and token-level KL (:mod:`.teacher`, :mod:`.distill`), start-up checks (:mod:`.guards`)
and the resume check against a checkpoint's run card (:mod:`.resume`).

May import: ``swift_tars.config``, ``swift_tars.data``, ``swift_tars.rewards``, torch and ms-swift. Imported
by the plugin, the evaluation probe (layer discovery) and ``swift-tars check-args`` (guards).
"""
