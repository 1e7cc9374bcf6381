"""Local multiple-choice source records (``--source file.jsonl``) -> question fields, and the decontamination key.

The checks of one question (text, options, gold letter) are :mod:`swift_tars.data.mcq`'s, shared with training.
"""
import re
import unicodedata
from typing import Any, Mapping, Optional

from swift_tars.data.mcq import first_present, gold_letter, require_options, require_question
from swift_tars.data.rows import RowError

ID_KEYS = ('question_id', 'key', 'id')
OPTION_KEYS = ('options', 'choices')
GOLD_KEYS = ('answer_index', 'answer', 'solution', 'label')


def parse_mc(data: Any, where: str, *, index: int, id_prefix: str, num_options: Optional[int] = 4,
             source: Optional[str] = None) -> dict:
    """One local multiple-choice record -> ``{question_id, question, options, solution, subject, source}``.

    Accepts ``question``; ``options`` or ``choices``; the gold as ``answer_index`` (0-based), ``answer``
    (letter, index or option text), ``solution`` or ``label``; optional ``question_id``/``key``/``id``
    (default ``{id_prefix}@{index + 1}``), ``subject``/``category`` and ``source``.
    """
    if not isinstance(data, Mapping):
        raise RowError(f'{where}: expected a JSON object, got {type(data).__name__}')
    if isinstance(data.get('train'), Mapping) and 'question' not in data:  # cais/mmlu auxiliary_train config
        data = data['train']
    question = require_question(data.get('question'), where)
    options = require_options(first_present(data, OPTION_KEYS), where, num_options)
    gold = first_present(data, GOLD_KEYS)
    if gold is None:
        raise RowError(f'{where}: no gold answer (one of {", ".join(GOLD_KEYS)})')
    qid = first_present(data, ID_KEYS)
    qid = f'{id_prefix}@{index + 1}' if qid is None or str(qid).strip() == '' else str(qid)
    return {
        'question_id': qid,
        'question': question,
        'options': options,
        'solution': gold_letter(gold, options, f'{where} (question_id={qid!r})'),
        'subject': first_present(data, ('subject', 'category')) or None,
        'source': data.get('source') or source,
    }


_NON_WORD = re.compile(r'[\W_]+', re.UNICODE)


def normalize_question(text: str) -> str:
    """Lower case, accents folded, punctuation/underscores/whitespace collapsed: the decontamination key."""
    text = unicodedata.normalize('NFKD', text or '')
    text = ''.join(c for c in text if not unicodedata.combining(c))
    return _NON_WORD.sub(' ', text.lower()).strip()
