"""Accuracy, gap, own ratio and Modality Recovery Rate from scored predictions (pure Python).

All accuracies are percentages (0-100) over the full set: an item whose answer could not be extracted
counts as wrong (docs/method.md §10). Per set and mode: accuracy and extraction-failure rate; per set:
gap = text − speech (points) and own ratio = speech / text (this model's own text accuracy, %).

MRR (paper Eq. 1, docs/method.md §10 caveat) = speech accuracy / a *reference* text accuracy, e.g. the base
model's or the original text backbone's; it is reported only when a reference is given, and every value
says which denominator it used. Overall numbers come twice: item-weighted (all items of all sets pooled)
and the paper's unweighted mean over sets (``Avg(A) = (MMSU + OBQA) / 2``).
"""
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional

from swift_tars.data.rows import SPEECH, TEXT

MODES = (SPEECH, TEXT)
NO_SUBJECT = '(none)'


def _pct(num: float, den: float) -> Optional[float]:
    return 100.0 * num / den if den else None


def mode_stats(records: Iterable[Mapping]) -> dict:
    """n, correct, accuracy (%), extraction failures and their rate (%), and the rate (%) of completions cut
    by ``max_new_tokens`` (``finish_reason == 'length'``, a common cause of failures) of one mode's records."""
    records = list(records)
    n = len(records)
    correct = sum(1 for r in records if r['correct'])
    failed = sum(1 for r in records if r['extraction_failed'])
    truncated = sum(1 for r in records if r.get('finish_reason') == 'length')
    return {'n': n, 'correct': correct, 'accuracy': _pct(correct, n), 'extraction_failures': failed,
            'extraction_failure_rate': _pct(failed, n), 'truncated_rate': _pct(truncated, n)}


def gap_and_ratio(speech_acc: Optional[float], text_acc: Optional[float]) -> dict:
    """``gap`` = text − speech (points); ``own_ratio`` = speech / text (%), None when undefined."""
    if speech_acc is None or text_acc is None:
        return {'gap': None, 'own_ratio': None}
    return {'gap': text_acc - speech_acc, 'own_ratio': _pct(speech_acc, text_acc)}


def _by_mode(records: Iterable[Mapping]) -> Dict[str, List[Mapping]]:
    out: Dict[str, List[Mapping]] = {}
    for r in records:
        out.setdefault(r['mode'], []).append(r)
    return out


def _modes_block(records: Iterable[Mapping]) -> dict:
    by_mode = _by_mode(records)
    block = {mode: mode_stats(by_mode[mode]) for mode in MODES if mode in by_mode}
    block.update(gap_and_ratio(block.get(SPEECH, {}).get('accuracy'), block.get(TEXT, {}).get('accuracy')))
    return block


def set_summary(records: Iterable[Mapping]) -> dict:
    """One eval set: per-mode stats, gap, own ratio, and the same per subject (``subject`` of each record)."""
    records = list(records)
    summary = _modes_block(records)
    summary['n_items'] = len({r['question_id'] for r in records})
    subjects = defaultdict(list)
    for r in records:
        subjects[r.get('subject') or NO_SUBJECT].append(r)
    if set(subjects) != {NO_SUBJECT}:
        summary['subjects'] = {s: _modes_block(rs) for s, rs in sorted(subjects.items())}
    return summary


def overall(sets: Mapping[str, dict]) -> dict:
    """Item-weighted (pooled items) and unweighted (mean of per-set accuracies, the paper's Avg) overalls."""
    weighted, unweighted = {}, {}
    for mode in MODES:
        stats = [s[mode] for s in sets.values() if mode in s]
        if not stats:
            continue
        n = sum(st['n'] for st in stats)
        weighted[mode] = {'n': n, 'accuracy': _pct(sum(st['correct'] for st in stats), n),
                          'extraction_failure_rate': _pct(sum(st['extraction_failures'] for st in stats), n)}
        accs = [st['accuracy'] for st in stats if st['accuracy'] is not None]
        rates = [st['extraction_failure_rate'] for st in stats if st['extraction_failure_rate'] is not None]
        unweighted[mode] = {'n_sets': len(accs), 'accuracy': sum(accs) / len(accs) if accs else None,
                            'extraction_failure_rate': sum(rates) / len(rates) if rates else None}
    for block in (weighted, unweighted):
        block.update(gap_and_ratio(block.get(SPEECH, {}).get('accuracy'), block.get(TEXT, {}).get('accuracy')))
    return {'item_weighted': weighted, 'unweighted_mean_over_sets': unweighted}


@dataclass
class Reference:
    """The text accuracy MRR divides by: one number for everything, or per set from another run's summary.

    ``per_set``: set name -> {'accuracy': %, 'n': items, 'correct': items right}; ``value``: a single %.
    """
    source: str
    value: Optional[float] = None
    per_set: Dict[str, dict] = field(default_factory=dict)

    def for_set(self, name: str) -> Optional[float]:
        if self.value is not None:
            return self.value
        return self.per_set.get(name, {}).get('accuracy')

    def for_overall(self, names: List[str], weighted: bool) -> Optional[float]:
        """The reference over ``names``: unweighted mean of its set accuracies, or its pooled accuracy."""
        if self.value is not None:
            return self.value
        if not names or any(self.per_set.get(n, {}).get('accuracy') is None for n in names):
            return None
        if not weighted:
            return sum(self.per_set[n]['accuracy'] for n in names) / len(names)
        total = sum(self.per_set[n]['n'] for n in names)
        return _pct(sum(self.per_set[n]['correct'] for n in names), total)


def mrr(speech_acc: Optional[float], reference_text_acc: Optional[float], source: str) -> Optional[dict]:
    """Modality Recovery Rate (%) = speech accuracy / reference text accuracy, with its denominator named."""
    if speech_acc is None or not reference_text_acc:
        return None
    return {'value': _pct(speech_acc, reference_text_acc), 'denominator': reference_text_acc,
            'denominator_source': source}


def add_mrr(summary: dict, reference: Optional[Reference]) -> List[str]:
    """Adds ``mrr`` to every set and to both overalls of ``summary`` (in place); returns warnings."""
    warnings: List[str] = []
    if reference is None:
        return warnings
    names = list(summary['sets'])
    for name, s in summary['sets'].items():
        ref = reference.for_set(name)
        if ref is None:
            warnings.append(f'reference {reference.source} has no text accuracy for set {name!r}: no MRR for it')
        elif reference.value is None:
            ours, theirs = (s.get(SPEECH) or s.get(TEXT) or {}).get('n'), reference.per_set[name].get('n')
            if ours != theirs:
                warnings.append(f'set {name!r}: the reference text accuracy is over {theirs} items, '
                                f'this run has {ours}')
        source = reference.source if reference.value is not None else f'{reference.source} [{name}]'
        s['mrr'] = mrr(s.get(SPEECH, {}).get('accuracy'), ref, source)
    speech_names = [n for n in names if SPEECH in summary['sets'][n]]
    for key, weighted in (('item_weighted', True), ('unweighted_mean_over_sets', False)):
        block = summary['overall'][key]
        ref = reference.for_overall(speech_names, weighted)
        how = 'pooled items' if weighted else 'unweighted mean over sets'
        source = reference.source if reference.value is not None else f'{reference.source} [{how}]'
        block['mrr'] = mrr(block.get(SPEECH, {}).get('accuracy'), ref, source)
    return warnings


def summarize(records_by_set: Mapping[str, Iterable[Mapping]], reference: Optional[Reference] = None) -> dict:
    """The whole summary: ``sets`` (per set), ``overall`` (both averages), MRR when ``reference`` is given."""
    sets = {name: set_summary(records) for name, records in records_by_set.items()}
    summary = {'sets': sets, 'overall': overall(sets)}
    summary['warnings'] = add_mrr(summary, reference)
    return summary


def reference_from_summary(summary: Mapping, source: str) -> Reference:
    """A :class:`Reference` from another run's ``summary.json`` (its per-set text accuracies)."""
    per_set = {name: s[TEXT] for name, s in summary.get('sets', {}).items()
               if s.get(TEXT, {}).get('accuracy') is not None}
    if not per_set:
        raise ValueError(f'{source} has no text-mode accuracy for any set: was it run with --modes text?')
    return Reference(source=source, per_set=per_set)
