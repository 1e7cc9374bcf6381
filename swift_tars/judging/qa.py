"""Reference-based correctness of a free-form answer, asked of a chat LLM: VoiceBench's SD-QA judge protocol
(VoiceBench scores SD-QA with this question put to gpt-4o-mini), so ``swift-tars eval --task open`` numbers
are comparable with its table when the same judge model serves it. The reply is a yes/no verdict
(:func:`parse_verdict`).

>>> print(qa_prompt('Capital of France?', 'Paris', 'It is Paris.').splitlines()[-1])
Please only output a single "Yes" or "No". Do not output anything else.
"""
import re
from typing import Optional

SYSTEM = "You are a helpful assistant who tries to help answer the user's question."
PROMPT = ('### Question\n{question}\n\n### Reference answer\n{reference}\n\n### Candidate answer\n{answer}\n\n'
          'Is the candidate answer correct based on the question and reference answer? \n'
          'Please only output a single "Yes" or "No". Do not output anything else.')
MAX_VERDICT_TOKENS = 4


def qa_prompt(question: str, reference: str, answer: str) -> str:
    """The judge's user turn for one answer (several acceptable references joined with `` / ``)."""
    return PROMPT.format(question=question.strip(), reference=reference.strip(), answer=answer.strip())


def parse_verdict(text: Optional[str]) -> bool:
    """A judge reply counts as "yes" only when its first word is yes.

    >>> parse_verdict('Yes.'), parse_verdict(' yes, same'), parse_verdict('No'), parse_verdict('maybe yes')
    (True, True, False, False)
    """
    first = re.match(r'\W*(\w+)', (text or '').lower())
    return bool(first) and first.group(1) == 'yes'
