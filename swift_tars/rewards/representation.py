"""``tars_representation``: layer-wise cosine between a speech rollout's hidden states and those of the
correct text rollouts of the same question (docs/method.md §5.3).

ORMs cannot see the policy, so the registered class is a placeholder that returns ``None``; the
swift-tars trainer captures the pooled states during GRPO's old-policy forward and fills this
column with :func:`representation_rewards` before advantages are computed.

>>> import torch
>>> pooled = torch.tensor([[[1., 0.]], [[1., 1.]], [[0., 1.]], [[1., 1.]]])   # [N=4, L=1, H=2]
>>> r, stats = representation_rewards(pooled, ['q'] * 4, ['speech', 'text'] * 2, [1, 1, 0, 1])
>>> [round(v, 4) for v in r.tolist()[::2]], r[1].isnan().item()
([0.7071, 0.7071], True)
"""
from typing import Any, Dict, List, Sequence, Tuple

import torch
from swift.rewards import ORM

from swift_tars.config import allowed_values
from swift_tars.data.rows import SPEECH, TEXT
from swift_tars.grpo.pairing import question_runs, reference_cosines, rollout_groups

EMPTY_POOL_POLICIES = allowed_values('TARS_EMPTY_POOL')


def representation_rewards(pooled: torch.Tensor,
                           question_ids: Sequence[Any],
                           modalities: Sequence[str],
                           correct: Sequence[float],
                           reference: str = 'mean',
                           empty_pool: str = 'neutral') -> Tuple[torch.Tensor, Dict[str, int]]:
    """``R_rep`` per rollout from pooled states ``[N, L, H]`` (NaN rows = nothing was pooled).

    Text rollouts: NaN (no alignment reward). Speech rollouts of a question without a correct text
    rollout: NaN (no signal; identical for the whole speech half, so it moves no advantage). A
    speech rollout with nothing to pool (empty/truncated-away completion): ``neutral`` gives it the
    mean of the other speech rollouts of its group (so this term adds no advantage), ``penalty``
    gives 0.0 (the reference code's implicit behaviour). Returns (rewards ``[N]``, counts).
    """
    if empty_pool not in EMPTY_POOL_POLICIES:
        raise ValueError(f'empty_pool={empty_pool!r}; use one of {EMPTY_POOL_POLICIES}')
    usable = torch.isfinite(pooled.float()).flatten(1).all(dim=1).tolist()
    rewards = reference_cosines(pooled, question_ids, modalities, correct, reference, usable)
    stats = {'groups': 0, 'groups_without_correct_text': 0, 'empty_pool': 0}
    for run in question_runs(question_ids, modalities):
        stats['groups'] += 1
        if not any(modalities[i] == TEXT and correct[i] == 1 and usable[i] for i in run):
            stats['groups_without_correct_text'] += 1
            continue
        speech = [i for i in run if modalities[i] == SPEECH]
        empty = [i for i in speech if not usable[i]]
        stats['empty_pool'] += len(empty)
        valid = rewards[[i for i in speech if usable[i]]]
        for i in empty:
            if empty_pool == 'penalty':
                rewards[i] = 0.0
            elif valid.numel():
                rewards[i] = valid.mean()
    return rewards, stats


class TarsRepresentation(ORM):
    """Placeholder column for ``R_rep``; the swift-tars trainer fills it (see module docstring)."""

    def __call__(self, completions: List[str], **kwargs) -> List[None]:
        rollout_groups(kwargs, len(completions), 'tars_representation')
        return [None] * len(completions)
