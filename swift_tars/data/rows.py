"""The swift-tars row format: one place that names the columns and checks a row.

A row (one JSON line, or one dataset example) is one multiple-choice question in both modalities::

    {"messages": [{"role": "system", "content": SYSTEM_THINK}, {"role": "user", "content": "<audio>"}],
     "audios": ["/abs/wav/q0.wav"],                 # 16 kHz mono wav of question + options
     "text_query": "Which animal barks?\\n\\nOption A: cat\\nOption B: dog\\n...",
     "solution": "B", "question_id": "q0", "options": ["cat", "dog", "cow", "fish"],
     "subject": "...", "source": "..."}              # optional

Speech rollouts use ``messages`` + ``audios``; text rollouts replace the last user turn with
``text_query`` and drop the audio (:func:`text_view_messages`). Avoid a column named ``dataset`` (ms-swift
overwrites it) or ``teacher_prompt`` (it switches on ms-swift's self-distillation path).
"""
import copy
import re
from typing import Any, Callable, List, Mapping, Optional, Sequence

from swift_tars.answers import choice_letters
from swift_tars.data.audio import TARGET_SR
from swift_tars.prompts import SPEECH_USER_CONTENT, SYSTEM_THINK

MESSAGES, AUDIOS, TEXT_QUERY, SOLUTION, QUESTION_ID, OPTIONS = (
    'messages', 'audios', 'text_query', 'solution', 'question_id', 'options')
ANSWER_INDEX = 'answer_index'  # accepted instead of ``solution`` (upstream schema)
OPTIONAL_COLUMNS = ('subject', 'source')
REQUIRED_COLUMNS = (MESSAGES, AUDIOS, TEXT_QUERY, QUESTION_ID, OPTIONS)  # and SOLUTION or ANSWER_INDEX
RESERVED_COLUMNS = ('dataset', 'teacher_prompt')
_OPTION_LINE = re.compile(r'(?m)^[ \t]*(?:Option[ \t]+)?\(?([A-Z])[.:)][ \t]*\S')
MODALITY = 'tars_modality'  # tag written by the trainer into every rollout: 'speech' or 'text'
SPEECH, TEXT = 'speech', 'text'  # the two modalities (rollout tags, eval modes, metric names)


class MissingColumnError(KeyError):
    """A column swift-tars needs is missing or empty; the message names it, the row and the fix."""

    def __str__(self) -> str:  # KeyError would print the repr of the message
        return str(self.args[0]) if self.args else ''


def row_label(batch: Mapping[str, Any], i: int) -> str:
    """A human-readable name for row ``i`` of a batched reward call: index plus question id."""
    qids = batch.get(QUESTION_ID)
    qid = qids[i] if isinstance(qids, (list, tuple)) and i < len(qids) else None
    return f'row {i} (question_id={qid!r})' if qid is not None else f'row {i} (no question_id column)'


def column(batch: Mapping[str, Any], name: str, n: int, *, needed_for: str) -> Sequence[Any]:
    """Column ``name`` of a batched reward call, checked to have ``n`` entries.

    Raises :class:`MissingColumnError` naming the column, what needs it and how to fix the dataset.
    """
    values = batch.get(name)
    if values is None:
        present = sorted(k for k in batch if k != 'trainer_state')
        raise MissingColumnError(f'{needed_for} needs the dataset column {name!r}, which is missing from this batch '
                                 f'(columns present: {present}). Add it to every row (see the row format in the '
                                 'README) or rename yours with --columns.')
    if len(values) != n:
        raise ValueError(f'column {name!r} has {len(values)} entries for {n} completions')
    return values


def options_of(batch: Mapping[str, Any], i: int) -> Optional[Sequence[str]]:
    """The option texts of row ``i`` when the batch carries an ``options`` column, else None."""
    options = batch.get(OPTIONS)
    if options is None or options[i] is None:
        return None
    return list(options[i])


class RowError(ValueError):
    """A row that breaks the row format or cannot be converted; the message names the row and its file."""


def row_where(where: str, row: Optional[Mapping[str, Any]] = None) -> str:
    """``where`` (e.g. ``'train.jsonl line 3'``) plus the row's question id when it has one."""
    qid = row.get(QUESTION_ID) if isinstance(row, Mapping) else None
    label = where or 'row'
    return f'{label} (question_id={qid!r})' if qid not in (None, '') else label


def make_row(*, audio: str, text_query: str, solution: str, question_id: str, options: Sequence[str],
             system: Optional[str] = None, **optional: Any) -> dict:
    """One row in the row format; ``optional`` columns (``subject``, ``source``, ``question``) whose value is
    None are left out. ``system`` defaults to the TARS think prompt."""

    row = {
        MESSAGES: [{'role': 'system', 'content': SYSTEM_THINK if system is None else system},
                   {'role': 'user', 'content': SPEECH_USER_CONTENT}],
        AUDIOS: [str(audio)],
        TEXT_QUERY: text_query,
        SOLUTION: solution,
        QUESTION_ID: str(question_id),
        OPTIONS: [str(o) for o in options],
    }
    row.update({k: v for k, v in optional.items() if v is not None})
    return row


def text_view_messages(messages: Any, text_query: Any, where: str = 'row', needed_for: str = 'its text view'
                       ) -> List[dict]:
    """The text view of a speech prompt, the one of TARS text rollouts, CORD's teacher and text-mode eval: a
    copy of ``messages`` whose last user turn is ``text_query`` (so it holds no ``<audio>`` tag; the caller
    drops the audio). Turns after that user turn, such as a sampled completion, are kept.

    Raises :class:`RowError` naming ``where`` and what ``needed_for`` it when ``text_query`` is empty or
    there is no user turn.

    >>> text_view_messages([{'role': 'system', 'content': 'S'}, {'role': 'user', 'content': '<audio>'}], 'Q?')
    [{'role': 'system', 'content': 'S'}, {'role': 'user', 'content': 'Q?'}]
    """
    if not isinstance(text_query, str) or not text_query.strip():
        raise RowError(f'{where} has no {TEXT_QUERY!r} (the question and options as text), needed for {needed_for}; '
                       'see the row format in the README')
    out = copy.deepcopy(list(messages or []))
    users = [m for m in out if isinstance(m, Mapping) and m.get('role') == 'user']
    if not users:
        raise RowError(f'{where} has no user message to replace with its {TEXT_QUERY}')
    users[-1]['content'] = text_query
    return out


def audio_info(path: Any, where: str = ''):
    """The ``soundfile`` header of the audio file at ``path`` (no decoding); a :class:`RowError` naming ``where``
    when the path is not a string, or the file is missing, unreadable or empty."""
    import os

    import soundfile as sf

    if not isinstance(path, str) or not path:
        raise RowError(f'{where}: audio path must be a non-empty string, got {path!r}')
    if not os.path.isfile(path):
        raise RowError(f'{where}: audio file not found: {path} (fix the path in `audios`, relative paths are read '
                       'from the working directory, or rebuild the row with `swift-tars build-data`)')
    try:
        info = sf.info(path)
    except Exception as e:  # soundfile raises its own error types (LibsndfileError, RuntimeError)
        raise RowError(f'{where}: audio file {path} is not readable audio ({type(e).__name__}: {e}); re-create '
                       'it (e.g. `swift-tars build-data`) or drop the row') from e
    if info.frames <= 0:
        raise RowError(f'{where}: audio file {path} is empty (no samples); re-create it or drop the row')
    return info


def check_audio_file(path: str, where: str = '', sample_rate: int = TARGET_SR) -> float:
    """Duration in seconds of the mono ``sample_rate`` wav at ``path``; a :class:`RowError` naming ``where``
    when it is missing, unreadable, empty, not mono or at another rate. The strict check of the wav cache
    (:func:`~swift_tars.data.wavcache.existing_duration`); dataset rows use :func:`check_row_audio`."""
    info = audio_info(path, where)
    if info.samplerate != sample_rate or info.channels != 1:
        raise RowError(f'{where}: audio file {path} is {info.samplerate} Hz with {info.channels} channel(s); '
                       f'the wav cache holds {sample_rate} Hz mono')
    return info.frames / info.samplerate


_FORMAT_NOTED: List[str] = []  # the first file of another rate or channel count, noted once per process


def check_row_audio(path: Any, where: str = '') -> float:
    """The audio rule of dataset rows, the same in :func:`validate_row`, training and eval: the file must exist,
    have a readable header and samples; **any rate or channel count is accepted** and resampled to 16 kHz mono
    when loaded (ms-swift's ``load_audio`` does so in training and in ``swift-tars eval``), with a note logged
    once per process. Returns the duration in seconds."""
    info = audio_info(path, where)
    if (info.samplerate != TARGET_SR or info.channels != 1) and not _FORMAT_NOTED:
        _FORMAT_NOTED.append(path)
        import logging

        logging.getLogger('swift_tars').warning(
            'note: %s: audio file %s is %d Hz with %d channel(s); it is resampled to %d Hz mono each time it is '
            'loaded (training and eval alike). `swift-tars build-data` converts such files once. (Noted once.)',
            where, path, info.samplerate, info.channels, TARGET_SR)
    return info.frames / info.samplerate


def check_options(options: Any, where: str, num_options: Optional[int] = 4, coerce: bool = False) -> List[str]:
    """The option texts as a list of non-empty strings (``coerce``: non-strings converted with ``str``);
    ``num_options`` enforced (None: any number, at least 2). Errors name ``where``."""
    if isinstance(options, str) or not isinstance(options, Sequence):
        raise RowError(f'{where}: options must be a list of strings, got {options!r}')
    if coerce:
        options = [o if isinstance(o, str) else str(o) for o in options]
    elif not all(isinstance(o, str) for o in options):
        raise RowError(f'{where}: options must be a list of strings, got {options!r}')
    options = list(options)
    if num_options is not None and len(options) != num_options:
        raise RowError(f'{where}: wrong option count: expected {num_options} options, got {len(options)}: {options!r}')
    if len(options) > 26:
        raise RowError(f'{where}: {len(options)} options are more than there are option letters (A-Z): {options!r}')
    if len(options) < 2:
        raise RowError(f'{where}: a multiple-choice question needs at least 2 options, got {options!r}')
    empty = [letter for letter, o in zip(choice_letters(len(options)), options) if not o.strip()]
    if empty:
        raise RowError(f'{where}: option(s) {", ".join(empty)} are empty: {options!r}')
    return options


def _listed_option_count(text_query: str) -> Optional[int]:
    """How many options ``text_query`` lists as lines ``Option A: …`` / ``A. …`` / ``(A) …`` (letters from A on,
    in order), or None when it lists fewer than two that way (free-form text is not counted)."""
    letters = _OPTION_LINE.findall(text_query)
    n = 0
    for letter in letters:
        if letter == chr(ord('A') + n):
            n += 1
    return n if n >= 2 and n == len(set(letters)) else None


def _gold_problems(row: Mapping[str, Any], letters: Sequence[str]) -> List[str]:
    solution, index = row.get(SOLUTION), row.get(ANSWER_INDEX)
    if isinstance(solution, str) and solution.strip():
        if solution not in letters:
            return [f'solution {solution!r} is not among the option letters {", ".join(letters)}: use one of them']
        return []
    if solution is not None and not isinstance(solution, str):
        return [f'solution {solution!r} is not among the option letters {", ".join(letters)} (a letter string)']
    if index is None:
        return [f'no gold answer: set {SOLUTION!r} (an option letter) or {ANSWER_INDEX!r} (0-based)']
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(letters):
        return [f'answer_index {index!r} is not a 0-based index of the {len(letters)} options (0-{len(letters) - 1})']
    return []


def _message_problems(row: Mapping[str, Any]) -> List[str]:
    messages = row[MESSAGES]
    if (not isinstance(messages, (list, tuple)) or len(messages) < 1
            or not all(isinstance(m, Mapping) and 'role' in m and 'content' in m for m in messages)):
        return [f'messages must be a list of {{"role", "content"}} objects, got {messages!r}']
    if messages[-1]['role'] != 'user':
        return [f'the last message must be the user turn, got role {messages[-1]["role"]!r}']
    tags = sum(str(m['content']).count('<audio>') for m in messages)
    if tags != 1:
        return [f'messages must contain exactly one <audio> tag (for the one audio file), found {tags}']
    return []


def _option_problems(row: Mapping[str, Any], num_options: Optional[int]) -> List[str]:
    try:
        options = check_options(row[OPTIONS], 'options', num_options)
    except RowError as e:
        return [str(e)]
    problems = _gold_problems(row, choice_letters(len(options)))
    text = row.get(TEXT_QUERY)
    listed = _listed_option_count(text) if isinstance(text, str) else None
    if listed is not None and listed != len(options):
        problems.append(f'option count disagrees: {len(options)} options but text_query lists {listed}; make '
                        '`options` and the options spelled out in `text_query` (and the audio) the same')
    return problems


def row_problems(row: Any, *, num_options: Optional[int] = None, check_audio: bool = True, where: str = ''
                 ) -> List[str]:
    """Everything wrong with ``row`` as one line each ("what is wrong: how to fix it"); empty when it is a valid
    row. The checks of :func:`validate_row` (which raises on the first list), also used by the dataset checks
    of training (:mod:`swift_tars.data.row_checks`). ``where`` names the row in the audio-format note."""
    if not isinstance(row, Mapping):
        return [f'expected a JSON object, got {type(row).__name__}']
    missing = [c for c in REQUIRED_COLUMNS if c not in row or row[c] is None]
    if missing:
        problems = [f'missing column(s) {missing}; a row needs {list(REQUIRED_COLUMNS)} and {SOLUTION!r} (or '
                    f'{ANSWER_INDEX!r}); see the row format in the README']
        if row.get(SOLUTION) is None and row.get(ANSWER_INDEX) is None:
            problems.append(f'no gold answer: set {SOLUTION!r} (an option letter) or {ANSWER_INDEX!r} (0-based)')
        return problems
    problems = []
    reserved = [c for c in RESERVED_COLUMNS if c in row]
    if reserved:
        problems.append(f'column(s) {reserved} are reserved by ms-swift; rename them')
    qid = row[QUESTION_ID]
    if not isinstance(qid, str) or not qid.strip():
        problems.append(f'question_id must be a non-empty string, got {qid!r}')
    problems += _message_problems(row)
    text = row[TEXT_QUERY]
    if not isinstance(text, str) or not text.strip():
        problems.append('text_query (the question and options as text) is empty')
    problems += _option_problems(row, num_options)
    return problems + audio_problems(row, where, check_audio)


def audio_problems(row: Mapping[str, Any], where: str = '', check_audio: bool = True) -> List[str]:
    """Problems of a row's ``audios`` column: exactly one wav path, readable by :func:`check_row_audio`."""
    audios = [row[AUDIOS]] if isinstance(row[AUDIOS], str) else row[AUDIOS]
    if not isinstance(audios, (list, tuple)) or len(audios) != 1:
        return [f'audios must hold exactly one wav path, got {audios!r}']
    if check_audio:
        try:
            check_row_audio(audios[0], where or 'row')
        except RowError as e:
            return [str(e).removeprefix(f'{where or "row"}: ')]
    return []


def question_id_problems(qid: Any) -> List[str]:
    """A question_id must be a non-empty string (or an int)."""
    if not isinstance(qid, (str, int)) or isinstance(qid, bool) or not str(qid).strip():
        return [f'question_id must be a non-empty string, got {qid!r}']
    return []


def checked_row(row: Any, where: str, row_problems: Callable[..., List[str]], check_audio: bool = True) -> Any:
    """Returns ``row`` when ``row_problems(row, check_audio=..., where=...)`` finds nothing; else a
    :class:`RowError` naming the row and every problem (the ASR and open row formats)."""
    at = row_where(where, row) if isinstance(row, Mapping) else where or 'row'
    problems = row_problems(row, check_audio=check_audio, where=at)
    if problems:
        raise RowError(f'{at}: ' + '; '.join(problems))
    return row


def validate_row(row: Mapping[str, Any], where: str = '', *, num_options: Optional[int] = None,
                 check_audio: bool = True) -> Mapping[str, Any]:
    """Checks that ``row`` is in the row format and returns it; raises :class:`RowError` naming the row.

    ``where`` names the row for the message (file and line, e.g. ``'train.jsonl line 3'``). Checks
    (:func:`row_problems`, all reported at once): the required columns; a system turn and a user turn with one
    ``<audio>`` tag for the one audio file; the audio exists with a readable header (``check_audio``; any rate
    and channel count, resampled on load: :func:`check_row_audio`); a non-empty ``text_query`` and
    ``question_id``; ``num_options`` (if given, else at least 2) non-empty options, as many as ``text_query``
    lists; a gold ``solution`` letter among them or an in-range ``answer_index``; no reserved column.
    """
    at = row_where(where, row) if isinstance(row, Mapping) else where or 'row'
    problems = row_problems(row, num_options=num_options, check_audio=check_audio, where=at)
    if problems:
        raise RowError(f'{at}: ' + '; '.join(problems))
    return row
