"""LLM judges: the paper's xFinder answer extractor for multiple-choice answers (:mod:`.xfinder`), a
reference-based yes/no judge for free-form answers (:mod:`.qa`), both served by a local model through
ms-swift's inference engine or by an OpenAI-compatible endpoint (:mod:`.serving`), chosen by one spec
(:mod:`.judges`). Used by ``swift-tars eval --judge`` and by the rewards (``TARS_ACCURACY_JUDGE``,
``TARS_AGREEMENT_JUDGE``)."""
