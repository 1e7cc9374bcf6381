"""ASR rows: one ``(audio, transcript)`` pair per JSON line, for the ``swift-tars eval --task asr`` diagnostic.

::

    {"audios": ["/abs/data/wav/3f/3f2a….wav"], "transcript": "HE HOPED THERE WOULD BE STEW FOR DINNER",
     "question_id": "librispeech-1089-134686-0000", "source": "librispeech_clean_test", "speaker_id": 1089}

``audios`` holds one wav (the audio rule of every row, :func:`~swift_tars.data.rows.check_row_audio`: any rate
or channel count, resampled to 16 kHz mono on load), ``transcript`` the reference text as the source spells it
(normalised only when scored), ``question_id`` a unique id. The transcription prompt is the evaluation's, not
the row's, so an ASR row carries no ``messages``. Written by ``swift-tars build-data librispeech``.
"""
from typing import Any, List, Mapping

from swift_tars.data.rows import AUDIOS, QUESTION_ID, audio_problems, checked_row, question_id_problems

TRANSCRIPT = 'transcript'
ASR_COLUMNS = (AUDIOS, TRANSCRIPT, QUESTION_ID)


def make_asr_row(*, audio: str, transcript: str, question_id: str, **optional: Any) -> dict:
    """One ASR row; ``optional`` columns whose value is None are left out.

    >>> make_asr_row(audio='/a.wav', transcript='HELLO', question_id='x', source=None)
    {'audios': ['/a.wav'], 'transcript': 'HELLO', 'question_id': 'x'}
    """
    row = {AUDIOS: [str(audio)], TRANSCRIPT: transcript, QUESTION_ID: str(question_id)}
    row.update({k: v for k, v in optional.items() if v is not None})
    return row


def asr_row_problems(row: Any, *, check_audio: bool = True, where: str = '') -> List[str]:
    """Everything wrong with an ASR row, one "what is wrong: how to fix it" line each; empty when it is valid.

    >>> asr_row_problems({'audios': [], 'transcript': ' ', 'question_id': 'x'}, check_audio=False)
    ['audios must hold exactly one wav path, got []', 'transcript (the reference text) is empty: give the words spoken']
    """
    if not isinstance(row, Mapping):
        return [f'expected a JSON object, got {type(row).__name__}']
    missing = [c for c in ASR_COLUMNS if row.get(c) is None]
    if missing:
        return [f'missing column(s) {missing}; an ASR row needs {list(ASR_COLUMNS)} (see the ASR rows in the README)']
    problems = audio_problems(row, where, check_audio)
    if not isinstance(row[TRANSCRIPT], str) or not row[TRANSCRIPT].strip():
        problems.append('transcript (the reference text) is empty: give the words spoken')
    problems.extend(question_id_problems(row[QUESTION_ID]))
    return problems


def validate_asr_row(row: Mapping[str, Any], where: str = '', *, check_audio: bool = True) -> Mapping[str, Any]:
    """Returns ``row`` when it is a valid ASR row; raises :class:`RowError` naming it otherwise."""
    return checked_row(row, where, asr_row_problems, check_audio)
