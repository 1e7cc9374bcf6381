"""``swift-tars eval --task open``: free-form spoken questions (open rows, :mod:`swift_tars.data.open_rows`, e.g.
VoiceBench SD-QA's real accented speech) answered in speech and text mode, accuracy per set and per accent.

Each row is asked under ``SYSTEM_THINK`` (the policy's training prompt) with its audio (speech mode) or its
``text_query`` (text mode). The answer is the last ``<answer>`` block (:func:`~.asr.hypothesis_of`) without a
leading "The answer is". Two scores per item: ``match`` (deterministic: a reference, after Whisper's English
normaliser, occurs as whole words in the normalised answer) and, with ``--judge``, the judge's verdict
(:mod:`swift_tars.judging.qa`, VoiceBench's reference-based yes/no protocol), which is what VoiceBench reports
for SD-QA. Resuming, fingerprints and row checks are those of the other tasks (:class:`~.runner.TaskKind`).
"""
import re
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from swift_tars.data.open_rows import ACCENT, open_row_problems, references_of
from swift_tars.data.rows import AUDIOS, SPEECH, TEXT, TEXT_QUERY
from swift_tars.evaluation.asr import hypothesis_of
from swift_tars.evaluation.eval_sets import EvalSet, EvalSetError, load_checked_sets
from swift_tars.evaluation.report import write_summary
from swift_tars.evaluation.runner import TaskKind
from swift_tars.evaluation.wer import normalize
from swift_tars.prompts import SYSTEM_THINK

NO_ACCENT = '(none)'
_LEAD = re.compile(r'^\s*(?:the\s+(?:final\s+)?answer\s+is\s*[:：]?\s*)', re.I)

DEFINITIONS = {
    'match_accuracy': 'percent of items where a reference, after Whisper\'s English normaliser, occurs as whole words '
                      'in the normalised answer (deterministic; strict for paraphrases)',
    'judge_accuracy': 'percent of items the judge (--judge) calls correct given the question and the reference '
                      "(VoiceBench's SD-QA protocol; comparable with VoiceBench when the judge model is the same)",
    'disagreement_rate': 'percent of items where match and judge disagree',
    'gap': 'text accuracy minus speech accuracy, in points (judge accuracy when judged, else match accuracy)',
}


def build_open_request(row: dict, mode: str) -> dict:
    """The ``mode`` request of an open row (``InferRequest`` kwargs)."""
    if mode == SPEECH:
        return {'messages': [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': '<audio>'}],
                'audios': list(row[AUDIOS])}
    if mode == TEXT:
        return {'messages': [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': row[TEXT_QUERY]}]}
    raise EvalSetError(f'unknown mode {mode!r}')


def answer_of(completion: str) -> str:
    """The final answer of a completion, without a leading "The answer is".

    >>> answer_of('<think>he wrote it</think><answer>The answer is Herman Melville.</answer>')
    'Herman Melville.'
    """
    return _LEAD.sub('', hypothesis_of(completion)).strip()


def reference_match(answer: str, references: Sequence[str]) -> bool:
    """A normalised reference occurs as whole words in the normalised answer.

    >>> reference_match('It was Herman Melville.', ['herman melville']), reference_match('Melvin', ['Melville'])
    (True, False)
    """
    said = f' {normalize(answer)} '
    return any(ref and f' {ref} ' in said for ref in (normalize(r) for r in references))


def open_fields(row: dict, completion: str) -> dict:
    """The scored fields of an open record: accent, answer, references, ``match`` (stored as ``correct``)."""
    answer, references = answer_of(completion), references_of(row)
    match = reference_match(answer, references)
    return {'accent': row.get(ACCENT), 'answer': answer, 'references': references, 'correct': match}


OPEN = TaskKind('open', build_open_request, open_fields)


def load_open_sets(specs: Sequence[str], limit: Optional[int] = None) -> List[EvalSet]:
    """The open eval files of ``specs``, every row checked (:func:`open_row_problems`)."""
    return load_checked_sets(specs, limit, open_row_problems)


def _pct(num: int, den: int) -> Optional[float]:
    return 100.0 * num / den if den else None


def _mode_block(records: Sequence[Mapping]) -> dict:
    n = len(records)
    judged = [r for r in records if 'judge_correct' in r]
    block = {'n': n, 'match_accuracy': _pct(sum(bool(r['correct']) for r in records), n)}
    if judged:
        block.update(judge_accuracy=_pct(sum(bool(r['judge_correct']) for r in judged), len(judged)),
                     disagreement_rate=_pct(sum(bool(r['correct']) != bool(r['judge_correct']) for r in judged),
                                            len(judged)), judged=len(judged))
    return block


def _modes(records: Iterable[Mapping]) -> dict:
    by_mode: Dict[str, List[Mapping]] = defaultdict(list)
    for r in records:
        by_mode[r['mode']].append(r)
    block = {mode: _mode_block(by_mode[mode]) for mode in (SPEECH, TEXT) if mode in by_mode}
    if SPEECH in block and TEXT in block:
        key = 'judge_accuracy' if 'judge_accuracy' in block[SPEECH] else 'match_accuracy'
        block['gap'] = block[TEXT][key] - block[SPEECH][key]
        block['gap_of'] = key
    return block


def summarize_open(records_by_set: Mapping[str, Sequence[Mapping]]) -> dict:
    """Per set (and per accent within it) and pooled: match and judge accuracy per mode, their disagreement,
    the text − speech gap."""
    sets = {}
    for name, records in records_by_set.items():
        accents: Dict[str, List[Mapping]] = defaultdict(list)
        for r in records:
            accents[r.get('accent') or NO_ACCENT].append(r)
        sets[name] = {**_modes(records), 'n_items': len({r['question_id'] for r in records}),
                      'accents': {a: _modes(rs) for a, rs in sorted(accents.items())}}
    pooled = [r for records in records_by_set.values() for r in records]
    return {'task': 'open', 'sets': sets, 'overall': {'item_weighted': _modes(pooled)}}


def _f(x: Optional[float]) -> str:
    return '—' if x is None else f'{x:.2f}'


def _row(label: str, block: Mapping) -> str:
    speech, text = block.get(SPEECH, {}), block.get(TEXT, {})
    cells = [label, str(max(speech.get('n', 0), text.get('n', 0))), _f(speech.get('match_accuracy')),
             _f(text.get('match_accuracy')), _f(speech.get('judge_accuracy')), _f(text.get('judge_accuracy')),
             _f(block.get('gap')), _f(speech.get('disagreement_rate')), _f(text.get('disagreement_rate'))]
    return '| ' + ' | '.join(cells) + ' |'


def open_markdown(summary: Mapping) -> str:
    """The table of ``swift-tars eval --task open``: per set, its accents, and all sets pooled."""
    lines = ['| Set / accent | Items | Speech match (%) | Text match (%) | Speech judge (%) | Text judge (%) | '
             'Gap T−A (pts) | Speech match≠judge (%) | Text match≠judge (%) |',
             '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    for name, s in summary['sets'].items():
        lines.append(_row(f'**{name}**', s))
        if set(s['accents']) != {NO_ACCENT}:
            lines += [_row(f'{name} / {accent}', b) for accent, b in s['accents'].items()]
    if len(summary['sets']) > 1:
        lines.append(_row('**All sets, pooled**', summary['overall']['item_weighted']))
    judged = any('judge_accuracy' in b for s in summary['sets'].values() for b in (s.get(SPEECH, {}),
                                                                                  s.get(TEXT, {})))
    lines += ['', 'match = a reference occurs in the normalised answer (deterministic); judge = the --judge model '
              "says the answer is correct given the reference (VoiceBench's SD-QA scoring); gap = text − speech, "
              + ('judge accuracy.' if judged else 'match accuracy (no --judge given: judge columns empty).')]
    return '\n'.join(lines) + '\n'


def write_open_summary(summary: dict, out_dir) -> List[Path]:
    """Writes ``summary.json`` (with the definitions) and ``summary.md`` under ``out_dir``; returns both paths."""
    return write_summary(summary, out_dir, definitions=DEFINITIONS, render=open_markdown)
