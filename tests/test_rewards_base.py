"""tars_accuracy and tars_format: exact values, gold columns, and errors that name the row."""
import pytest

from swift_tars.rewards.accuracy import TarsAccuracy, correctness, gold_letters
from swift_tars.rewards.format import TarsFormat, format_score

GOOD = '<think>dogs bark</think><answer>The answer is B.</answer>'


@pytest.mark.parametrize('text, expected', [
    (GOOD, 1.0),
    ('  ' + GOOD + '\n', 1.0),  # stripped first
    ('<think>a</think>\n<answer>So. The answer is D: fish</answer>', 1.0),
    ('<think>a</think><answer>The answer is B</answer>', 0.0),  # neither: the letter needs a following . : or ,
    ('<think>x<answer>B, I think', 0.5),
    ('<think>x</think><answer>The answer is B.</answer> trailing', 0.5),
    ('<answer>The answer is B.</answer>', 0.0),
    ('The answer is B.', 0.0),
    ('<think>x</think><answer>The answer is E.</answer>', 0.0),  # E is not an option letter (A-D)
    ('', 0.0),
])
def test_format_score(text, expected):
    assert format_score(text) == expected


def test_format_letters_follow_options_and_scores_from_env(monkeypatch):
    five = ['a', 'b', 'c', 'd', 'e']
    text = '<think>x</think><answer>The answer is E.</answer>'
    assert TarsFormat()([text, text], options=[five, None]) == [1.0, 0.0]
    monkeypatch.setenv('TARS_FORMAT_SCORES', '1,0.25,-1')
    assert TarsFormat()([GOOD, '<think>x<answer>B,', 'nothing']) == [1.0, 0.25, -1.0]


def test_accuracy_from_solution_and_answer_index():
    completions = [GOOD, GOOD, '<answer>The answer is dog.</answer>', 'I pick C']
    batch = {'solution': ['B', 'C', None, 'c'], 'answer_index': [1, 2, 1, 2],
             'options': [['cat', 'dog', 'cow', 'fish']] * 4}
    assert TarsAccuracy()(completions, **batch) == [1.0, 0.0, 1.0, 1.0]
    assert correctness(completions, batch) == [1.0, 0.0, 1.0, 1.0]
    assert TarsAccuracy()([GOOD, GOOD], answer_index=[1, 0]) == [1.0, 0.0]


def test_accuracy_missing_gold_column_names_column_and_row():
    with pytest.raises(KeyError) as e:
        TarsAccuracy()([GOOD], question_id=['q7'], text_query=['x'])
    assert "'solution'" in str(e.value) and "'answer_index'" in str(e.value) and "question_id='q7'" in str(e.value)


def test_accuracy_empty_or_bad_gold_names_the_row():
    with pytest.raises(KeyError, match=r"row 1 \(question_id='q2'\) has no gold answer"):
        gold_letters({'solution': ['A', ' '], 'question_id': ['q1', 'q2']}, 2)
    with pytest.raises(ValueError, match=r"row 0 \(question_id='q1'\) has an unusable gold answer 'E'"):
        gold_letters({'solution': ['E'], 'question_id': ['q1'], 'options': [['a', 'b', 'c', 'd']]}, 1)
