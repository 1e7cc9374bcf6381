"""``tars_agreement``: CORD's sequence-level reward — does the speech rollout reach the answer the
text-conditioned policy reaches?

For each question, the reference is the majority letter of its text rollouts (extracted with
``extract_choice``; no answer or a tie -> no reference). A speech rollout scores 1.0 when its answer
agrees with it, 0.0 when not; NaN (``None``) when there is no reference, and for every text rollout.
The judge is chosen by ``TARS_AGREEMENT_JUDGE``:

- ``extract`` (default): deterministic — the extracted letters must be equal;
- ``http(s)://.../v1``: an OpenAI-compatible chat endpoint asked "same option? yes/no" (CORD's judge);
- a local model path: the same question through ms-swift's ``TransformersEngine``.

>>> TarsAgreement()(['The answer is B.', 'The answer is B.', 'The answer is C.', 'The answer is B.'],
...                 tars_modality=['speech', 'text'] * 2, question_id=['q'] * 4)
[1.0, None, 0.0, None]
"""
from collections import Counter
from typing import List, Optional, Sequence, Tuple

from swift.rewards import ORM

from swift_tars.answers import choice_letters, extract_choice
from swift_tars.config import TarsConfig
from swift_tars.data.rows import SPEECH, TEXT, options_of
from swift_tars.grpo.pairing import question_runs, rollout_groups
from swift_tars.judging.qa import MAX_VERDICT_TOKENS, parse_verdict
from swift_tars.judging.serving import make_completer

JUDGE_PROMPT = ('Two answers to the same multiple-choice question are given.\n{options}Reference answer: option '
                '{reference}.\nCandidate answer:\n{candidate}\n\nDoes the candidate choose the same option as the '
                'reference? Reply with one word: yes or no.')


def majority_letter(letters: Sequence[Optional[str]]) -> Optional[str]:
    """The most frequent non-None letter; None when there is none or the top count is tied.

    >>> majority_letter(['A', None, 'A', 'B']), majority_letter(['A', 'B']), majority_letter([None])
    ('A', None, None)
    """
    counts = Counter(x for x in letters if x is not None).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]


def judge_prompt(candidate: str, reference: str, options: Optional[Sequence[str]]) -> str:
    listed = ''.join(f'{letter}. {o}\n' for letter, o in zip(choice_letters(len(options)), options)) if options else ''
    return JUDGE_PROMPT.format(options=listed, reference=reference, candidate=candidate)


class ExtractJudge:
    """Deterministic: agreement = the candidate's extracted letter equals the reference."""

    def __call__(self, items: List[Tuple[str, str, Optional[Sequence[str]]]]) -> List[bool]:
        return [extract_choice(c, o, read_reasoning_when_answer_empty=False) == r for c, r, o in items]


class VerdictJudge:
    """A model asked "same option? yes/no" (CORD's judge), local or an endpoint (:mod:`swift_tars.judging.serving`):
    one batched call per reward call, greedy, 4 tokens."""

    def __init__(self, spec: str, model: str = ''):
        self.completer = make_completer(spec, model, raw=False)

    def __call__(self, items):
        replies = self.completer([judge_prompt(c, r, o) for c, r, o in items], MAX_VERDICT_TOKENS)
        return [parse_verdict(r) for r in replies]


def make_judge(spec: str, model: str = ''):
    """``extract``, else a :class:`VerdictJudge` of an ``http(s)://`` endpoint or a model (local folder or hub id,
    checked by :class:`~swift_tars.config.TarsConfig`)."""
    return ExtractJudge() if spec == 'extract' else VerdictJudge(spec, model)


class TarsAgreement(ORM):
    """Agreement of each speech rollout with the majority answer of its question's text rollouts."""

    def __init__(self, args=None, **kwargs):
        super().__init__(args, **kwargs)
        config = TarsConfig.from_env()
        self.spec, self.model = config.agreement_judge, config.agreement_judge_model
        self._judge = None

    @property
    def judge(self):
        if self._judge is None:
            self._judge = make_judge(self.spec, self.model)
        return self._judge

    def __call__(self, completions: List[str], **kwargs) -> List[Optional[float]]:
        n = len(completions)
        modalities, question_ids = rollout_groups(kwargs, n, 'tars_agreement')
        out: List[Optional[float]] = [None] * n
        asks, where = [], []
        for run in question_runs(question_ids, modalities):
            options = options_of(kwargs, run[0])
            letters = [extract_choice(completions[i], options, read_reasoning_when_answer_empty=False) for i in run
                       if modalities[i] == TEXT]
            reference = majority_letter(letters)
            if reference is None:
                continue
            for i in run:
                if modalities[i] == SPEECH:
                    asks.append((completions[i], reference, options))
                    where.append(i)
        if asks:
            for i, same in zip(where, self.judge(asks)):
                out[i] = 1.0 if same else 0.0
        return out
