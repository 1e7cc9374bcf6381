"""The resumable evaluation loop: every (set, row, mode) not yet in the predictions file, in batches.

The engine is created lazily (``engine_factory``), so a finished run re-summarises without loading a model.
Each batch is one ``engine.infer`` call of one set and one mode; its records are appended and flushed
before the next batch starts.
"""
import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence

from swift_tars.answers import extract_choice
from swift_tars.data.mcq import row_gold_letter
from swift_tars.data.rows import OPTIONS, QUESTION_ID
from swift_tars.evaluation.engine import Completion, generate
from swift_tars.evaluation.eval_sets import EvalSet, build_request
from swift_tars.evaluation.predictions import PredictionStore

SUBJECT_COLUMNS = ('subject', 'category')


def subject_of(row: dict) -> Optional[str]:
    """The row's subject for the per-subject breakdown: ``subject``, else VoiceBench's ``category``."""
    for column in SUBJECT_COLUMNS:
        if row.get(column) not in (None, ''):
            return str(row[column])
    return None


def score(row: dict, completion: str) -> dict:
    """``extract_choice`` against the gold letter: pred (letter or None), gold, correct, extraction_failed."""
    pred = extract_choice(completion, row.get(OPTIONS))
    gold = row_gold_letter(row)
    return {'pred': pred, 'gold': gold, 'correct': pred == gold, 'extraction_failed': pred is None}


def mcq_fields(row: dict, completion: str) -> dict:
    """The scored fields of a multiple-choice record: subject, then :func:`score`."""
    return {'subject': subject_of(row), **score(row, completion)}


@dataclass(frozen=True)
class TaskKind:
    """What differs between eval tasks: the chat ``request(row, mode)`` and the scored ``fields(row, completion)``
    stored with each record (re-computed when resuming, so they follow the eval file)."""
    name: str
    request: Callable[[dict, str], dict]
    fields: Callable[[dict, str], dict]


MCQ = TaskKind('mcq', build_request, mcq_fields)


def make_record(set_name: str, row: dict, mode: str, completion: Completion, prompt_fp: Optional[str] = None,
                run_fp: Optional[str] = None, task: TaskKind = MCQ) -> dict:
    """One predictions-file line; ``prompt_fp`` / ``run_fp`` (:mod:`.fingerprint`) say what was asked, of whom."""
    return {'set': set_name, 'question_id': str(row[QUESTION_ID]), 'mode': mode, **task.fields(row, completion.text),
            'completion': completion.text, 'finish_reason': completion.finish_reason,
            'completion_tokens': completion.completion_tokens, 'prompt_tokens': completion.prompt_tokens,
            'prompt_fp': prompt_fp, 'run_fp': run_fp, 'time': time.time()}


def pending(sets: Sequence[EvalSet], modes: Sequence[str], store: PredictionStore) -> Dict[tuple, List[dict]]:
    """(set name, mode) -> the rows still to run, in file order."""
    todo = {}
    for s in sets:
        for mode in modes:
            rows = [r for r in s.rows if (s.name, str(r[QUESTION_ID]), mode) not in store]
            if rows:
                todo[(s.name, mode)] = rows
    return todo


def run(sets: Sequence[EvalSet], modes: Sequence[str], store: PredictionStore, engine_factory: Callable[[], object],
        config_factory: Callable[[], object], batch_size: int, progress: bool = True,
        fingerprints: Optional[Dict[tuple, str]] = None, run_fp: Optional[str] = None, task: TaskKind = MCQ) -> dict:
    """Generates every missing (set, row, mode); returns counts ``{'done_before', 'generated', 'batches'}``.

    ``engine_factory()`` -> an ms-swift engine and ``config_factory()`` -> its ``RequestConfig`` are called
    only when something is left to generate. ``fingerprints`` ((set, question_id, mode) -> prompt
    fingerprint) and ``run_fp`` are stored with each record; ``task`` makes the requests and scores the answers.
    """
    fingerprints = fingerprints or {}
    from tqdm import tqdm

    todo = pending(sets, modes, store)
    total = sum(len(rows) for rows in todo.values())
    stats = {'done_before': sum(len(s.rows) for s in sets) * len(modes) - total, 'generated': 0, 'batches': 0}
    if not total:
        return stats
    engine, config = engine_factory(), config_factory()
    bar = tqdm(total=total, desc='swift-tars eval', unit='q', dynamic_ncols=True, disable=not progress)
    try:
        for (set_name, mode), rows in todo.items():
            bar.set_postfix_str(f'{set_name}/{mode}')
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                completions = generate(engine, [task.request(r, mode) for r in batch], config)
                store.append(make_record(set_name, r, mode, c, fingerprints.get((set_name, str(r[QUESTION_ID]), mode)),
                                         run_fp, task) for r, c in zip(batch, completions))
                stats['generated'] += len(batch)
                stats['batches'] += 1
                bar.update(len(batch))
    finally:
        bar.close()
    return stats


def scored_records(sets: Sequence[EvalSet], modes: Sequence[str], store: PredictionStore) -> Dict[str, List[dict]]:
    """Per set, the stored records of its selected rows (missing ones skipped), exactly as in the predictions
    file: :func:`swift_tars.evaluation.resume.reconcile` has brought their scores up to date first."""
    out: Dict[str, List[dict]] = {}
    for s in sets:
        keys = [(s.name, str(row[QUESTION_ID]), mode) for mode in modes for row in s.rows]
        out[s.name] = [store.records[k] for k in keys if k in store.records]
    return out
