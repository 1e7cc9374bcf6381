"""TARS reward functions, one per module, each an ms-swift ``ORM`` registered by ``plugin.py``:

``tars_accuracy`` (accuracy.py), ``tars_format`` (format.py), ``tars_representation``
(representation.py, filled by the trainer), ``tars_behavior`` (behavior.py), and CORD's
``tars_agreement`` (agreement.py).
"""
