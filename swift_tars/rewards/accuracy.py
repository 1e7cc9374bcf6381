"""``tars_accuracy``: 1.0 when the extracted option letter equals the gold answer, else 0.0.

Gold comes from the ``solution`` column (a letter) or, failing that, ``answer_index`` (0-based int), read by
:func:`~swift_tars.data.mcq.row_gold_letter` as in ``swift-tars eval``. :func:`correctness` is the single
correctness test of swift-tars: the alignment rewards and the trainer call it too, so "a correct text rollout"
always means what this reward pays for.

>>> TarsAccuracy()(['<think>..</think><answer>The answer is B.</answer>', 'A'], solution=['B', 'B'])
[1.0, 0.0]
"""
from typing import Any, List, Mapping

from swift.rewards import ORM

from swift_tars.answers import extract_choice
from swift_tars.data.mcq import row_gold_letter
from swift_tars.data.rows import ANSWER_INDEX, OPTIONS, SOLUTION, MissingColumnError, options_of, row_label


def gold_letters(batch: Mapping[str, Any], n: int) -> List[str]:
    """The gold letter of each of the ``n`` rows; a clear error naming the row when it cannot be read."""
    solutions, indices = batch.get(SOLUTION), batch.get(ANSWER_INDEX)
    if solutions is None and indices is None:
        raise MissingColumnError(f'tars_accuracy needs a gold answer column, {SOLUTION!r} (a letter such as "B") '
                                 f'or {ANSWER_INDEX!r} (0-based int); neither is in the dataset ({row_label(batch, 0)} '
                                 'and all others). Add one to every row or map yours with '
                                 '--columns \'{"yours": "solution"}\'.')
    return [row_gold_letter({SOLUTION: solutions[i] if solutions is not None else None,
                             ANSWER_INDEX: indices[i] if indices is not None else None,
                             OPTIONS: options_of(batch, i)}, row_label(batch, i)) for i in range(n)]


def correctness(completions: List[str], batch: Mapping[str, Any]) -> List[float]:
    """1.0/0.0 per completion: does ``extract_choice`` give the row's gold letter? An empty ``<answer>`` block earns
    nothing here even after a committed reasoning (eval reads the reasoning; see ``swift_tars.answers``)."""
    golds = gold_letters(batch, len(completions))
    return [
        1.0 if extract_choice(text, options_of(batch, i), read_reasoning_when_answer_empty=False) == gold else 0.0
        for i, (text, gold) in enumerate(zip(completions, golds))
    ]


class TarsAccuracy(ORM):
    """Answer accuracy for both modalities (docs/method.md §5.2, deterministic extractor)."""

    def __call__(self, completions: List[str], **kwargs) -> List[float]:
        return correctness(completions, kwargs)
