"""The released upstream training set's schema (docs/method.md §2.1): hub id and the row fields of one record.

Columns used: ``key``/``question_id``, ``question``, ``options`` (4), ``answer_index``, ``prompt_for_tts``
(the text query, verbatim) and the HF ``Audio`` column ``audio`` (24/44.1 kHz; resampled to 16 kHz).
"""
from typing import Any, Mapping, Optional

from swift_tars.data.mcq import first_present, gold_letter, require_options, require_question
from swift_tars.data.rows import RowError

HUB_ID = 'yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1'


MMLU_SOURCE = 'mmlu_auxiliary_train'


def upstream_key(row: Mapping[str, Any], where: str) -> str:
    """``key`` when present, else ``str(question_id)``."""
    key = row.get('key')
    if key is not None and str(key).strip():
        return str(key)
    if row.get('question_id') is not None and str(row['question_id']).strip():
        return str(row['question_id'])
    raise RowError(f'{where}: the row has neither "key" nor "question_id"')


def upstream_fields(row: Mapping[str, Any], *, where: str, num_options: Optional[int] = 4) -> dict:
    """Text fields of one upstream row; ``text_query`` is ``prompt_for_tts`` verbatim."""
    qid = upstream_key(row, where)
    at = f'{where} (question_id={qid!r})'
    question = require_question(row.get('question'), at)
    options = require_options(row.get('options'), at, num_options)
    gold = first_present(row, ('answer_index', 'answer'))
    text_query = row.get('prompt_for_tts')
    if not isinstance(text_query, str) or not text_query.strip():
        raise RowError(f'{at}: empty prompt_for_tts (the text version of the question)')
    return {
        'question_id': qid,
        'question': question,
        'options': options,
        'solution': gold_letter(gold, options, at),
        'text_query': text_query,
        'subject': row.get('category') or row.get('subject') or None,
        'source': MMLU_SOURCE if qid.startswith('mmlu@') else (row.get('source') or None),
    }
