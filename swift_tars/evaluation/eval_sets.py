"""Eval sets in the row format, and the speech-mode / text-mode chat requests of a row (docs/method.md §3, §10).

Speech mode: the row's ``messages`` (system ``SYSTEM_THINK`` + user ``<audio>``) and its ``audios``.
Text mode: the text view of the same messages (:func:`~swift_tars.data.rows.text_view_messages`: the last
user turn replaced by the row's ``text_query`` verbatim) and no audio, so both modes share the system prompt
(``SYSTEM_THINK`` for a text-only row without ``messages``). The gold letter is
:func:`~swift_tars.data.mcq.row_gold_letter`'s, as in ``tars_accuracy``.
Rows are checked before any model is loaded, with the rules of training in speech mode
(:func:`~swift_tars.data.rows.row_problems`, the audio through :func:`~swift_tars.data.rows.check_row_audio`: a
missing, unreadable or corrupt wav is named; other rates and channel counts are resampled with a note); one error
lists every bad row of a file with its line, question_id and fix.
"""
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Set

from swift_tars.data.mcq import row_gold_letter as gold_letter  # probe_cli imports it from here
from swift_tars.data.row_checks import MAX_LISTED, RowProblem
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
    row_problems,
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


def _where(line: int, row: dict, path: Path) -> str:
    return f'{path} line {line} (question_id={row.get(QUESTION_ID)!r})'


def _resolve_audio(audio: str, base: Path) -> str:
    """Absolute audio paths as they are; relative ones against the working directory, else the file's folder."""
    if not isinstance(audio, str) or os.path.isabs(audio) or os.path.exists(audio) or '://' in audio:
        return audio
    candidate = base / audio
    return str(candidate) if candidate.exists() else audio


def _speech_problems(row: dict, where: str) -> List[str]:
    """The training rules (:func:`~swift_tars.data.rows.row_problems`: columns, one ``<audio>`` tag, gold, option
    count, the audio's header: missing, unreadable or corrupt wav named; any rate or channel count accepted and
    resampled with a note) for a row played in speech mode."""
    if not row.get(AUDIOS):
        hint = f'no audio in {AUDIOS!r}, needed for speech mode (use --modes text to evaluate text only)'
        return [hint] + [p for p in row_problems(row, check_audio=False, where=where) if not p.startswith('audios ')]
    return row_problems(row, where=where)


def _unwhere(message: str, where: str) -> str:
    """``message`` without its leading ``where`` (the problem list names the row once)."""
    return message[len(where):].lstrip(': ') if message.startswith(where) else message


def row_problems_for(row: dict, line: int, path: Path, modes: Sequence[str]) -> List[str]:
    """Everything that stops ``row`` (``line`` of ``path``) from being evaluated in ``modes``, one line each.

    Speech mode applies the training rules (:func:`_speech_problems`); text mode needs an id, a gold answer and a
    ``text_query`` (a text-only row may have no audio and no ``messages``)."""
    if not isinstance(row, dict):
        return [f'expected a JSON object, got {type(row).__name__}']
    where, problems = _where(line, row, path), []
    if row.get(QUESTION_ID) in (None, ''):
        problems.append(f'no {QUESTION_ID!r}: resuming needs a unique id per row')
    if SPEECH in modes:
        return problems + _speech_problems(row, where)
    try:
        gold_letter(row, where)
    except (MissingColumnError, RowError) as e:
        problems.append(_unwhere(f'{e} (no usable gold answer in {SOLUTION!r} / {ANSWER_INDEX!r})', where))
    messages = row.get(MESSAGES)
    if messages is not None and not (isinstance(messages, list) and any(
            isinstance(m, dict) and m.get('role') == 'user' for m in messages)):
        problems.append(f'{MESSAGES!r} has no user turn')
    elif TEXT in modes:
        try:
            _text_messages(row, where)
        except EvalSetError as e:
            problems.append(_unwhere(str(e), where))
    return problems


def check_row(row: dict, line: int, path: Path, modes: Sequence[str]) -> None:
    """Raises :class:`EvalSetError` listing every problem of ``row`` for ``modes`` (:func:`row_problems_for`)."""
    problems = row_problems_for(row, line, path, modes)
    if problems:
        raise EvalSetError(invalid_rows_message([RowProblem(str(path), line, row.get(QUESTION_ID), p)
                                                 for p in problems], 1))


def invalid_rows_message(problems: Sequence[RowProblem], rows_checked: int) -> str:
    """One error listing every bad row of the eval files (file, line, question_id, what is wrong and the fix)."""
    bad = len({(p.source, p.line) for p in problems})
    lines = [f'{bad} invalid eval row(s) or file(s) among {rows_checked} row(s) checked; nothing was generated. Fix '
             'each one as its line says (or remove the row):']
    lines += ['  - ' + p.render() for p in problems[:MAX_LISTED]]
    if len(problems) > MAX_LISTED:
        lines.append(f'  ... and {len(problems) - MAX_LISTED} more problem(s) not listed')
    return '\n'.join(lines)


def _check_modes(modes: Sequence[str]) -> None:
    for mode in modes:
        if mode not in MODES:
            raise EvalSetError(f'unknown mode {mode!r}: choose from {", ".join(MODES)}')


def read_eval_rows(path, limit: Optional[int], problems: List[RowProblem]) -> tuple:
    """``[(line, row)]`` of the first ``limit`` rows of a jsonl (relative audio paths resolved) and the ids of the
    rows past the limit (None: unknown); lines that are not JSON are added to ``problems``."""
    path = Path(path)
    if not path.is_file():
        raise EvalSetError(f'eval file {path} does not exist')
    rows, beyond = [], set()
    try:
        lines = path.read_text(encoding='utf-8').split('\n')  # not splitlines: U+2028 may sit inside a string
    except (OSError, UnicodeDecodeError) as e:
        raise EvalSetError(f'eval file {path} cannot be read as UTF-8 text ({e})') from None
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if limit is not None and len(rows) >= limit:
            beyond.add(_question_id(line))
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            problems.append(RowProblem(str(path), i, None, f'this line is not JSON ({e.msg}, column {e.colno}): '
                                       'write exactly one JSON object per line'))
            continue
        if isinstance(row, dict) and isinstance(row.get(AUDIOS), list):
            row[AUDIOS] = [_resolve_audio(a, path.parent) for a in row[AUDIOS]]
        rows.append((i, row))
    return rows, beyond


def unique_ids(path: Path, rows: Sequence[tuple], problems: List[RowProblem]) -> Set[str]:
    """The question_ids of ``rows``; an id used twice is added to ``problems`` (resuming keys on it)."""
    seen: Dict[str, int] = {}
    for line, row in rows:
        qid = row.get(QUESTION_ID) if isinstance(row, dict) else None
        if qid in (None, ''):
            continue
        if str(qid) in seen:
            problems.append(RowProblem(str(path), line, qid, f'question_id {str(qid)!r} appears twice in {path} '
                                       f'(lines {seen[str(qid)]} and {line}): give each row its own id'))
        seen.setdefault(str(qid), line)
    return set(seen)


def load_eval_set(name: str, path, modes: Sequence[str], limit: Optional[int] = None) -> EvalSet:
    """Reads a row-format jsonl, keeps the first ``limit`` rows and checks them for ``modes``: every problem of
    the file in one :class:`EvalSetError` (:func:`row_problems_for`), before any model is loaded."""
    _check_modes(modes)
    path, problems = Path(path), []
    rows, beyond = read_eval_rows(path, limit, problems)
    for line, row in rows:
        problems += [RowProblem(str(path), line, row.get(QUESTION_ID) if isinstance(row, dict) else None, p)
                     for p in row_problems_for(row, line, path, modes)]
    return _checked_set(name, path, rows, beyond, problems)


def _question_id(line: str) -> Optional[str]:
    """The question_id of a row past ``--limit`` (not checked further), None when unreadable."""
    try:
        qid = json.loads(line).get(QUESTION_ID)
    except (json.JSONDecodeError, AttributeError):
        return None
    return None if qid in (None, '') else str(qid)


def load_eval_sets(specs: Sequence[str], modes: Sequence[str], limit: Optional[int] = None) -> List[EvalSet]:
    """:func:`load_eval_set` for each ``name=path`` / ``path`` spec; names must be unique."""
    return _load_named(specs, lambda name, path: load_eval_set(name, path, modes, limit))


def _load_named(specs: Sequence[str], load_one: Callable[[str, str], EvalSet]) -> List[EvalSet]:
    """``load_one(name, path)`` for each ``name=path`` / ``path`` spec; a name used twice is an error."""
    sets: Dict[str, EvalSet] = {}
    for spec in specs:
        name, path = parse_set_spec(spec)
        if name in sets:
            raise EvalSetError(f'two eval sets are named {name!r}: name them, '
                               'e.g. --eval_sets mmsu=a.jsonl obqa=b.jsonl')
        sets[name] = load_one(name, path)
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


def _checked_set(name: str, path: Path, rows: Sequence[tuple], beyond: Set, problems: List[RowProblem]) -> EvalSet:
    """The :class:`EvalSet` of checked ``rows``; one :class:`EvalSetError` for every problem (a reused question_id
    included) or an empty file."""
    ids = unique_ids(path, rows, problems)
    if problems:
        raise EvalSetError(invalid_rows_message(problems, len(rows)))
    if not rows:
        raise EvalSetError(f'eval file {path} has no rows')
    return EvalSet(name, path, [row for _, row in rows], None if None in beyond else ids | beyond)


def load_checked_set(name: str, path, limit: Optional[int], row_problems: Callable[..., List[str]]) -> EvalSet:
    """Reads a jsonl of another task's rows (first ``limit``), each checked by ``row_problems(row, where=...)``;
    one :class:`EvalSetError` lists every bad row."""
    path, problems = Path(path), []
    rows, beyond = read_eval_rows(path, limit, problems)
    for line, row in rows:
        qid = row.get(QUESTION_ID) if isinstance(row, dict) else None
        problems += [RowProblem(str(path), line, qid, p) for p in row_problems(row, where=f'{path} line {line}')]
    return _checked_set(name, path, rows, beyond, problems)


def load_checked_sets(specs: Sequence[str], limit: Optional[int], row_problems: Callable[..., List[str]]):
    """:func:`load_checked_set` for each ``name=path`` / ``path`` spec; names must be unique."""
    return _load_named(specs, lambda name, path: load_checked_set(name, path, limit, row_problems))
