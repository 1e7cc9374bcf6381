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
import json
import re
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence, Tuple

from swift.rewards import ORM

from swift_tars.answers import choice_letters, extract_choice
from swift_tars.config import TarsConfig
from swift_tars.data.rows import SPEECH, TEXT, options_of
from swift_tars.grpo.pairing import question_runs, rollout_groups

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


def parse_verdict(text: str) -> bool:
    """A judge reply counts as agreement only when its first word is "yes"."""
    first = re.match(r'\W*(\w+)', (text or '').lower())
    return bool(first) and first.group(1) == 'yes'


class ExtractJudge:
    """Deterministic: agreement = the candidate's extracted letter equals the reference."""

    def __call__(self, items: List[Tuple[str, str, Optional[Sequence[str]]]]) -> List[bool]:
        return [extract_choice(c, o, read_reasoning_when_answer_empty=False) == r for c, r, o in items]


class EndpointJudge:
    """An OpenAI-compatible ``/chat/completions`` endpoint; requests run concurrently, greedy, 4 tokens."""

    def __init__(self, base_url: str, model: str, timeout: float = 60.0, workers: int = 16):
        self.url = base_url.rstrip('/') + '/chat/completions'
        self.model, self.timeout, self.workers = model or 'default', timeout, workers

    def _ask(self, prompt: str) -> bool:
        body = json.dumps({'model': self.model, 'messages': [{'role': 'user', 'content': prompt}], 'max_tokens': 4,
                           'temperature': 0}).encode()
        request = urllib.request.Request(self.url, data=body, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
        except OSError as e:
            raise RuntimeError(f'tars_agreement judge at {self.url} failed: {e}') from None
        return parse_verdict(reply['choices'][0]['message']['content'])

    def __call__(self, items):
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(self._ask, [judge_prompt(c, r, o) for c, r, o in items]))


class LocalModelJudge:
    """A local model through ms-swift's TransformersEngine (loaded once, outside ZeRO-3), batched, greedy."""

    def __init__(self, model_path: str):
        from swift.infer_engine import TransformersEngine
        from swift.utils import disable_deepspeed_zero3
        with disable_deepspeed_zero3():
            self.engine = TransformersEngine(model_path)

    def __call__(self, items):
        from swift.infer_engine import InferRequest, RequestConfig
        requests = [InferRequest(messages=[{'role': 'user', 'content': judge_prompt(c, r, o)}]) for c, r, o in items]
        responses = self.engine.infer(requests, RequestConfig(max_tokens=4, temperature=0), use_tqdm=False)
        return [parse_verdict(r.choices[0].message.content) for r in responses]


def make_judge(spec: str, model: str = ''):
    """``extract``, an ``http(s)://`` endpoint, or a model (local folder or hub id, checked by
    :class:`~swift_tars.config.TarsConfig`) for :class:`LocalModelJudge`."""
    if spec == 'extract':
        return ExtractJudge()
    if spec.startswith(('http://', 'https://')):
        return EndpointJudge(spec, model)
    return LocalModelJudge(spec)


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
