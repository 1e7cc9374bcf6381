"""``swift-tars eval --task asr``: the policy transcribes ASR rows (:mod:`swift_tars.data.asr_rows`), scored by WER.

Each row is one speech request: a transcription prompt (``ASR_SYSTEM`` + the audio + ``ASR_INSTRUCTION``, the
prompt Qwen2.5-Omni's ASR evaluation uses), greedy by default. Its completion is the hypothesis (the last
``<answer>`` block of a policy that still reasons, :func:`hypothesis_of`); both it and the
row's ``transcript`` are normalised with Whisper's English normaliser and aligned (:mod:`.wer`). Per set: the
corpus WER (total edits / total reference words) with its substitutions, deletions and insertions. Rows are
checked before any model is loaded (the audio rule of training), and resuming, fingerprints and the
predictions file are those of the multiple-choice path (:class:`~.runner.TaskKind`).
"""
import re
from pathlib import Path
from typing import List, Mapping, Optional, Sequence

from swift_tars.data.asr_rows import TRANSCRIPT, asr_row_problems
from swift_tars.data.rows import AUDIOS, SPEECH
from swift_tars.evaluation.eval_sets import EvalSet, EvalSetError, load_checked_sets
from swift_tars.evaluation.report import write_summary
from swift_tars.evaluation.runner import TaskKind
from swift_tars.evaluation.wer import COUNT_KEYS, corpus_wer, score_transcript

ASR_SYSTEM = 'You are a speech recognition model.'
ASR_INSTRUCTION = 'Transcribe the English audio into text without any punctuation marks.'
TASKS = ('mcq', 'asr', 'open')

DEFINITIONS = {
    'wer': 'corpus word error rate in percent: (substitutions + deletions + insertions) / reference words, summed '
           "over the set's items, after Whisper's English normaliser (whisper_normalizer.english."
           'EnglishTextNormalizer) on both texts; word alignment by jiwer',
    'item wer': "an item's edits / its reference words, in percent (predictions.jsonl)",
    'empty_hypotheses': 'items whose normalised transcription is empty (every reference word a deletion)',
    'truncated': 'completions stopped by --max_new_tokens (finish_reason "length")',
}


def build_asr_request(row: dict, mode: str = SPEECH) -> dict:
    """The transcription request of an ASR row (``InferRequest`` kwargs); ASR has the speech mode only."""
    if mode != SPEECH:
        raise EvalSetError(f'--task asr transcribes speech only (mode {mode!r})')
    return {'messages': [{'role': 'system', 'content': ASR_SYSTEM},
                         {'role': 'user', 'content': '<audio>' + ASR_INSTRUCTION}],
            'audios': list(row[AUDIOS])}


_ANSWER = re.compile(r'<answer>(.*?)(?:</answer>|$)', re.S)
_TAG = re.compile(r'</?(?:think|answer)>')


def hypothesis_of(completion: str) -> str:
    """The transcription in a completion: the content of its last ``<answer>`` block, else what follows its last
    ``</think>``, else all of it; leftover tags become spaces (Whisper's normaliser would glue the words around them).

    >>> hypothesis_of('<think>it says hello</think><answer>hello world</answer>')
    'hello world'
    >>> hypothesis_of('hello world')
    'hello world'
    """
    blocks = _ANSWER.findall(completion or '')
    text = blocks[-1] if blocks else (completion or '').rsplit('</think>', 1)[-1]
    return ' '.join(_TAG.sub(' ', text).split())


def asr_fields(row: dict, completion: str) -> dict:
    """The scored fields of an ASR record: hypothesis, reference, both normalised, edit counts and the item WER."""
    hypothesis = hypothesis_of(completion)
    return {'hypothesis': hypothesis, 'reference': row[TRANSCRIPT], **score_transcript(row[TRANSCRIPT], hypothesis)}


ASR = TaskKind('asr', build_asr_request, asr_fields)


def load_asr_sets(specs: Sequence[str], limit: Optional[int] = None) -> List[EvalSet]:
    """The ASR eval files of ``specs`` (``name=path`` / ``path``), every row checked (:func:`asr_row_problems`)."""
    return load_checked_sets(specs, limit, asr_row_problems)


def _block(records: Sequence[Mapping]) -> dict:
    return {**corpus_wer(records), 'truncated': sum(1 for r in records if r.get('finish_reason') == 'length')}


def summarize_asr(records_by_set: Mapping[str, Sequence[Mapping]]) -> dict:
    """Per set and pooled over all sets: corpus WER (%), edit counts, empty and truncated transcriptions."""
    sets = {name: _block(records) for name, records in records_by_set.items()}
    pooled = [r for records in records_by_set.values() for r in records]
    return {'task': 'asr', 'sets': sets, 'overall': {'item_weighted': _block(pooled)}}


def _f(x: Optional[float]) -> str:
    return '—' if x is None else f'{x:.2f}'


def asr_markdown(summary: dict) -> str:
    """The ASR table of ``swift-tars eval --task asr``: one line per set (and all sets pooled)."""
    lines = ['| Set | Utterances | Reference words | WER (%) | Substitutions | Deletions | Insertions | Empty | '
             'Truncated |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
    blocks = list(summary['sets'].items())
    if len(blocks) > 1:
        blocks.append(('**All sets, pooled**', summary['overall']['item_weighted']))
    for name, b in blocks:
        cells = [name, str(b['n']), str(b['reference_words']), _f(b['wer'])]
        cells += [str(b[k]) for k in COUNT_KEYS[1:4]] + [str(b['empty_hypotheses']), str(b['truncated'])]
        lines.append('| ' + ' | '.join(cells) + ' |')
    lines += ['', 'WER = (substitutions + deletions + insertions) / reference words over the whole set, after '
              "Whisper's English normaliser on both texts (per-item values in predictions.jsonl)."]
    return '\n'.join(lines) + '\n'


def write_asr_summary(summary: dict, out_dir) -> List[Path]:
    """Writes ``summary.json`` (with the definitions) and ``summary.md`` under ``out_dir``; returns both paths."""
    return write_summary(summary, out_dir, definitions=DEFINITIONS, render=asr_markdown)
