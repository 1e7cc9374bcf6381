"""``tars_format``: 1.0 for the strict TARS layout, 0.5 for the loose one, 0.0 otherwise (docs/method.md §5.1).

strict: ``^<think>.*?</think>\\s*<answer>.*The answer is X[.:,].*</answer>$``;
loose: ``^<think>.*<answer>.*X[.:,]`` (both DOTALL, on the stripped completion). X ranges over the
row's option letters (A–D without an ``options`` column). Scores come from ``TARS_FORMAT_SCORES``.

>>> format_score('<think>t</think><answer>The answer is C.</answer>')
1.0
>>> format_score('<think>t<answer>C, surely')
0.5
>>> format_score('The answer is C.')
0.0
"""
import re
from functools import lru_cache
from typing import List, Optional, Sequence, Tuple

from swift.rewards import ORM

from swift_tars.answers import choice_letters
from swift_tars.config import TarsConfig
from swift_tars.data.rows import options_of


@lru_cache(maxsize=32)
def _patterns(letters: str) -> Tuple['re.Pattern', 're.Pattern']:
    cls = '[' + re.escape(letters) + ']'
    strict = re.compile(r'^<think>.*?</think>\s*<answer>.*The answer is ' + cls + r'[.:,].*</answer>$', re.DOTALL)
    loose = re.compile(r'^<think>.*<answer>.*' + cls + r'[.:,]', re.DOTALL)
    return strict, loose


DEFAULT_LETTERS = choice_letters(4)  # a row without an ``options`` column


def format_score(text: str,
                 letters: str = DEFAULT_LETTERS,
                 scores: Tuple[float, float, float] = (1.0, 0.5, 0.0)) -> float:
    """Score ``text`` as strict / loose / no match of the TARS answer layout."""
    strict, loose = _patterns(letters)
    text = (text or '').strip()
    if strict.match(text):
        return scores[0]
    if loose.match(text):
        return scores[1]
    return scores[2]


class TarsFormat(ORM):
    """Format reward for both modalities; scores from ``TARS_FORMAT_SCORES``."""

    def __init__(self, args=None, **kwargs):
        super().__init__(args, **kwargs)
        self.scores = TarsConfig.from_env().format_scores

    def __call__(self, completions: List[str], **kwargs) -> List[float]:
        out = []
        for i, text in enumerate(completions):
            options: Optional[Sequence[str]] = options_of(kwargs, i)
            letters = choice_letters(len(options)) if options else DEFAULT_LETTERS
            out.append(format_score(text, letters, self.scores))
        return out
