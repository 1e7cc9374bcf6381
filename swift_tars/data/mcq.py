"""One multiple-choice question's fields, checked: the question text, the options and the gold letter.

Shared by the builders, the ms-swift preprocessor, the accuracy reward and the evaluation, so every path
reads a gold answer the same way and reports the same errors: empty question, wrong option count, gold
answer not among the options — each naming the row.
"""
from typing import Any, List, Mapping, Optional, Sequence

from swift_tars.answers import choice_letters, normalize_gold
from swift_tars.data.rows import ANSWER_INDEX, OPTIONS, SOLUTION, MissingColumnError, RowError, check_options


def require_question(question: Any, where: str) -> str:
    """The question text, or a :class:`RowError` when it is missing or blank."""
    if not isinstance(question, str) or not question.strip():
        raise RowError(f'{where}: empty question ({question!r})')
    return question


def require_options(options: Any, where: str, num_options: Optional[int] = 4) -> List[str]:
    """The option texts as a list of non-empty strings; ``num_options`` (None: any, at least 2) enforced."""
    return check_options(options, where, num_options, coerce=True)


def gold_letter(gold: Any, options: Optional[Sequence[str]], where: str, *, by_text: bool = True) -> str:
    """The gold option letter from a letter (``"B"``, ``"(b)"``), a 0-based index or, with ``by_text``, the
    exact text of one option; a :class:`RowError` naming ``where`` otherwise. ``options`` None: any letter.

    >>> gold_letter(1, ['cat', 'dog'], 'row 0'), gold_letter('dog', ['cat', 'dog'], 'row 0')
    ('B', 'B')
    """
    if gold is not None and not isinstance(gold, (float, bool)):
        try:
            return normalize_gold(gold, options)
        except ValueError:
            pass
        if by_text and options is not None and isinstance(gold, str):
            matches = [i for i, o in enumerate(options) if o.strip() == gold.strip()]
            if len(matches) == 1:
                return choice_letters(len(options))[matches[0]]
    if options is None:
        raise RowError(f'{where}: gold answer {gold!r} is neither an option letter nor a 0-based index')
    letters = ', '.join(choice_letters(len(options)))
    raise RowError(f'{where}: gold answer {gold!r} is not among the options {letters} ({list(options)!r})')


def row_gold_letter(row: Mapping[str, Any], where: str = 'row') -> str:
    """The gold option letter of a row-format row: its ``solution`` (a letter such as ``"B"``) or, when that is
    missing or blank, its ``answer_index`` (0-based); checked against its ``options`` when it has them.

    The one reading of the gold columns (``tars_accuracy``, ``swift-tars eval``). Raises
    :class:`~swift_tars.data.rows.MissingColumnError` when both are empty, :class:`RowError` for a value that
    is not an option letter; both name ``where``.

    >>> row_gold_letter({'solution': ' ', 'answer_index': 2, 'options': ['a', 'b', 'c']})
    'C'
    """
    solution = row.get(SOLUTION)
    gold = row.get(ANSWER_INDEX) if _blank(solution) else solution
    if _blank(gold):
        raise MissingColumnError(f'{where} has no gold answer: {SOLUTION!r} and {ANSWER_INDEX!r} are both empty. '
                                 'Fix or drop this row.')
    return gold_letter(gold, row.get(OPTIONS), where, by_text=False)


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def first_present(data: Mapping[str, Any], keys: Sequence[str]) -> Any:
    """The value of the first of ``keys`` present (and not None) in ``data``."""
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return None
