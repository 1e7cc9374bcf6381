"""The exact prompt strings of the TARS paper (method.md §3) and the text-prompt layout."""
from typing import Sequence

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
    lines = [f'Option {chr(65 + i)}: {opt}' for i, opt in enumerate(options)]
    return question.strip() + '\n\n' + '\n'.join(lines)
