"""``tars_accuracy``: 1.0 when the extracted option letter equals the gold answer, else 0.0.

Gold comes from the ``solution`` column (a letter) or, failing that, ``answer_index`` (0-based int), read by
:func:`~swift_tars.data.mcq.row_gold_letter` as in ``swift-tars eval``. :func:`correctness` is the single
correctness test of swift-tars: the alignment rewards and the trainer call it too, so "a correct text rollout"
always means what this reward pays for. With ``TARS_ACCURACY_JUDGE`` set, the letters are read by an xFinder-format
judge instead (:class:`~swift_tars.judging.judges.ChoiceJudge`, one batched call per step and rank: the alignment
rewards and the trainer asking about the same completions get its remembered readings).

>>> TarsAccuracy()(['<think>..</think><answer>The answer is B.</answer>', 'A'], solution=['B', 'B'])
[1.0, 0.0]
"""
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from swift.rewards import ORM

from swift_tars.answers import extract_choice
from swift_tars.config import TarsConfig
from swift_tars.data.mcq import row_gold_letter
from swift_tars.data.rows import ANSWER_INDEX, OPTIONS, SOLUTION, TEXT_QUERY, MissingColumnError, options_of, row_label
from swift_tars.judging.judges import ChoiceJudge
from swift_tars.judging.xfinder import question_of

_JUDGES: Dict[Tuple[str, str], ChoiceJudge] = {}  # one judge (and model) per process and setting


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


def accuracy_judge() -> Optional[ChoiceJudge]:
    """The ``TARS_ACCURACY_JUDGE`` judge of this process (created once), or None when it is off."""
    config = TarsConfig.from_env()
    if not config.accuracy_judge:
        return None
    key = (config.accuracy_judge, config.accuracy_judge_model)
    if key not in _JUDGES:
        _JUDGES[key] = ChoiceJudge(*key)
    return _JUDGES[key]


def _row_value(batch: Mapping[str, Any], name: str, i: int):
    """Column ``name`` of row ``i`` of a batched reward call; None when the column is absent."""
    values = batch.get(name)
    return values[i] if values is not None and i < len(values) else None


def answer_letters(completions: Sequence[str], batch: Mapping[str, Any]) -> List[Optional[str]]:
    """The option letter each completion commits to: the judge's reading when ``TARS_ACCURACY_JUDGE`` is set,
    else ``extract_choice`` (an empty ``<answer>`` block gives None, see ``swift_tars.answers``)."""
    judge = accuracy_judge()
    if judge is not None:
        items = [(question_of(_row_value(batch, 'question', i), _row_value(batch, TEXT_QUERY, i)), text,
                  options_of(batch, i) or []) for i, text in enumerate(completions)]
        return [reading.letter for reading in judge(items)]
    return [extract_choice(text, options_of(batch, i), read_reasoning_when_answer_empty=False)
            for i, text in enumerate(completions)]


def correctness(completions: List[str], batch: Mapping[str, Any]) -> List[float]:
    """1.0/0.0 per completion: is its answer letter (:func:`answer_letters`) the row's gold letter?"""
    golds = gold_letters(batch, len(completions))
    return [1.0 if letter == gold else 0.0 for letter, gold in zip(answer_letters(completions, batch), golds)]


class TarsAccuracy(ORM):
    """Answer accuracy for both modalities (docs/method.md §5.2, deterministic extractor)."""

    def __call__(self, completions: List[str], **kwargs) -> List[float]:
        return correctness(completions, kwargs)
