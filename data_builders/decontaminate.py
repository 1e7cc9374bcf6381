"""Decontamination: drop training questions whose normalised text matches a question of an eval set.

MMLU ``auxiliary_train`` contains OpenBookQA's training split, and VoiceBench OBQA is an evaluation
set (docs/method.md §2.5, §13 item 27). ``--exclude`` takes eval sets (row-format jsonl such as the output of
``build-data voicebench``, any multiple-choice jsonl, raw VoiceBench rows, or a ``save_to_disk``
folder); each dropped training row is counted per eval set in the manifest.
"""
import hashlib
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from data_builders.mcq import normalize_question
from data_builders.sources import iter_hf, iter_jsonl, load_hf
from swift_tars.answers import choice_letters
from swift_tars.data.rows import TEXT_QUERY, RowError
from swift_tars.data.voicebench import parse_prompt

_OPTION_BLOCK = f'\n\nOption {choice_letters(1)}:'  # where the option lines of tars_text_prompt start


def question_of(row: Mapping[str, Any]) -> Optional[str]:
    """The question text of an eval row: ``question``, else parsed from ``text_query`` or ``prompt``."""

    if isinstance(row.get('question'), str) and row['question'].strip():
        return row['question']
    text = row.get(TEXT_QUERY) or row.get('prompt_for_tts') or row.get('prompt')
    if not isinstance(text, str) or not text.strip():
        return None
    if _OPTION_BLOCK in text:  # the TARS training layout
        return text.split(_OPTION_BLOCK, 1)[0]
    try:
        return parse_prompt(text)[0]  # the VoiceBench layout
    except RowError:
        return text


class EvalSet:
    """The normalised questions of one eval set."""

    def __init__(self, name: str, questions: Iterable[str]):
        self.name = name
        self.questions = {q for q in (normalize_question(x) for x in questions if x) if q}

    @classmethod
    def load(cls, path: str) -> 'EvalSet':
        """An eval set from a jsonl file or a ``save_to_disk`` folder."""

        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(f'--exclude {path}: no such file or folder')
        if p.is_file() and p.suffix in ('.jsonl', '.json'):
            records = iter_jsonl(p)
        else:
            records = iter_hf(load_hf(str(p)), str(p))
        questions = []
        for record in records:
            if isinstance(record.data, Exception):
                raise record.data
            question = question_of(record.data)
            if question is None:
                raise RowError(f'{record.where}: eval row has no question, text_query or prompt')
            questions.append(question)
        return cls(p.name, questions)

    def digest(self) -> str:
        return hashlib.sha256('\n'.join(sorted(self.questions)).encode()).hexdigest()[:16]


class Decontaminator:
    """Matches training questions against eval sets and counts the drops per eval set."""

    def __init__(self, eval_sets: List[EvalSet]):
        self.eval_sets = eval_sets
        self.dropped: Counter = Counter()

    @classmethod
    def from_paths(cls, paths: Optional[List[str]]) -> 'Decontaminator':
        return cls([EvalSet.load(p) for p in paths or []])

    def match(self, *questions: str) -> Optional[str]:
        """The name of the first eval set containing any of ``questions`` (normalised), else None."""
        keys = {normalize_question(q) for q in questions if q}
        for eval_set in self.eval_sets:
            if keys & eval_set.questions:
                return eval_set.name
        return None

    def settings(self) -> List[Dict[str, Any]]:
        return [{'name': s.name, 'questions': len(s.questions), 'digest': s.digest()} for s in self.eval_sets]

    def report(self) -> Dict[str, Any]:
        return {'eval_sets': self.settings(), 'match': 'normalised question text',
                'dropped': {s.name: self.dropped[s.name] for s in self.eval_sets},
                'dropped_total': sum(self.dropped.values())}
