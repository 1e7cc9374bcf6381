"""The exact prompt strings of the TARS paper (docs/method.md §3) and the text-prompt layout."""
import re
from typing import Sequence

from swift_tars.answers import choice_letters

# The system prompt of every TARS run (single line, no trailing newline).
SYSTEM_THINK = (
    'A conversation between User and Assistant. The user asks a question, and the Assistant solves it. '
    'The assistant first thinks about the reasoning process in the mind and then provides the user with '
    'the answer. The reasoning process and answer are enclosed within <think> </think> and <answer> '
    '</answer> tags, respectively, i.e., <think>[THINKING PROCESS]</think><answer>The answer is '
    '[CHOICE].</answer>')

# The user turn of a speech row: the audio only, no written instruction.
SPEECH_USER_CONTENT = '<audio>'


def tars_text_prompt(question: str, options: Sequence[str]) -> str:
    """The training text prompt (upstream ``prompt_for_tts``): question, blank line, ``Option X:`` lines.

    >>> print(tars_text_prompt('Which animal barks?', ['cat', 'dog']))
    Which animal barks?
    <BLANKLINE>
    Option A: cat
    Option B: dog
    """
    lines = [f'Option {letter}: {opt}' for letter, opt in zip(choice_letters(len(options)), options)]
    return question.strip() + '\n\n' + '\n'.join(lines)


_BLANK = re.compile(r'_{2,}')
_BLANK_AT_END = re.compile(r'_{2,}\.$')
_ORDINALS = ('first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth')


def rewrite_blanks(question: str) -> str:
    """Underscore blanks made speakable, exactly as upstream: a final ``___.`` becomes `` what?``; then a
    single blank becomes `` what ``, several become `` first blank ``, `` second blank ``, … (cycling
    after ten).

    >>> rewrite_blanks('The sun rises in the ___.')
    'The sun rises in the  what?'
    >>> rewrite_blanks('___ is to ___ as hot is to cold.')
    ' first blank  is to  second blank  as hot is to cold.'
    """
    question = _BLANK_AT_END.sub(' what?', question)
    count = len(_BLANK.findall(question))
    if count == 1:
        return _BLANK.sub(' what ', question)
    for i in range(count):
        question = _BLANK.sub(f' {_ORDINALS[i % 10]} blank ', question, count=1)
    return question
