"""Tests for ``swift_tars.answers``: strict extraction of multiple-choice answers.

Every expected value is what a careful human grader would give; ``None`` means the
completion must earn no accuracy reward (no answer, an ambiguous or an invalid one).
"""
import doctest
import json
from pathlib import Path

import pytest

import swift_tars.answers as answers_module
from swift_tars.answers import choice_letters, extract_choice, normalize_gold

EMOTIONS = ['happy', 'sad', 'angry', 'neutral']
CITIES = ['Paris', 'London', 'Berlin', 'Rome']
LONG_THINK = (
    "<think>The clip is about six seconds long. The speaker's pitch falls at the end of each phrase "
    'and the speaking rate is slow. Option A (happy) would need a higher, rising pitch, so A is unlikely. '
    'Option B (sad) matches the low energy. Option C (angry) would be louder; I hear no shouting, '
    'so not C. Option D (neutral) is possible too, but there is a clear tremble in the voice. '
    'Comparing B and D once more: the tremble and the sighs point to sadness, so the answer is probably B.'
    '</think>'
)

# (text, options, expected) groups, one per required behaviour, then further realistic cases.
ANSWER_TAGS = [
    ('<think>Maybe A? No. The answer is C.</think><answer>The answer is B.</answer>', None, 'B'),
    ('<think>I am sure it is D.</think>\n<answer>B</answer>', None, 'B'),
    (LONG_THINK + '\n<answer>D</answer>', EMOTIONS, 'D'),
    ('<think>x</think><answer>The answer is A.</answer><answer>The answer is C.</answer>', None, 'C'),
    ('<think>Comparing the options.</think><answer>The answer is (D)', None, 'D'),  # truncated, unclosed
    ('<think>x</think><answer>The answer is **B** because the spea', None, 'B'),  # truncated mid-sentence
    # the reasoning is never a committed answer: an answer block without one gives None
    ('<think>Comparing, the answer is C.</think><answer>As explained above.</answer>', None, None),
    ('<think>The answer is C.</think><answer>See above.</answer>', None, None),
    ('<think>Thinking about A and B.</think><answer>\n  (B)\n</answer>', None, 'B'),
    ('<think>Comparing A and B.</think>\nThe answer is D.', None, 'D'),  # text after </think>, no tags
    ('<think>The tone suggests the answer is A, but I need to check the', None, None),  # cut inside think
    ('<think>Comparing the options.</think><answer>The answer is', None, None),
    ('<think>The answer is B.</think><answer>B or C</answer>', None, None),  # ambiguous block: no fallback
]

PHRASINGS = [
    ('The answer is B', None, 'B'),
    ('The answer is (C)', None, 'C'),
    ('The correct answer is: D', None, 'D'),
    ('Answer: (A)', None, 'A'),
    ('Answer: C', None, 'C'),
    ('答案是B', None, 'B'),
    ('答案：B', None, 'B'),
    ('选C', None, 'C'),
    ('正确答案是 D', None, 'D'),
    (r'\boxed{C}', None, 'C'),
    (r'$\boxed{\text{B}}$', None, 'B'),
    ('**D**', None, 'D'),
    ('**B.**', None, 'B'),
    ('**(C)**', None, 'C'),
    ('Option B', None, 'B'),
    ('(D)', None, 'D'),
    ('C', None, 'C'),
    ('A.', None, 'A'),
    ('B) Paris', CITIES, 'B'),
    ('C. Berlin', CITIES, 'C'),
]

LOWERCASE = [
    ('the answer is b', None, 'B'),
    ('answer: (a)', None, 'A'),
    (r'\boxed{a}', None, 'A'),
    ('the answer is a.', None, 'A'),
    ('<think>hmm</think><answer>the answer is a</answer>', None, 'A'),
    ('选a', None, 'A'),
    ('<answer>a</answer>', None, 'A'),
    ('the answer is a dog', None, None),
    ('I think a cat is meowing in the background.', None, None),
    ('The answer is a bit unclear from the recording.', None, None),
    ('<answer>a dog</answer>', None, None),
]

OPTION_TEXT = [
    ('The answer is Rome.', CITIES, 'D'),
    ('<think>It is in Italy.</think><answer>Rome</answer>', CITIES, 'D'),
    ('The answer is **london**', CITIES, 'B'),
    ('Answer: Paris, Texas', ['Paris', 'Paris, Texas', 'Rome', 'Lyon'], 'B'),
    ('Answer: Paris', ['Paris', 'Paris, Texas', 'Rome', 'Lyon'], 'A'),
    ('The answer is Paris, because of the Eiffel Tower.', ['Paris', 'Paris, Texas', 'Rome', 'Lyon'], 'A'),
    ('The answer is: A dog barking.', ['Rain', 'A dog barking', 'A car horn', 'Music'], 'B'),
    ('The answer is Rome', ['A. Paris', 'B. Rome', 'C. Oslo', 'D. Bern'], 'B'),
    ('答案是罗马。', ['巴黎', '伦敦', '柏林', '罗马'], 'D'),
    ('The answer is yes', ['no', 'yes'], 'B'),
    ('The answer is Madrid.', CITIES, None),
    ('The answer is no longer clear.', ['no', 'yes'], None),
    ('Paris', ['Paris', 'Paris', 'Rome', 'Oslo'], None),  # duplicate option texts match nothing
    ('The answer is Rome.', None, None),  # no options: text cannot be mapped
    ('The answer is Rome or Paris.', CITIES, None),
]

SELF_CORRECTION = [
    ('The answer is A. Wait, actually the answer is C.', None, 'C'),
    ('I first thought B, but the answer is D', None, 'D'),
    ("The answer is C. No wait, it's D.", None, 'D'),
    ('Answer: B\n\nHmm, on reflection the correct answer is A.', None, 'A'),
    ('<answer>The answer is A. Actually, the correct answer is (C).</answer>', None, 'C'),
    ('Is the answer B? Let me check again. The answer is D.', None, 'D'),
    ('The answer is E. Sorry, the answer is D.', None, 'D'),
]

NEGATION = [
    ('not A; it is C', None, 'C'),
    ('The answer is not B', None, None),
    ("It's C, not A", None, 'C'),
    ('The answer is not B but C.', None, 'C'),
    ('The answer is B, not D.', None, 'B'),
    ("I don't think it's A.", None, None),
    ('答案不是A，而是C', None, 'C'),
    ('The answer is C. Hmm, no, not C.', None, None),  # retracted, nothing else committed
    ('B is not correct; the answer is D.', None, 'D'),
    ('If the answer were A, the pitch would rise. The answer is B.', None, 'B'),
    ('If the answer is A, the pitch should rise. It does not, so the answer is B.', None, 'B'),
]

PROSE_A = [
    ('A cat sat on the mat.', None, None),
    ('A possible approach is to compare the pitch contours.', None, None),
    ('<think>x</think><answer>A man is speaking in a quiet room.</answer>', None, None),
    ('A dog barks twice, then a car passes.', EMOTIONS, None),
]

OUT_OF_RANGE = [
    ('The answer is E', None, None),
    ('The answer is C', ['yes', 'no'], None),
    ('<answer>F</answer>', EMOTIONS, None),
    ('The answer is E', ['a', 'b', 'c', 'd', 'e'], 'E'),
]

CONJUNCTIONS = [
    ('B and C', None, None),
    ('B or C', None, None),
    ('both A and D', None, None),
    ('The answer is A, B', None, None),
    ('The answer is B. **B**', None, 'B'),
    ('The answer is (B)/(C).', None, None),
    ('The answer is B or maybe C.', None, None),
    ('答案是B和C', None, None),
    (r'\boxed{A, C}', None, None),
    ('<answer>**B** and **C**</answer>', None, None),
    ('<think>It could be A or B.</think><answer>A or B</answer>', None, None),
    ('Options A and B are both wrong, so the answer is C.', None, 'C'),
    ('The answer is (A) and not (B).', None, 'A'),
]

EMPTY = [
    ('', None, None), ('   \n\t', None, None), (None, None, None), ('<think></think><answer></answer>', None, None),
]

REALISTIC = [
    (LONG_THINK + '\n<answer>The answer is B.</answer>', EMOTIONS, 'B'),
    (LONG_THINK + '\n<answer>\nOption B: sad\n</answer>', EMOTIONS, 'B'),
    (LONG_THINK + '<answer>B) sad</answer>', EMOTIONS, 'B'),
    (LONG_THINK + '<answer>(b) sad</answer>', EMOTIONS, 'B'),
    (LONG_THINK + '<answer>**Answer:** C</answer>', EMOTIONS, 'C'),
    (LONG_THINK + '<answer>sad</answer>', EMOTIONS, 'B'),
    (LONG_THINK + '<answer>See the reasoning above.</answer>', EMOTIONS, None),  # nothing committed
    ('<think>Option A says happy, option B says sad. The voice is flat, so not A. Option D fits best.'
     '</think>\n<answer>The answer is D.</answer>', EMOTIONS, 'D'),
    ('Let me analyse the audio.\n\n1. The pitch is low.\n2. The pace is slow.\n\n**Answer: B**', EMOTIONS, 'B'),
    ('### Analysis\n- Option A: happy, no\n- Option B: sad, yes\n\n**Final answer: (B)**', EMOTIONS, 'B'),
    ('**A**: happy\n**B**: sad\n**C**: angry\n\nThe answer is C.', EMOTIONS, 'C'),
    ('Based on the recording, the speaker sounds sad. Therefore, the answer is B.', EMOTIONS, 'B'),
    ("I'd go with C.", None, 'C'),
    ('I choose option B because the voice trembles.', None, 'B'),
    ('My final answer: d', None, 'D'),
    ('Final Answer: The final answer is $\\boxed{B}$. I hope it is correct.', None, 'B'),
    ('ANSWER: C', None, 'C'),
    ('Answer - B', None, 'B'),
    ('The best answer is B.', None, 'B'),
    ('The correct option is (D) neutral.', EMOTIONS, 'D'),
    ('The answer is (C) angry.', EMOTIONS, 'C'),
    (r'\boxed{\text{(B) sad}}', EMOTIONS, 'B'),
    ('根据音频，说话人很伤心，所以选B。', None, 'B'),
    ('<think>说话人语气低沉，可能是B或C。</think><answer>答案：B</answer>', None, 'B'),
    ('故选：C', None, 'C'),
    ('答案：选项B', None, 'B'),
    ("The answer is B.\n\n**Explanation:** The speaker's voice is low and slow.", None, 'B'),
    ('The answer is B. Options A, C and D do not match the audio.', None, 'B'),
    ("Answer: C.\nReason: the speaker says 'I am not happy'.", None, 'C'),
    ('Option C is correct.', None, 'C'),
    ('C is the correct answer.', None, 'C'),
    ('Neither A nor B is correct. C is correct.', None, 'C'),
    ('The answer is option B.', None, 'B'),
    ('The answer is choice (A).', None, 'A'),
    ('The answer is [C].', None, 'C'),
    ('The answer is "B".', None, 'B'),
    ('The answer is C, since the speaker is shouting.', None, 'C'),
    ('The answer is A because the pitch rises.', None, 'A'),
    ('It is A.', None, 'A'),
    ('It is a sad voice.', None, None),
    ('A. The speaker is happy.', EMOTIONS, 'A'),
    ('A\n\nThe speaker sounds happy because the pitch rises.', EMOTIONS, 'A'),
    ('The pitch rises at the end, which suggests a question.\n\nB', None, 'B'),
    ('B\nC', None, None),
    ('<think>The answer is A... wait, B.</think>\n\nC', None, 'C'),
    ('<think>A B C D</think><answer>The answer is: **C**</answer>', None, 'C'),
    ('<answer>Option D</answer>', None, 'D'),
    ('<answer>D. neutral</answer>', EMOTIONS, 'D'),
    ('<answer>B</answer>\nI hope this helps!', None, 'B'),
    ('<answer>the answer is c</answer>', None, 'C'),
    ('The answer is B-flat major.', None, None),
    ("e.g. the speaker could be angry, but I'm not certain.", None, None),
    ('Both A and C seem plausible.', None, None),
    ('I am not sure.', EMOTIONS, None),
    ("I'm not sure the answer is B.", None, None),  # hedged, never committed
    ('The speaker sounds sad, so B or D.', EMOTIONS, None),
    ('The answer to this question is B.', None, 'B'),
    ('The answer seems to be C, given the tone.', None, 'C'),
    ('So the final answer is **(B) sad**.', EMOTIONS, 'B'),
    ('Answer choice: B', None, 'B'),
    ('(A) is incorrect. (B) is correct.', None, 'B'),
    # the options merely restated are no answer
    ('A) happy B) sad C) angry D) neutral', EMOTIONS, None),
    ('A) happy\nB) sad\nC) angry\nD) neutral', EMOTIONS, None),
    ('<answer>A) happy B) sad</answer>', EMOTIONS, None),
    ('**A)** happy\n**B)** sad', EMOTIONS, None),
    ('- A) happy\n- B) sad', EMOTIONS, None),
    ('**A.** happy\n**B.** sad', EMOTIONS, None),
    ('**B.** The speaker sounds sad.', EMOTIONS, 'B'),
    ('B) sad (not angry)', EMOTIONS, 'B'),
    ('B) sad\nThe voice trembles.', EMOTIONS, 'B'),
]


# Hand-labelled completions (tests/data/extraction_cases.jsonl, one JSON object a line): ``completion``,
# ``n_options``, ``label`` (the letter a human grader reads, or null) and ``category``.  ``split``: "dev"
# cases were used while developing and must all pass; the "heldout" cases were written first, before any
# tuning, and measured once: agreement >= 96 % and never a wrong letter.
CASES = [json.loads(line) for line in
         (Path(__file__).parent / 'data' / 'extraction_cases.jsonl').read_text(encoding='utf-8').splitlines() if line]
DEV_CASES = [c for c in CASES if c['split'] == 'dev']
HELD_OUT_CASES = [c for c in CASES if c['split'] == 'heldout']


def _case_options(case):
    """Neutral option texts: the labels are about letters, never about option text."""
    return [f'option text {letter}' for letter in choice_letters(case['n_options'])]


def _check(text, options, expected):
    assert extract_choice(text, options) == expected, (text, options)


@pytest.mark.parametrize('text, options, expected', ANSWER_TAGS)
def test_answer_tags(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', PHRASINGS)
def test_phrasings(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', LOWERCASE)
def test_lowercase_letters_and_the_article_a(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', OPTION_TEXT)
def test_option_text(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', SELF_CORRECTION)
def test_self_correction_last_answer_wins(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', NEGATION)
def test_negation(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', PROSE_A)
def test_article_a_in_prose(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', OUT_OF_RANGE)
def test_out_of_range(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', CONJUNCTIONS)
def test_two_answers_are_ambiguous(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', EMPTY)
def test_empty(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('text, options, expected', REALISTIC)
def test_realistic_completions(text, options, expected):
    _check(text, options, expected)


@pytest.mark.parametrize('case', DEV_CASES, ids=lambda c: f"{c['category']}:{c['completion'][:40]}")
def test_labelled_development_cases(case):
    assert extract_choice(case['completion'], _case_options(case)) == case['label'], case


def test_labelled_held_out_cases_agree_and_never_give_a_wrong_letter():
    results = [(c, extract_choice(c['completion'], _case_options(c))) for c in HELD_OUT_CASES]
    wrong = [(c['completion'], got) for c, got in results if got is not None and got != c['label']]
    agreed = sum(got == c['label'] for c, got in results)
    assert len(HELD_OUT_CASES) >= 80 and len(CASES) >= 200
    assert not wrong, wrong
    misses = [(c['completion'], c['label'], got) for c, got in results if got != c['label']]
    assert agreed >= 0.96 * len(results), misses


@pytest.mark.parametrize('text, letter', [
    ('<think>The answer is C.</think><answer></answer>', 'C'),
    ('<think>Not A. So it must be B.</think>\n<answer>\n</answer>', 'B'),
    ('<think>所以选D。</think><answer> </answer>', 'D'),
    (LONG_THINK + '<answer></answer>', 'B'),
    ('<think>It could be A or B.</think><answer></answer>', None),
    ('<think>The answer is C.</think><answer>As explained above.</answer>', None),
])
def test_empty_answer_block_is_read_from_the_reasoning_unless_asked_not_to(text, letter):
    assert extract_choice(text, EMOTIONS) == letter  # eval: what a human grader reads
    assert extract_choice(text, EMOTIONS, read_reasoning_when_answer_empty=False) is None  # the training rewards


def test_reading_the_reasoning_is_keyword_only_and_changes_nothing_else():
    for case in DEV_CASES:
        if case['category'] != 'empty_answer':
            options = _case_options(case)
            assert extract_choice(case['completion'], options, read_reasoning_when_answer_empty=False) == case['label']
    with pytest.raises(TypeError):
        extract_choice('B', None, False)


@pytest.mark.parametrize('text', [b'B', 3, ['B']])
def test_non_str_raises_type_error(text):
    with pytest.raises(TypeError):
        extract_choice(text)


def test_options_are_not_modified_and_results_are_deterministic():
    options = ['Paris', 'London', 'Berlin', 'Rome']
    results = {extract_choice('The answer is Rome.', options) for _ in range(3)}
    assert results == {'D'} and options == ['Paris', 'London', 'Berlin', 'Rome']


@pytest.mark.parametrize('n, expected', [(0, ''), (2, 'AB'), (4, 'ABCD'), (26, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ')])
def test_choice_letters(n, expected):
    assert choice_letters(n) == expected


@pytest.mark.parametrize('n', [-1, 27, True, '4', 4.0])
def test_choice_letters_rejects_bad_counts(n):
    with pytest.raises(ValueError, match='number of options'):
        choice_letters(n)


@pytest.mark.parametrize('gold, options, expected', [
    ('b', None, 'B'), ('B', None, 'B'), (' B ', None, 'B'), ('(B)', None, 'B'), ('B.', None, 'B'),
    (0, None, 'A'), (3, EMOTIONS, 'D'), ('C', ['x', 'y', 'z'], 'C'), ('Z', None, 'Z'),
])
def test_normalize_gold(gold, options, expected):
    assert normalize_gold(gold, options) == expected


def test_normalize_gold_accepts_integer_like_indices():
    class Index:  # e.g. numpy.int64 from a dataset column
        def __index__(self):
            return 2

    assert normalize_gold(Index(), EMOTIONS) == 'C'


@pytest.mark.parametrize('gold, options, message', [
    ('E', EMOTIONS, 'out of range'),
    ('C', ['yes', 'no'], 'out of range'),
    (-1, None, 'out of range'),
    (4, EMOTIONS, 'out of range'),
    ('AB', None, 'not a single option letter'),
    ('', None, 'not a single option letter'),
    ('Paris', CITIES, 'not a single option letter'),
    (True, None, 'option letter or a 0-based index'),
    (1.0, None, 'option letter or a 0-based index'),
    (None, None, 'option letter or a 0-based index'),
])
def test_normalize_gold_errors(gold, options, message):
    with pytest.raises(ValueError, match=message):
        normalize_gold(gold, options)


def test_doctests():
    result = doctest.testmod(answers_module)
    assert result.attempted > 0 and result.failed == 0
