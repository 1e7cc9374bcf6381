"""VoiceBench MMSU / OpenBookQA schema (docs/method.md §2.6): hub id, configs and splits, robust option
parsing of its ``prompt``, and the row fields of one VoiceBench record; and the SD-QA config (free-form spoken
questions by accent, :func:`sdqa_fields`, open rows of :mod:`swift_tars.data.open_rows`).

The reference pipeline kept only the first line as the question and took *every* line starting like ``A.``
as an option, so a question line such as ``"A. Smith argues …"`` became an option (docs/method.md §13).
Here the options are the **last** contiguous run ``A.``, ``B.``, … in order, and the question is everything
before that run. Shared by the dataset registry (train time) and ``data_builders`` (build time).
"""
import re
from typing import Any, List, Mapping, Optional, Tuple

from swift_tars.answers import choice_letters
from swift_tars.data.mcq import gold_letter, require_options, require_question
from swift_tars.data.rows import RowError

HUB_ID = 'hlt-lab/voicebench'
CONFIGS = ('mmsu', 'openbookqa')
MMSU_SPLITS = ('law', 'engineering', 'other', 'biology', 'business', 'economics', 'health', 'philosophy',
               'psychology', 'history', 'chemistry', 'physics')
SPLITS = {'mmsu': MMSU_SPLITS, 'openbookqa': ('test', )}
SDQA_CONFIG = 'sd-qa'  # open questions, not multiple choice: not in CONFIGS
SDQA_SPLITS = ('aus', 'gbr', 'ind_n', 'ind_s', 'irl', 'kenya', 'nga', 'nzl', 'phl', 'usa', 'zaf')  # accents

_OPTION = re.compile(r'([A-Z])\.\s')
_LETTERS = choice_letters(26)


def parse_prompt(prompt: str, where: str = 'prompt') -> Tuple[str, List[str]]:
    """(question, options) of a VoiceBench multiple-choice ``prompt``.

    >>> parse_prompt('A. Smith said so.\\nWho said so?\\nA. Smith\\nB. Jones\\nWhat is the answer?')
    ('A. Smith said so.\\nWho said so?', ['Smith', 'Jones'])
    """
    if not isinstance(prompt, str):
        raise RowError(f'{where}: prompt must be a string, got {prompt!r}')
    lines = prompt.splitlines()
    for start in range(len(lines) - 1, -1, -1):
        if not _OPTION.match(lines[start]) or lines[start][0] != _LETTERS[0]:
            continue
        options, j = [], start
        while j < len(lines):
            m = _OPTION.match(lines[j])
            if not m or m.group(1) != _LETTERS[len(options):len(options) + 1]:  # the next letter in order
                break
            options.append(lines[j][m.end():].strip())
            j += 1
        if len(options) >= 2:
            question = '\n'.join(lines[:start]).strip()
            return require_question(question, where), options
    raise RowError(f'{where}: no option lines ("A. …", "B. …") found in the prompt {prompt[:200]!r}')


def infer_config(row: Mapping[str, Any]) -> str:
    """``'mmsu'`` for rows that carry ``src`` and ``question_id`` (MMSU), else ``'openbookqa'``."""
    return 'mmsu' if row.get('src') is not None and row.get('question_id') is not None else 'openbookqa'


def voicebench_fields(row: Mapping[str, Any], *, index: int, where: str, config: Optional[str] = None,
                      split: Optional[str] = None, num_options: Optional[int] = 4) -> dict:
    """Text fields of one VoiceBench row: ``text_query`` is the ``prompt`` verbatim, the gold comes from
    ``reference``; key ``{src}_{question_id}`` (MMSU) or ``obqa_{index}`` (OBQA, ``index`` in its split)."""
    config = config or infer_config(row)
    if config == 'mmsu':
        if row.get('src') is None or row.get('question_id') is None:
            raise RowError(f'{where}: an MMSU row needs "src" and "question_id" to form its key')
        qid = f'{row["src"]}_{row["question_id"]}'
    else:
        qid = f'obqa_{index}'
    at = f'{where} (question_id={qid!r})'
    prompt = row.get('prompt')
    question, options = parse_prompt(prompt, at)
    options = require_options(options, at, num_options)
    subject = row.get('category') or (split if config == 'mmsu' else None)
    return {
        'question_id': qid,
        'question': question,
        'options': options,
        'solution': gold_letter(row.get('reference'), options, at),
        'text_query': prompt,
        'subject': subject,
        'source': f'voicebench_{config}',
    }


def sdqa_fields(row: Mapping[str, Any], *, index: int, where: str, split: str) -> dict:
    """Open-row fields of one SD-QA record (``prompt``, ``reference``): key ``sdqa_{split}_{index}`` (``index``
    in its split), the accent is the split; :class:`RowError` naming the row when a text is missing or empty.

    >>> sdqa_fields({'prompt': ' Who wrote Hamlet? ', 'reference': 'Shakespeare'}, index=3, where='w', split='usa')
    ... # doctest: +NORMALIZE_WHITESPACE
    {'question_id': 'sdqa_usa_3', 'text_query': 'Who wrote Hamlet?', 'reference': 'Shakespeare', 'accent': 'usa',
     'source': 'voicebench_sd_qa'}
    """
    qid = f'sdqa_{split}_{index}'
    texts = {}
    for name, meaning in (('prompt', 'the question as text'), ('reference', 'the reference answer')):
        value = row.get(name) if isinstance(row, Mapping) else None
        if not isinstance(value, str) or not value.strip():
            raise RowError(f'{where} (question_id={qid!r}): empty or missing "{name}" ({meaning})')
        texts[name] = value.strip()
    return {'question_id': qid, 'text_query': texts['prompt'], 'reference': texts['reference'], 'accent': split,
            'source': 'voicebench_sd_qa'}
