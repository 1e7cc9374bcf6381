"""Where a reproduce-mini arm's speech advantage comes from: per-group reward spread of its logged rollouts.

GRPO learns from the spread of rewards inside a group. For every speech group (one question at one step) of a
run's ``completions.jsonl`` this measures, per reward term, the standard deviation over that group's speech
rollouts, and how often the accuracy term is flat (all right or all wrong: ``R_base`` then gives no signal and
only a dense term can). Used by ``swift-tars reproduce-mini`` to explain why an arm did or did not beat another.
"""
import math
import statistics
from collections import defaultdict
from typing import Dict, Iterable, Mapping

from swift_tars.data.rows import MODALITY, QUESTION_ID, SPEECH

ACCURACY = 'TarsAccuracy'
NOT_TERMS = {'step', 'prompt', 'completion', 'solution', QUESTION_ID, MODALITY, 'advantages'}


def speech_group_signal(rollouts: Iterable[Mapping]) -> Dict[str, object]:
    """Mean within-group std of each reward term and of the advantage over the speech groups of ``rollouts``.

    ``rollouts``: one dict per rollout (``swift_tars.testing.runs.read_completions``). Returns ``groups`` (count),
    ``accuracy_flat`` (fraction of groups whose accuracy does not vary), ``std`` (term → mean std over groups),
    ``std_when_accuracy_flat`` (the same over the flat groups) and ``mean_abs_advantage`` (all / flat groups).

    >>> rows = [{'step': '1', 'question_id': 'q', 'tars_modality': 'speech', 'TarsAccuracy': a, 'TarsBehavior': b,
    ...          'advantages': a + b - 1.0} for a, b in ((1.0, 1.0), (0.0, 0.5), (0.0, 0.0))]
    >>> s = speech_group_signal(rows)
    >>> s['groups'], s['accuracy_flat'], round(s['std']['TarsAccuracy'], 4), round(s['std']['TarsBehavior'], 4)
    (1, 0.0, 0.4714, 0.4082)
    """
    groups = defaultdict(list)
    for row in rollouts:
        if row.get(MODALITY) == SPEECH:
            groups[(row['step'], row[QUESTION_ID])].append(row)
    spreads, flat = defaultdict(list), defaultdict(list)
    advantages, n_flat = {'all': [], 'accuracy_flat': []}, 0
    for rows in groups.values():
        terms = [k for k in rows[0] if k not in NOT_TERMS]
        group_std = {t: _pstdev([r.get(t) for r in rows]) for t in terms}
        is_flat = group_std.get(ACCURACY) == 0.0
        n_flat += is_flat
        mean_abs = statistics.fmean(abs(r['advantages']) for r in rows) if 'advantages' in rows[0] else None
        for term, value in group_std.items():
            if value is not None:
                spreads[term].append(value)
                if is_flat:
                    flat[term].append(value)
        if mean_abs is not None:
            advantages['all'].append(mean_abs)
            if is_flat:
                advantages['accuracy_flat'].append(mean_abs)
    return {'groups': len(groups), 'accuracy_flat': n_flat / len(groups) if groups else None,
            'std': _means(spreads), 'std_when_accuracy_flat': _means(flat),
            'mean_abs_advantage': _means(advantages)}


def _pstdev(values) -> float:
    """Population std of the finite values (None when there are none)."""
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    return statistics.pstdev(finite) if finite else None


def _means(lists: Mapping[str, list]) -> Dict[str, float]:
    return {k: statistics.fmean(v) for k, v in lists.items() if v}


SIGNAL_COLUMNS = (('flat-accuracy groups %', ('accuracy_flat', ), 100.0),
                  ('std R_acc', ('std', 'TarsAccuracy'), 1.0), ('std R_format', ('std', 'TarsFormat'), 1.0),
                  ('std R_rep', ('std', 'TarsRepresentation'), 1.0), ('std R_beh', ('std', 'TarsBehavior'), 1.0),
                  ('std R_agree', ('std', 'TarsAgreement'), 1.0),
                  ('mean abs adv.', ('mean_abs_advantage', 'all'), 1.0),
                  ('mean abs adv., flat groups', ('mean_abs_advantage', 'accuracy_flat'), 1.0))


def signal_markdown(labels: Mapping[str, str], signals: Mapping[str, list]) -> str:
    """A table of :func:`speech_group_signal` per arm (mean over seeds; '—' where an arm lacks the term)."""
    head = '| arm | ' + ' | '.join(c[0] for c in SIGNAL_COLUMNS) + ' |\n|---' + '|---' * len(SIGNAL_COLUMNS) + '|\n'
    lines = []
    for arm, per_seed in signals.items():
        cells = []
        for _, path, scale in SIGNAL_COLUMNS:
            values = [_lookup(s, path) for s in per_seed]
            values = [v for v in values if v is not None]
            cells.append(f'{scale * statistics.fmean(values):.3f}' if values else '—')
        lines.append(f'| {labels[arm]} | ' + ' | '.join(cells) + ' |')
    return head + '\n'.join(lines) + '\n'


def _lookup(signal: Mapping, path) -> float:
    value = signal
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    return value
