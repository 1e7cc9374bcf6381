"""Open rows: one free-form spoken question per JSON line, for the ``swift-tars eval --task open`` diagnostic.

::

    {"audios": ["/abs/data/wav/3f/3f2a….wav"], "text_query": "who wrote the novel moby dick",
     "reference": "Herman Melville", "question_id": "sdqa_usa_0", "accent": "usa", "source": "voicebench_sd_qa"}

``audios`` holds one wav (the audio rule of every row, :func:`~swift_tars.data.rows.check_row_audio`: any rate
or channel count, resampled to 16 kHz mono on load), ``text_query`` the question as text (the text view of the
spoken question), ``reference`` the reference answer: one string, or a list of strings when several answers are
acceptable (:func:`references_of` gives them as a list). ``question_id`` is a unique id; ``accent`` (the speaker's
accent or region, by which accuracy is broken down) and ``source`` are optional. The answer prompt is the
evaluation's, not the row's, so an open row carries no ``messages``, ``options`` or ``solution``. Written by
``swift-tars build-data voicebench --subset sd-qa`` and read by ``swift-tars eval --task open``.
"""
from typing import Any, List, Mapping

from swift_tars.data.rows import AUDIOS, QUESTION_ID, TEXT_QUERY, audio_problems, checked_row, question_id_problems

REFERENCE = 'reference'
ACCENT = 'accent'
OPEN_COLUMNS = (AUDIOS, TEXT_QUERY, REFERENCE, QUESTION_ID)


def make_open_row(*, audio: str, text_query: str, reference: Any, question_id: str, **optional: Any) -> dict:
    """One open row; ``optional`` columns (``accent``, ``source``) whose value is None are left out.

    >>> make_open_row(audio='/a.wav', text_query='Who?', reference='Melville', question_id='x', accent=None)
    {'audios': ['/a.wav'], 'text_query': 'Who?', 'reference': 'Melville', 'question_id': 'x'}
    """
    row = {AUDIOS: [str(audio)], TEXT_QUERY: text_query, REFERENCE: reference, QUESTION_ID: str(question_id)}
    row.update({k: v for k, v in optional.items() if v is not None})
    return row


def _reference_problems(reference: Any) -> List[str]:
    if isinstance(reference, str):
        return [] if reference.strip() else ['reference (the reference answer) is empty: give the expected answer']
    if isinstance(reference, (list, tuple)):
        if not reference:
            return ['reference is an empty list: give at least one acceptable answer']
        bad = [r for r in reference if not isinstance(r, str) or not r.strip()]
        if bad:
            return [f'reference list holds empty or non-string answer(s) {bad!r}: every entry must be answer text']
        return []
    return [f'reference must be a string or a list of strings (acceptable answers), got {type(reference).__name__}']


def open_row_problems(row: Any, *, check_audio: bool = True, where: str = '') -> List[str]:
    """Everything wrong with an open row, one "what is wrong: how to fix it" line each; empty when it is valid.

    >>> open_row_problems({'audios': ['/a.wav'], 'text_query': 'Who?', 'reference': ['Melville', ''],
    ...                    'question_id': 'x'}, check_audio=False)
    ["reference list holds empty or non-string answer(s) ['']: every entry must be answer text"]
    >>> open_row_problems({'audios': [], 'text_query': ' ', 'reference': 'a', 'question_id': 'x'}, check_audio=False)
    ['audios must hold exactly one wav path, got []', 'text_query (the question as text) is empty: give the question']
    """
    if not isinstance(row, Mapping):
        return [f'expected a JSON object, got {type(row).__name__}']
    missing = [c for c in OPEN_COLUMNS if row.get(c) is None]
    if missing:
        return [f'missing column(s) {missing}; an open row needs {list(OPEN_COLUMNS)} (see the open rows in the '
                'README)']
    problems = audio_problems(row, where, check_audio)
    if not isinstance(row[TEXT_QUERY], str) or not row[TEXT_QUERY].strip():
        problems.append('text_query (the question as text) is empty: give the question')
    problems.extend(_reference_problems(row[REFERENCE]))
    problems.extend(question_id_problems(row[QUESTION_ID]))
    return problems


def validate_open_row(row: Mapping[str, Any], where: str = '', *, check_audio: bool = True) -> Mapping[str, Any]:
    """Returns ``row`` when it is a valid open row; raises :class:`RowError` naming it otherwise."""
    return checked_row(row, where, open_row_problems, check_audio)


def references_of(row: Mapping[str, Any]) -> List[str]:
    """The reference answer(s) of an open row as a list.

    >>> references_of({'reference': 'Melville'}), references_of({'reference': ['Paris', 'paris, France']})
    (['Melville'], ['Paris', 'paris, France'])
    """
    reference = row.get(REFERENCE)
    if reference is None:
        return []
    return [reference] if isinstance(reference, str) else list(reference)
