"""``swift-tars eval --judge``: an LLM judge reads every stored answer after generation, beside the deterministic
scoring (multiple choice: :class:`~swift_tars.judging.judges.ChoiceJudge`, xFinder's format, the paper's scoring;
``--task open``: :class:`~swift_tars.judging.judges.OpenJudge`, the reference-based yes/no judge).

Each record gains ``judge_output`` (the reply), ``judge_pred`` (multiple choice: the letter it names, None for no
valid answer), ``judge_correct`` and ``judge_fp``: the hash of the judge (spec, endpoint model, weight files) and
of everything it was shown. Judging is resumable and keyed on content like generation: a record whose
``judge_fp`` matches is not asked again; a changed answer, question, option list, reference or judge is. The
predictions file is rewritten after every batch of ``--judge_batch_size`` (a kill loses one batch).
"""
import hashlib
import json
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from swift_tars.data.open_rows import references_of
from swift_tars.data.rows import OPTIONS, QUESTION_ID, SPEECH, TEXT, TEXT_QUERY
from swift_tars.evaluation.eval_sets import EvalSet
from swift_tars.evaluation.fingerprint import weights_signature
from swift_tars.evaluation.predictions import PredictionStore
from swift_tars.judging.judges import ChoiceJudge, OpenJudge, model_of
from swift_tars.judging.xfinder import question_of


def judge_identity(spec: str, model: str = '') -> dict:
    """What makes two judges the same: the spec (a local folder resolved), the endpoint model, the weight files."""
    path = Path(model_of(spec)).expanduser()
    local = path.exists()
    return {'judge': str(path.resolve()) if local else model_of(spec), 'judge_model': model or None,
            'weights': weights_signature(str(path)) if local else None}


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf-8')).hexdigest()[:20]


def choice_item(row: Mapping, record: Mapping) -> tuple:
    """What the choice judge is shown: (question without options, completion, options)."""
    return question_of(row.get('question'), row.get(TEXT_QUERY)), record['completion'], list(row.get(OPTIONS) or [])


def open_item(row: Mapping, record: Mapping) -> tuple:
    """What the open judge is shown: (question, references, final answer)."""
    return str(row[TEXT_QUERY]), references_of(row), record['answer']


def _pending(sets: Sequence[EvalSet], modes: Sequence[str], store: PredictionStore, item_of, identity: dict):
    """[(record key, item, judge_fp)] of every selected record whose stored judging is missing or stale."""
    todo = []
    for s in sets:
        for row in s.rows:
            for mode in modes:
                key = (s.name, str(row[QUESTION_ID]), mode)
                record = store.records.get(key)
                if record is None:
                    continue
                item = item_of(row, record)
                fp = _sha([identity, item])
                if record.get('judge_fp') != fp:
                    todo.append((key, item, fp))
    return todo


def _choice_fields(reading, record: Mapping) -> dict:
    return {'judge_output': reading.label, 'judge_pred': reading.letter,
            'judge_correct': reading.letter is not None and reading.letter == record.get('gold')}


def judge_records(sets: Sequence[EvalSet], modes: Sequence[str], store: PredictionStore, judge, identity: dict,
                  batch_size: int = 64, progress: bool = True) -> dict:
    """Brings the judging of every selected record up to date; returns ``{'judged', 'judged_before'}``. Multiple
    choice ``judge_correct`` follows the current gold letter even when nothing is asked again."""
    from tqdm import tqdm

    choice = isinstance(judge, ChoiceJudge)
    todo = _pending(sets, modes, store, choice_item if choice else open_item, identity)
    selected = sum(1 for s in sets for r in s.rows for m in modes if (s.name, str(r[QUESTION_ID]), m) in store.records)
    if choice and _refresh_gold(store):
        store.rewrite(list(store.records.values()))
    bar = tqdm(total=len(todo), desc='swift-tars eval: judge', unit='answer', dynamic_ncols=True,
               disable=not progress or not todo)
    try:
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            replies = judge([item for _, item, _ in batch])
            for (key, _, fp), reply in zip(batch, replies):
                record = store.records[key]
                fields = _choice_fields(reply, record) if choice else {'judge_output': reply[0],
                                                                       'judge_correct': reply[1]}
                store.records[key] = {**record, **fields, 'judge_fp': fp}
            store.rewrite(list(store.records.values()))
            bar.update(len(batch))
    finally:
        bar.close()
    return {'judged': len(todo), 'judged_before': selected - len(todo)}


def _refresh_gold(store: PredictionStore) -> bool:
    """Re-checks stored choice verdicts against the stored gold letters (an edited gold); True if any changed."""
    changed = False
    for key, record in store.records.items():
        if 'judge_pred' in record:
            right = record['judge_pred'] is not None and record['judge_pred'] == record.get('gold')
            if record.get('judge_correct') != right:
                store.records[key] = {**record, 'judge_correct': right}
                changed = True
    return changed


def make_judge(task: str, spec: str, model: str = '', batch_size: int = 16):
    """The judge of ``--judge SPEC`` for a task: choice (``mcq``) or open (``open``)."""
    return (OpenJudge if task == 'open' else ChoiceJudge)(spec, model, batch_size)


def _choice_block(records: Sequence[Mapping]) -> Optional[dict]:
    judged = [r for r in records if 'judge_correct' in r]
    if not judged:
        return None
    n = len(judged)
    return {'n': n, 'extractor_accuracy': 100.0 * sum(bool(r['correct']) for r in judged) / n,
            'judge_accuracy': 100.0 * sum(bool(r['judge_correct']) for r in judged) / n,
            'judge_no_answer_rate': 100.0 * sum(r.get('judge_pred') is None for r in judged) / n,
            'disagreement_rate': 100.0 * sum(r.get('judge_pred') != r.get('pred') for r in judged) / n,
            'correctness_disagreement_rate': 100.0 * sum(bool(r['correct']) != bool(r['judge_correct'])
                                                         for r in judged) / n}


def add_judge_summary(summary: dict, records_by_set: Mapping[str, Sequence[Mapping]], identity: dict) -> None:
    """Adds ``judge`` (per mode: extractor vs judge accuracy, disagreement; the judge's gap) to every set and to the
    pooled overall of a multiple-choice ``summary``, and the judge identity at the top (in place)."""
    def block(records):
        out: Dict[str, dict] = {}
        for mode in (SPEECH, TEXT):
            b = _choice_block([r for r in records if r['mode'] == mode])
            if b:
                out[mode] = b
        if SPEECH in out and TEXT in out:
            out['gap'] = out[TEXT]['judge_accuracy'] - out[SPEECH]['judge_accuracy']
        return out

    for name, records in records_by_set.items():
        summary['sets'][name]['judge'] = block(records)
    summary['overall']['item_weighted']['judge'] = block([r for rs in records_by_set.values() for r in rs])
    summary['judge'] = identity


def judge_table(summary: Mapping) -> List[str]:
    """Markdown lines comparing the extractor with the judge per set (nothing when there was no judge)."""
    if not summary.get('judge'):
        return []
    lines = ['', f"Judge {summary['judge']['judge']} (xFinder format) beside the extractor:", '',
             '| Set | Mode | Items | Extractor acc (%) | Judge acc (%) | Judge: no answer (%) | Letters differ (%) | '
             'Verdicts differ (%) |', '|---|---|---:|---:|---:|---:|---:|---:|']
    blocks = [(name, s.get('judge') or {}) for name, s in summary['sets'].items()]
    if len(blocks) > 1:
        blocks.append(('**All sets, pooled**', summary['overall']['item_weighted'].get('judge') or {}))
    for name, b in blocks:
        for mode in (SPEECH, TEXT):
            if mode in b:
                m = b[mode]
                lines.append(f"| {name} | {mode} | {m['n']} | {m['extractor_accuracy']:.2f} | {m['judge_accuracy']:.2f} "
                             f"| {m['judge_no_answer_rate']:.2f} | {m['disagreement_rate']:.2f} | "
                             f"{m['correctness_disagreement_rate']:.2f} |")
        if 'gap' in b:
            lines.append(f'| {name} | gap T−A (judge) | | | {b["gap"]:.2f} | | | |')
    return lines
