"""Paired statistics of an eval run: the speech × text 2×2 table per set and bootstrap 95 % intervals.

Speech and text answer the *same* items, so the gap decomposes exactly: gap = (only text right − only speech
right) / items. Intervals are percentile bootstrap intervals over items (``resamples`` draws of the items with
replacement, seeded per set by ``seed`` and the set name, so adding a set changes no other set's interval);
both modes of an item are drawn together, which makes the gap interval a paired one. The overall intervals
resample within each set (stratified). MRR = speech accuracy / a fixed reference text accuracy
(:mod:`.metrics`), so its interval is the speech interval over the same denominator; the reference's own
sampling error is not included.
"""
import zlib
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from swift_tars.data.rows import SPEECH, TEXT

RESAMPLES, SEED, CONFIDENCE = 2000, 0, 0.95


def correctness(records: Sequence[Mapping]) -> Dict[str, np.ndarray]:
    """Per mode, 1.0 / 0.0 per item (NaN where that mode has no record), items in a shared question_id order."""
    ids = list(dict.fromkeys(str(r['question_id']) for r in records))
    index = {q: i for i, q in enumerate(ids)}
    out = {}
    for mode in (SPEECH, TEXT):
        values = np.full(len(ids), np.nan)
        for r in records:
            if r['mode'] == mode:
                values[index[str(r['question_id'])]] = float(bool(r['correct']))
        if not np.isnan(values).all():
            out[mode] = values
    return out


def contingency(records: Sequence[Mapping]) -> Optional[dict]:
    """The 2×2 of the items answered in both modes: both right, only text right, only speech right, neither.

    >>> rs = [{'question_id': q, 'mode': m, 'correct': c} for q, m, c in
    ...       [('a', 'speech', True), ('a', 'text', True), ('b', 'speech', False), ('b', 'text', True)]]
    >>> contingency(rs)
    {'n': 2, 'both_right': 1, 'only_text': 1, 'only_speech': 0, 'neither': 0}
    """
    c = correctness(records)
    if SPEECH not in c or TEXT not in c:
        return None
    both = ~np.isnan(c[SPEECH]) & ~np.isnan(c[TEXT])
    s, t = c[SPEECH][both] == 1, c[TEXT][both] == 1
    return {'n': int(both.sum()), 'both_right': int((s & t).sum()), 'only_text': int((~s & t).sum()),
            'only_speech': int((s & ~t).sum()), 'neither': int((~s & ~t).sum())}


def item_rng(seed: int, name: str) -> np.random.Generator:
    """The bootstrap generator of one set (or comparison cell): depends on ``seed`` and ``name`` only."""
    return np.random.default_rng([seed, zlib.crc32(name.encode('utf-8'))])


def resample_counts(values: Dict[str, np.ndarray], rng: np.random.Generator, resamples: int) -> Dict[str, tuple]:
    """Per mode, (correct, answered) counts of ``resamples`` bootstrap draws of the items (same draws for
    both modes)."""
    n = len(next(iter(values.values())))
    idx = rng.integers(0, n, size=(resamples, n))
    out = {}
    for mode, v in values.items():
        drawn = v[idx]
        out[mode] = (np.nansum(drawn, axis=1), (~np.isnan(drawn)).sum(axis=1))
    return out


def percentile_interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> Optional[List[float]]:
    """[low, high] percentile interval of bootstrap ``samples`` (NaN draws ignored), None when there is none."""
    samples = samples[~np.isnan(samples)]
    if samples.size == 0:
        return None
    tail = 100 * (1 - confidence) / 2
    return [float(np.percentile(samples, tail)), float(np.percentile(samples, 100 - tail))]


def _acc(correct: np.ndarray, answered: np.ndarray) -> np.ndarray:
    with np.errstate(invalid='ignore', divide='ignore'):
        return np.where(answered > 0, 100.0 * correct / np.maximum(answered, 1), np.nan)


def _intervals(acc: Dict[str, np.ndarray], mrr: Optional[dict], confidence: float) -> dict:
    """Intervals of speech/text accuracy, gap and MRR from per-draw accuracies."""
    out = {f'{mode}_accuracy': percentile_interval(a, confidence) for mode, a in acc.items()}
    if SPEECH in acc and TEXT in acc:
        out['gap'] = percentile_interval(acc[TEXT] - acc[SPEECH], confidence)
    if mrr and out.get(f'{SPEECH}_accuracy'):
        out['mrr'] = [100.0 * x / mrr['denominator'] for x in out[f'{SPEECH}_accuracy']]
    return out


def add_paired(summary: dict, records_by_set: Mapping[str, Sequence[Mapping]], resamples: int = RESAMPLES,
               seed: int = SEED, confidence: float = CONFIDENCE) -> None:
    """Adds ``paired`` (the 2×2) and ``intervals`` to every set and ``intervals`` to both overalls (in place)."""
    if resamples < 1:
        return
    draws = {}
    for name, records in records_by_set.items():
        values = correctness(records)
        if not values:
            continue
        draws[name] = resample_counts(values, item_rng(seed, name), resamples)
        block = summary['sets'][name]
        block['paired'] = contingency(records)
        acc = {mode: _acc(*counts) for mode, counts in draws[name].items()}
        block['intervals'] = _intervals(acc, block.get('mrr'), confidence)
    method = {'method': 'percentile bootstrap over items', 'resamples': resamples, 'seed': seed,
              'confidence': confidence}
    summary['intervals_method'] = method
    overall = summary.get('overall', {})
    for mode_key, weighted in (('item_weighted', True), ('unweighted_mean_over_sets', False)):
        if mode_key in overall:
            overall[mode_key]['intervals'] = _intervals(_overall_acc(draws, weighted), overall[mode_key].get('mrr'),
                                                        confidence)


def _overall_acc(draws: Mapping[str, Dict[str, tuple]], weighted: bool) -> Dict[str, np.ndarray]:
    """Per mode and draw: pooled accuracy (``weighted``) or the mean of the per-set accuracies."""
    out = {}
    for mode in (SPEECH, TEXT):
        per_set = [d[mode] for d in draws.values() if mode in d]
        if not per_set:
            continue
        if weighted:
            out[mode] = _acc(sum(c for c, _ in per_set), sum(a for _, a in per_set))
        else:
            out[mode] = np.mean([_acc(c, a) for c, a in per_set], axis=0)
    return out


def mcnemar_exact(b: int, c: int) -> float:
    """Exact two-sided McNemar p-value: a binomial test of ``b`` against ``b + c`` discordant pairs at 1/2.

    >>> round(mcnemar_exact(7, 1), 7)
    0.0703125
    """
    if b + c == 0:
        return 1.0
    from scipy.stats import binomtest

    return float(binomtest(b, b + c, 0.5).pvalue)
