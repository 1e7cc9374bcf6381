"""``tars_accuracy``: 1.0 when the extracted option letter equals the gold answer, else 0.0.

Gold comes from the ``solution`` column (a letter) or, failing that, ``answer_index`` (0-based int).
:func:`correctness` is the single correctness test of swift-tars: the alignment rewards and the
trainer call it too, so "a correct text rollout" always means what this reward pays for.

>>> TarsAccuracy()(['<think>..</think><answer>The answer is B.</answer>', 'A'], solution=['B', 'B'])
[1.0, 0.0]
"""
from typing import Any, List, Mapping

from swift.rewards import ORM

from swift_tars.answers import extract_choice, normalize_gold
from swift_tars.data.rows import ANSWER_INDEX, SOLUTION, MissingColumnError, options_of, row_label


def gold_letters(batch: Mapping[str, Any], n: int) -> List[str]:
    """The gold letter of each of the ``n`` rows; a clear error naming the row when it cannot be read."""
    solutions, indices = batch.get(SOLUTION), batch.get(ANSWER_INDEX)
    if solutions is None and indices is None:
        raise MissingColumnError(f'tars_accuracy needs a gold answer column, {SOLUTION!r} (a letter such as "B") '
                                 f'or {ANSWER_INDEX!r} (0-based int); neither is in the dataset ({row_label(batch, 0)} '
                                 'and all others). Add one to every row or map yours with '
                                 '--columns \'{"yours": "solution"}\'.')
    golds = []
    for i in range(n):
        value = solutions[i] if solutions is not None else None
        if value is None and indices is not None:
            value = indices[i]
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MissingColumnError(f'{row_label(batch, i)} has no gold answer: {SOLUTION!r} and {ANSWER_INDEX!r} '
                                     'are both empty. Fix or drop this row.')
        try:
            golds.append(normalize_gold(value, options_of(batch, i)))
        except ValueError as e:
            raise ValueError(f'{row_label(batch, i)} has an unusable gold answer {value!r}: {e}') from None
    return golds


def correctness(completions: List[str], batch: Mapping[str, Any]) -> List[float]:
    """1.0/0.0 per completion: does ``extract_choice`` give the row's gold letter?"""
    golds = gold_letters(batch, len(completions))
    return [
        1.0 if extract_choice(text, options_of(batch, i)) == gold else 0.0
        for i, (text, gold) in enumerate(zip(completions, golds))
    ]


class TarsAccuracy(ORM):
    """Answer accuracy for both modalities (docs/method.md §5.2, deterministic extractor)."""

    def __call__(self, completions: List[str], **kwargs) -> List[float]:
        return correctness(completions, kwargs)
