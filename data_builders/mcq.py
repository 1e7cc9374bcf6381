"""Multiple-choice records: reading one question from a source row, the gold letter, the question key.

Shared by the builders and by the ms-swift preprocessor, so every path reports the same errors:
empty question, wrong option count, gold answer not among the options — each naming the row.
"""
import re
import unicodedata
from typing import Any, List, Mapping, Optional, Sequence

from swift_tars.answers import choice_letters, normalize_gold
from swift_tars.rows import RowError, check_options

ID_KEYS = ('question_id', 'key', 'id')
OPTION_KEYS = ('options', 'choices')
GOLD_KEYS = ('answer_index', 'answer', 'solution', 'label')


def require_question(question: Any, where: str) -> str:
    """The question text, or a :class:`RowError` when it is missing or blank."""
    if not isinstance(question, str) or not question.strip():
        raise RowError(f'{where}: empty question ({question!r})')
    return question


def require_options(options: Any, where: str, num_options: Optional[int] = 4) -> List[str]:
    """The option texts as a list of non-empty strings; ``num_options`` (None: any, at least 2) enforced."""
    return check_options(options, where, num_options, coerce=True)


def gold_letter(gold: Any, options: Sequence[str], where: str) -> str:
    """The gold option letter from a letter (``"B"``, ``"(b)"``), a 0-based index, or the exact option text."""
    letters = choice_letters(len(options))
    if gold is None or isinstance(gold, float) or isinstance(gold, bool):
        raise RowError(f'{where}: gold answer {gold!r} is not among the options {", ".join(letters)}')
    try:
        return normalize_gold(gold, options)
    except ValueError:
        pass
    if isinstance(gold, str):
        matches = [i for i, o in enumerate(options) if o.strip() == gold.strip()]
        if len(matches) == 1:
            return letters[matches[0]]
    raise RowError(f'{where}: gold answer {gold!r} is not among the options {", ".join(letters)} ({list(options)!r})')


def first_present(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The value of the first of ``keys`` present (and not None) in ``data``."""
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None


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
