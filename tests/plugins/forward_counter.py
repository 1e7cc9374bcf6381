"""Test-only ms-swift plugin: counts policy (thinker) forwards outside ``generate`` and writes them at exit.

With ``COUNT_PLAIN_GRPO=1`` it also puts ms-swift's own GRPOTrainer back, so a run measures plain GRPO.
Writes ``$FORWARD_COUNT_FILE.<rank>`` as JSON ``{"forwards": n, "with_grad": m}``.
"""
import atexit
import functools
import json
import os

import torch
from swift.trainers import TrainerFactory
from transformers.generation.utils import GenerationMixin
from transformers.models.qwen2_5_omni import modeling_qwen2_5_omni as omni

COUNTS = {'forwards': 0, 'with_grad': 0}
_depth = [0]
_generate = GenerationMixin.generate
_forward = omni.Qwen2_5OmniThinkerForConditionalGeneration.forward


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
omni.Qwen2_5OmniThinkerForConditionalGeneration.forward = forward
if os.environ.get('COUNT_PLAIN_GRPO') == '1':
    TrainerFactory.TRAINER_MAPPING['grpo'] = 'swift.rlhf_trainers.GRPOTrainer'


@atexit.register
def _write():
    rank = os.environ.get('RANK', '0')
    with open(f'{os.environ["FORWARD_COUNT_FILE"]}.{rank}', 'w') as f:
        json.dump(COUNTS, f)
