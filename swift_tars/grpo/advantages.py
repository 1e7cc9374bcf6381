"""Per-modality GRPO advantages (docs/method.md §7): speech and text centred separately in each group.

Under joint centring the stronger text rollouts would push every speech rollout down; centring per
modality compares speech with speech and text with text. ``scale='group'`` also divides by the
modality's unbiased standard deviation (+1e-4), like ms-swift's ``--scale_rewards group``;
``'none'`` (the paper, Dr. GRPO) only centres.
"""
from typing import Sequence

import torch

from swift_tars.data.rows import SPEECH, TEXT

SCALES = ('none', 'group')


def per_modality_advantages(rewards: torch.Tensor, modalities: Sequence[str], group_size: int,
                            scale: str = 'none') -> torch.Tensor:
    """``rewards``: ``[N]`` total rewards in gathered (group-major) order; returns ``[N]`` advantages.

    >>> per_modality_advantages(torch.tensor([1., 2., 0., 4.]), ['speech', 'text'] * 2, 4).tolist()
    [0.5, -1.0, -0.5, 1.0]
    """
    if scale not in SCALES:
        raise ValueError(f'scale_rewards={scale!r} is not defined per modality; use one of {SCALES}')
    n = rewards.shape[0]
    if len(modalities) != n or n % group_size:
        raise ValueError(f'{n} rewards, {len(modalities)} modality tags, group size {group_size}')
    unknown = set(modalities) - {SPEECH, TEXT}
    if unknown:
        raise ValueError(f'unknown modality tags {sorted(unknown)}')
    grouped = rewards.float().view(-1, group_size)
    is_speech = torch.tensor([m == SPEECH for m in modalities], device=rewards.device).view(-1, group_size)
    advantages = torch.zeros_like(grouped)
    for mask in (is_speech, ~is_speech):
        m = mask.float()
        count = m.sum(dim=1, keepdim=True)
        mean = (grouped * m).sum(dim=1, keepdim=True) / count.clamp(min=1)
        centred = (grouped - mean) * m
        if scale == 'group':
            var = (centred**2).sum(dim=1, keepdim=True) / (count - 1).clamp(min=1)
            centred = centred / (var.sqrt() + 1e-4)
        advantages += centred
    return advantages.view(-1).to(rewards.dtype)
