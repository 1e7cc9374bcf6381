"""One multiple-choice question's fields, checked: the question text, the options and the gold letter.

Shared by the builders and by the ms-swift preprocessor, so every path reports the same errors:
empty question, wrong option count, gold answer not among the options — each naming the row.
"""
from typing import Any, List, Mapping, Optional, Sequence

from swift_tars.answers import choice_letters, normalize_gold
from swift_tars.data.rows import RowError, check_options


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
