"""The two judges and how a spec chooses their model: ``xfinder`` (the paper's xFinder-qwen1505, loaded locally),
a local model folder or hub id, or an OpenAI-compatible ``http(s)://…/v1`` endpoint.

- :class:`ChoiceJudge` reads the option letter of multiple-choice answers in xFinder's format (:mod:`.xfinder`);
- :class:`OpenJudge` says whether free-form answers agree with their references (:mod:`.qa`; a chat model, so
  not ``xfinder``).

Both take a whole list per call and load their model on the first call, so a resumed evaluation with
nothing left to judge loads nothing. :class:`ChoiceJudge` remembers its last readings, so the rewards and the
trainer asking about the same completions within one step cost one judge call.
"""
from collections import OrderedDict
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

from swift_tars.config import TarsPathError, check_model_path
from swift_tars.judging import qa, xfinder
from swift_tars.judging.serving import JudgeError, is_endpoint, make_completer

XFINDER = 'xfinder'
MEMORY = 8192  # readings a ChoiceJudge remembers (one step of rollouts is far fewer)


class ChoiceReading(NamedTuple):
    """What the judge replied (``label``) and the option letter it names (None: no valid answer)."""
    label: str
    letter: Optional[str]


def model_of(spec: str) -> str:
    """The model (or URL) a choice-judge spec stands for: ``xfinder`` is :data:`~.xfinder.XFINDER_MODEL`."""
    return xfinder.XFINDER_MODEL if spec == XFINDER else spec


class ChoiceJudge:
    """xFinder-format answer extraction: items ``(question, output, options)`` -> :class:`ChoiceReading` each."""

    def __init__(self, spec: str, model: str = '', batch_size: int = 16, completer_factory: Optional[Callable] = None):
        self.spec, self.model, self.batch_size = spec, model, batch_size
        self._factory = completer_factory or (lambda: make_completer(
            model_of(spec), model, raw=True, batch_size=batch_size, stop=xfinder.STOP))
        self._completer = None
        self._memory: 'OrderedDict[tuple, ChoiceReading]' = OrderedDict()
        self.calls = 0  # judge calls made (tests: one per step)

    def __call__(self, items: Sequence[Tuple[str, str, Sequence[str]]]) -> List[ChoiceReading]:
        keys = [(q, o, tuple(opts)) for q, o, opts in items]
        todo = list(dict.fromkeys(k for k in keys if k not in self._memory))
        if todo:
            if self._completer is None:
                self._completer = self._factory()
            prompts = [xfinder.xfinder_prompt(q, o, opts) for q, o, opts in todo]
            labels = self._completer(prompts, xfinder.MAX_LABEL_TOKENS)
            self.calls += 1
            for key, label in zip(todo, labels):
                self._memory[key] = ChoiceReading(label.strip(), xfinder.read_label(label, key[2]))
            while len(self._memory) > MEMORY:
                self._memory.popitem(last=False)
        return [self._memory[k] for k in keys]


class OpenJudge:
    """Reference-based correctness: items ``(question, references, answer)`` -> ``(reply, correct)`` each."""

    def __init__(self, spec: str, model: str = '', batch_size: int = 16, completer_factory: Optional[Callable] = None):
        if spec == XFINDER:
            raise JudgeError('--judge xfinder extracts option letters; free-form answers (--task open) need a '
                             'chat model that compares them with the reference: pass a local chat model or an '
                             'OpenAI-compatible endpoint (VoiceBench uses gpt-4o-mini)')
        self._factory = completer_factory or (lambda: make_completer(
            spec, model, raw=False, system=qa.SYSTEM, batch_size=batch_size))
        self._completer = None

    def __call__(self, items: Sequence[Tuple[str, Sequence[str], str]]) -> List[Tuple[str, bool]]:
        if not items:
            return []
        if self._completer is None:
            self._completer = self._factory()
        prompts = [qa.qa_prompt(q, ' / '.join(refs), answer) for q, refs, answer in items]
        replies = self._completer(prompts, qa.MAX_VERDICT_TOKENS)
        return [(r.strip(), qa.parse_verdict(r)) for r in replies]


def check_spec(spec: str, what: str) -> None:
    """A clear :class:`JudgeError` for a judge spec that is neither ``xfinder``, an endpoint, a hub id nor an
    existing folder (the path check of :func:`~swift_tars.config.check_model_path`)."""
    if spec in ('', XFINDER) or is_endpoint(spec):
        return
    try:
        check_model_path(spec, f'{what} {spec}', f', `{XFINDER}` or an http(s)://…/v1 endpoint')
    except TarsPathError as e:
        raise JudgeError(str(e)) from None
