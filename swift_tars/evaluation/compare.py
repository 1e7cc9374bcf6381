"""``swift-tars eval --compare RUN_A RUN_B``: paired differences of two eval runs on the items both answered.

Per set and mode, over the question_ids both runs answered: accuracy of each run, the difference B − A in
points with a paired bootstrap 95 % interval, the discordant pairs (only A right, only B right) and the exact
McNemar p-value (a two-sided binomial test of the discordant pairs, :func:`.paired.mcnemar_exact`). Pairing
items is only meaningful when both runs asked the same questions, so a shared item whose prompt fingerprint or
gold letter differs between the runs stops the comparison with a message naming the set and the items.
"""
import json
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np

from swift_tars.data.rows import SPEECH, TEXT
from swift_tars.evaluation.eval_sets import EvalSetError
from swift_tars.evaluation.paired import RESAMPLES, SEED, item_rng, mcnemar_exact, percentile_interval

SHOWN = 5


def _read_predictions(path: Path) -> Dict[tuple, dict]:
    """(set, question_id, mode) -> record of a predictions file, read only (a torn last line is skipped)."""
    out = {}
    lines = path.read_text(encoding='utf-8').split('\n')
    for i, line in enumerate(lines[:-1]):  # the part after the last newline is unfinished
        if not line.strip():
            continue
        try:
            r = json.loads(line)
            out[(str(r['set']), str(r['question_id']), str(r['mode']))] = r
            bool(r['correct'])
        except (ValueError, KeyError, TypeError):
            raise EvalSetError(f'line {i + 1} of {path} is not a swift-tars eval prediction') from None
    return out


def load_run(run_dir) -> Tuple[str, Dict[tuple, dict]]:
    """(label, records) of an eval output dir; only the sets and modes of its ``summary.json`` when present."""
    run_dir = Path(run_dir)
    predictions = run_dir / 'predictions.jsonl'
    if not predictions.is_file():
        raise EvalSetError(f'--compare: {run_dir} is not a swift-tars eval output dir (no predictions.jsonl)')
    records = _read_predictions(predictions)
    summary_path = run_dir / 'summary.json'
    if summary_path.is_file():
        try:
            summary = json.loads(summary_path.read_text(encoding='utf-8'))
        except ValueError:
            raise EvalSetError(f'--compare: {summary_path} is not valid JSON') from None
        sets, modes = set(summary.get('sets', {})), set(summary.get('run', {}).get('modes') or (SPEECH, TEXT))
        records = {k: r for k, r in records.items() if k[0] in sets and k[2] in modes}
    return str(run_dir), records


def content_problems(name: str, a: Dict[tuple, dict], b: Dict[tuple, dict]) -> List[str]:
    """What differs between the two runs' shared items of set ``name``: gold letters, prompt fingerprints."""
    problems = []
    gold_a = {k[1]: r.get('gold') for k, r in a.items() if k[0] == name}
    gold_b = {k[1]: r.get('gold') for k, r in b.items() if k[0] == name}
    for qid in sorted(set(gold_a) & set(gold_b)):
        if gold_a[qid] != gold_b[qid]:
            problems.append(f'question_id {qid!r}: gold {gold_a[qid]} in RUN_A, {gold_b[qid]} in RUN_B')
    for key in sorted(set(a) & set(b)):
        fa, fb = a[key].get('prompt_fp'), b[key].get('prompt_fp')
        if key[0] == name and fa and fb and fa != fb:
            problems.append(f'question_id {key[1]!r}: the {key[2]} prompt differs (question text, options or audio)')
    return problems


def paired_difference(correct_a: np.ndarray, correct_b: np.ndarray, rng, resamples: int = RESAMPLES) -> dict:
    """Accuracies of A and B on the same items, B − A (points) with a paired bootstrap interval, the discordant
    counts and the exact McNemar p-value."""
    n = len(correct_a)
    only_a, only_b = int((correct_a & ~correct_b).sum()), int((~correct_a & correct_b).sum())
    diff = (correct_b.astype(float) - correct_a.astype(float)) * 100.0
    interval = None
    if resamples > 0 and n:
        interval = percentile_interval(diff[rng.integers(0, n, size=(resamples, n))].mean(axis=1))
    return {'n': n, 'accuracy_a': 100.0 * correct_a.mean() if n else None,
            'accuracy_b': 100.0 * correct_b.mean() if n else None, 'difference': float(diff.mean()) if n else None,
            'interval': interval, 'only_a_right': only_a, 'only_b_right': only_b,
            'mcnemar_p': mcnemar_exact(only_a, only_b)}


def _vectors(name: str, mode: str, a: Dict[tuple, dict], b: Dict[tuple, dict]) -> Tuple[np.ndarray, np.ndarray]:
    keys = sorted(k for k in set(a) & set(b) if k[0] == name and k[2] == mode)
    return (np.array([bool(a[k]['correct']) for k in keys], dtype=bool),
            np.array([bool(b[k]['correct']) for k in keys], dtype=bool))


def compare_runs(dir_a, dir_b, resamples: int = RESAMPLES, seed: int = SEED) -> dict:
    """The comparison of two eval output dirs (see the module docstring); :class:`EvalSetError` when their
    eval sets cannot be paired."""
    (label_a, a), (label_b, b) = load_run(dir_a), load_run(dir_b)
    sets_a, sets_b = {k[0] for k in a}, {k[0] for k in b}
    shared_sets = sorted(sets_a & sets_b)
    if not shared_sets:
        raise EvalSetError(f'--compare: the runs have no eval set in common (RUN_A: {sorted(sets_a)}, RUN_B: '
                           f'{sorted(sets_b)}); sets are matched by name')
    result = {'run_a': label_a, 'run_b': label_b, 'sets': {}, 'pooled': {}, 'notes': [],
              'bootstrap': {'resamples': resamples, 'seed': seed}}
    if any(not r.get('prompt_fp') for r in list(a.values()) + list(b.values())):
        result['notes'].append('some predictions carry no prompt fingerprint (an older swift-tars): for those items '
                               'only the gold letters were checked to be the same')
    for name in sorted(sets_a ^ sets_b):
        result['notes'].append(f"set {name!r} is only in RUN_{'A' if name in sets_a else 'B'}: not compared")
    pooled = {SPEECH: ([], []), TEXT: ([], [])}
    for name in shared_sets:
        result['sets'][name] = _compare_set(name, a, b, resamples, seed, pooled, result['notes'])
    for mode, (va, vb) in pooled.items():
        if va:
            result['pooled'][mode] = paired_difference(np.concatenate(va), np.concatenate(vb),
                                                       item_rng(seed, '(pooled)'), resamples)
    return result


def _compare_set(name: str, a, b, resamples: int, seed: int, pooled: dict, notes: List[str]) -> dict:
    """One set of :func:`compare_runs`; refuses when the shared items differ in content."""
    ids_a, ids_b = {k[1] for k in a if k[0] == name}, {k[1] for k in b if k[0] == name}
    if not ids_a & ids_b:
        raise EvalSetError(f'--compare: set {name!r} has no question_id in both runs ({len(ids_a)} in RUN_A, '
                           f'{len(ids_b)} in RUN_B): were they run on different files under the same set name?')
    problems = content_problems(name, a, b)
    if problems:
        shown = '; '.join(problems[:SHOWN]) + (f'; and {len(problems) - SHOWN} more' if len(problems) > SHOWN else '')
        raise EvalSetError(f'--compare: set {name!r} differs in content between the runs ({shown}); compare runs '
                           'of the same eval file (rerun one of them on the other\'s file)')
    if ids_a != ids_b:
        notes.append(f'set {name!r}: {len(ids_a & ids_b)} shared items compared; {len(ids_a - ids_b)} only in '
                     f'RUN_A and {len(ids_b - ids_a)} only in RUN_B left out')
    block = {'shared_items': len(ids_a & ids_b), 'only_in_a': len(ids_a - ids_b), 'only_in_b': len(ids_b - ids_a)}
    for mode in (SPEECH, TEXT):
        va, vb = _vectors(name, mode, a, b)
        if len(va):
            block[mode] = paired_difference(va, vb, item_rng(seed, f'{name}/{mode}'), resamples)
            pooled[mode][0].append(va)
            pooled[mode][1].append(vb)
    return block
