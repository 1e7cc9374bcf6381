"""Eval sets in the row format, and the speech-mode / text-mode chat requests of a row (docs/method.md §3, §10).

Speech mode: the row's ``messages`` (system ``SYSTEM_THINK`` + user ``<audio>``) and its ``audios``.
Text mode: the text view of the same messages (:func:`~swift_tars.data.rows.text_view_messages`: the last
user turn replaced by the row's ``text_query`` verbatim) and no audio, so both modes share the system prompt
(``SYSTEM_THINK`` for a text-only row without ``messages``). The gold letter is
:func:`~swift_tars.data.mcq.row_gold_letter`'s, as in ``tars_accuracy``.
Rows are checked before any model is loaded; every error names the row and the file.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Set

from swift_tars.data.mcq import row_gold_letter as gold_letter  # probe_cli imports it from here
from swift_tars.data.rows import (
    ANSWER_INDEX,
    AUDIOS,
    MESSAGES,
    QUESTION_ID,
    SOLUTION,
    SPEECH,
    TEXT,
    TEXT_QUERY,
    MissingColumnError,
    RowError,
    text_view_messages,
)
from swift_tars.evaluation.metrics import MODES
from swift_tars.prompts import SYSTEM_THINK


class EvalSetError(ValueError):
    """A problem with an eval file or one of its rows (the message names both)."""


@dataclass
class EvalSet:
    """One eval file: its display ``name``, ``path``, the selected ``rows`` (after ``--limit``) and ``all_ids``,
    the question_ids of every row of the file (so resuming can tell a removed item from one past the limit)."""
    name: str
    path: Path
    rows: List[dict]
    all_ids: Optional[Set[str]] = None  # None: not known (an unreadable row past the limit)


def parse_set_spec(spec: str) -> tuple:
    """``"name=path"`` -> (name, path); a bare path is named after its file stem."""
    name, sep, path = spec.partition('=')
    if not sep or not name or os.sep in name:
        return Path(spec).stem, Path(spec)
    return name, Path(path)


def _where(i: int, row: dict, path: Path) -> str:
    return f'row {i} (question_id={row.get(QUESTION_ID)!r}) of {path}'


def _resolve_audio(audio: str, base: Path) -> str:
    """Absolute audio paths as they are; relative ones against the working directory, else the file's folder."""
    if os.path.isabs(audio) or os.path.exists(audio) or '://' in audio:
        return audio
    candidate = base / audio
    return str(candidate) if candidate.exists() else audio


def check_row(row: dict, i: int, path: Path, modes: Sequence[str]) -> None:
    """Raises :class:`EvalSetError` when ``row`` cannot be evaluated in ``modes``."""
    where = _where(i, row, path)
    if row.get(QUESTION_ID) in (None, ''):
        raise EvalSetError(f'{where} has no {QUESTION_ID!r}: resuming needs a unique id per row')
    try:
        gold_letter(row, where)
    except (MissingColumnError, RowError) as e:
        raise EvalSetError(f'{e} (no usable gold answer in {SOLUTION!r} / {ANSWER_INDEX!r})') from None
    messages = row.get(MESSAGES)
    has_user = isinstance(messages, list) and any(isinstance(m, dict) and m.get('role') == 'user' for m in messages)
    if SPEECH in modes:
        if not has_user:
            raise EvalSetError(f'{where} has no {MESSAGES!r} with a user turn (system SYSTEM_THINK + user "<audio>"), '
                               'needed for speech mode')
        audios = row.get(AUDIOS) or []
        if not audios:
            raise EvalSetError(f'{where} has no audio in {AUDIOS!r}, needed for speech mode '
                               '(use --modes text to evaluate text only)')
        for audio in audios:
            if '://' not in audio and not os.path.exists(audio):
                raise EvalSetError(f'{where}: audio file {audio} does not exist')
        tags = sum(m['content'].count('<audio>') for m in messages if isinstance(m.get('content'), str))
        if tags != len(audios):
            raise EvalSetError(f'{where}: {tags} "<audio>" tag(s) in {MESSAGES!r} for {len(audios)} audio file(s)')
    elif messages is not None and not has_user:
        raise EvalSetError(f'{where}: {MESSAGES!r} has no user turn')
    if TEXT in modes:
        _text_messages(row, where)


def load_eval_set(name: str, path, modes: Sequence[str], limit: Optional[int] = None) -> EvalSet:
    """Reads a row-format jsonl, keeps the first ``limit`` rows, checks them for ``modes``."""
    for mode in modes:
        if mode not in MODES:
            raise EvalSetError(f'unknown mode {mode!r}: choose from {", ".join(MODES)}')
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f'eval file {path} does not exist')
    rows, seen, beyond = [], {}, set()
    with open(path, encoding='utf-8') as f:
        for i, line in enumerate(f):
            if not line.strip():
                continue
            if limit is not None and len(rows) >= limit:
                beyond.add(_question_id(line))
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise EvalSetError(f'line {i + 1} of {path} is not valid JSON ({e})') from None
            if row.get(AUDIOS):
                row[AUDIOS] = [_resolve_audio(a, path.parent) for a in row[AUDIOS]]
            check_row(row, len(rows), path, modes)
            qid = str(row[QUESTION_ID])
            if qid in seen:
                raise EvalSetError(f'question_id {qid!r} appears twice in {path} (rows {seen[qid]} and {len(rows)})')
            seen[qid] = len(rows)
            rows.append(row)
    if not rows:
        raise EvalSetError(f'eval file {path} has no rows')
    return EvalSet(name, path, rows, None if None in beyond else set(seen) | beyond)


def _question_id(line: str) -> Optional[str]:
    """The question_id of a row past ``--limit`` (not checked further), None when unreadable."""
    try:
        qid = json.loads(line).get(QUESTION_ID)
    except (json.JSONDecodeError, AttributeError):
        return None
    return None if qid in (None, '') else str(qid)


def load_eval_sets(specs: Sequence[str], modes: Sequence[str], limit: Optional[int] = None) -> List[EvalSet]:
    """:func:`load_eval_set` for each ``name=path`` / ``path`` spec; names must be unique."""
    sets: Dict[str, EvalSet] = {}
    for spec in specs:
        name, path = parse_set_spec(spec)
        if name in sets:
            raise EvalSetError(f'two eval sets are named {name!r}: name them, '
                               'e.g. --eval_sets mmsu=a.jsonl obqa=b.jsonl')
        sets[name] = load_eval_set(name, path, modes, limit)
    return list(sets.values())


def _text_messages(row: dict, where: str = 'row') -> List[dict]:
    """The text-mode prompt of ``row``; :class:`EvalSetError` when it has none."""
    try:
        return text_view_messages(_prompt_messages(row), row.get(TEXT_QUERY), where,
                                  'text mode (use --modes speech to evaluate speech only)')
    except RowError as e:
        raise EvalSetError(str(e)) from None


def _prompt_messages(row: dict) -> List[dict]:
    """The row's messages up to and including the last user turn (a trailing answer is not a prompt);
    a text-only row without ``messages`` gets ``SYSTEM_THINK`` + an empty user turn."""
    if not row.get(MESSAGES):
        return [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': ''}]
    messages = [dict(m) for m in row[MESSAGES]]
    last_user = max(i for i, m in enumerate(messages) if m.get('role') == 'user')
    return messages[:last_user + 1]


def build_request(row: dict, mode: str) -> dict:
    """``{'messages': ..., 'audios': ...}`` of ``row`` in ``mode`` (kwargs of ms-swift's ``InferRequest``)."""
    if mode == SPEECH:
        return {'messages': _prompt_messages(row), 'audios': list(row[AUDIOS])}
    if mode == TEXT:
        return {'messages': _text_messages(row)}
    raise EvalSetError(f'unknown mode {mode!r}: choose from {", ".join(MODES)}')
