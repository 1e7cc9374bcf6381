"""Test-only ms-swift plugin: counts policy forwards outside ``generate`` and writes them at exit.

The counted class is the family's ``policy_forward`` (:mod:`swift_tars.models`) of ``$FORWARD_COUNT_MODEL_TYPE``
(default ``qwen2_5_omni``: the thinker).

With ``COUNT_PLAIN_GRPO=1`` it also puts ms-swift's own GRPOTrainer back, so a run measures plain GRPO.
Writes ``$FORWARD_COUNT_FILE.<rank>`` as JSON ``{"forwards": n, "with_grad": m}``.
"""
import atexit
import functools
import importlib
import json
import os

import torch
from swift.trainers import TrainerFactory
from transformers.generation.utils import GenerationMixin

from swift_tars.models import family

COUNTS = {'forwards': 0, 'with_grad': 0}
_depth = [0]
_generate = GenerationMixin.generate
_module, _class = family(os.environ.get('FORWARD_COUNT_MODEL_TYPE', 'qwen2_5_omni')).policy_forward.split(':')
_policy = getattr(importlib.import_module(_module), _class)
_forward = _policy.forward


@functools.wraps(_generate)
def generate(self, *args, **kwargs):
    _depth[0] += 1
    try:
        return _generate(self, *args, **kwargs)
    finally:
        _depth[0] -= 1


@functools.wraps(_forward)  # keeps the signature that generate() inspects
def forward(self, *args, **kwargs):
    if not _depth[0]:
        COUNTS['forwards'] += 1
        COUNTS['with_grad'] += int(torch.is_grad_enabled())
    return _forward(self, *args, **kwargs)


GenerationMixin.generate = generate
_policy.forward = forward
if os.environ.get('COUNT_PLAIN_GRPO') == '1':
    TrainerFactory.TRAINER_MAPPING['grpo'] = 'swift.rlhf_trainers.GRPOTrainer'


@atexit.register
def _write():
    rank = os.environ.get('RANK', '0')
    with open(f'{os.environ["FORWARD_COUNT_FILE"]}.{rank}', 'w') as f:
        json.dump(COUNTS, f)
