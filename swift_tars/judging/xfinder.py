"""xFinder's prompt and label format (Yu et al., ICLR 2025), the answer judge of the TARS paper.

xFinder-qwen1505 (a Qwen1.5-0.5B fine-tune, :data:`XFINDER_MODEL`) reads a question, a model's output and the
*answer range* and replies with the key answer only: an option letter, or ``[No valid answer]`` when the output
commits to no option or wavers between several. The prompt is the one it was fine-tuned on: xtuner's default
template (``<|System|>:…\\n<|User|>:…\\n<|Bot|>:``) around the instruction and the query of its training data.
(The ``xfinder`` PyPI package, 0.2.6, sends the query without the instruction block and pins ``torch==2.3.1``,
which conflicts with ours, so the format is written here.) A reply counts as an answer the way xFinder's own
comparator reads it for ``alphabet_option``: stripped, a trailing ``.`` dropped, case-insensitive, equal to an
option's letter or to an option's text (:func:`read_label`).

>>> read_label(' b. ', ['cat', 'dog']), read_label('Dog', ['cat', 'dog']), read_label(NO_ANSWER, ['cat', 'dog'])
('B', 'B', None)
"""
import re
from typing import Optional, Sequence

from swift_tars.answers import choice_letters

XFINDER_MODEL = 'IAAR-Shanghai/xFinder-qwen1505'
NO_ANSWER = '[No valid answer]'
SYSTEM = 'You are a help assistant tasked with extracting the precise key answer from given output sentences.'
INSTRUCTION = (
    'I will provide you with a question, output sentences along with an answer range. The output sentences are the '
    'response of the question provided. The answer range could either describe the type of answer expected or list '
    'all possible valid answers. Using the information provided, you must accurately and precisely determine and '
    "extract the intended key answer from the output sentences. Please don't have your subjective thoughts about the "
    'question.\nFirst, you need to determine whether the content of the output sentences is relevant to the given '
    'question. If the entire output sentences are unrelated to the question (meaning the output sentences are not '
    'addressing the question), then output [No valid answer].\nOtherwise, ignore the parts of the output sentences '
    'that have no relevance to the question and then extract the key answer that matches the answer range.\nBelow '
    'are some special cases you need to be aware of: \n    (1) If the output sentences present multiple different '
    'answers, carefully determine if the later provided answer is a correction or modification of a previous one. If '
    'so, extract this corrected or modified answer as the final response. Conversely, if the output sentences '
    'fluctuate between multiple answers without a clear final answer, you should output [No valid answer].\n    (2) '
    'If the answer range is a list and the key answer in the output sentences is not explicitly listed among the '
    'candidate options in the answer range, also output [No valid answer].\n\n')
QUERY = 'Question: """{question}"""\n\nOutput sentences: """{output}"""\n\nAnswer range: {answer_range}\n\nKey extracted answer: '
TEMPLATE = '<|System|>:{system}\n<|User|>:{input}\n<|Bot|>:'
STOP = ['<|endoftext|>', '<|im_end|>', '\n']  # a label is one line
MAX_LABEL_TOKENS = 32
_OPTION_LINE = re.compile(r'(?m)^[ \t]*(?:Option[ \t]+)?\(?[A-Z][.:)][ \t]*\S.*$\n?')


def answer_range(options: Sequence[str]) -> str:
    """The ``alphabet_option`` answer range, written as in xFinder's training data (a Python list literal).

    >>> answer_range(['cat', 'dog'])
    "[['A', 'cat'], ['B', 'dog']]"
    """
    return repr([[letter, str(o)] for letter, o in zip(choice_letters(len(options)), options)])


def question_without_options(text_query: str) -> str:
    """The question of a row's text prompt without its option lines (xFinder takes the options as the range).

    >>> question_without_options('Which animal barks?\\n\\nOption A: cat\\nOption B: dog')
    'Which animal barks?'
    """
    return _OPTION_LINE.sub('', text_query or '').strip()


def question_of(question, text_query) -> str:
    """What xFinder is shown as the question of a row: its ``question`` column, else its ``text_query`` without
    option lines."""
    return str(question) if question else question_without_options(str(text_query or ''))


def xfinder_prompt(question: str, output: str, options: Sequence[str]) -> str:
    """The raw prompt xFinder-qwen1505 completes with the key answer of ``output`` (no chat template on top)."""
    query = QUERY.format(question=question, output=output, answer_range=answer_range(options))
    return TEMPLATE.format(system=SYSTEM, input=INSTRUCTION + query)


def _clean(text: str) -> str:
    return (text or '').strip().rstrip('.').strip().lower()


def read_label(label: str, options: Sequence[str]) -> Optional[str]:
    """The option letter an xFinder reply names (its letter, or its exact option text); ``None`` for
    ``[No valid answer]`` or anything else."""
    reply = _clean((label or '').strip().splitlines()[0] if (label or '').strip() else '')
    letters = choice_letters(len(options))
    for letter, option in zip(letters, options):
        if reply == letter.lower() or reply == _clean(str(option)):
            return letter
    return None
