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
    with pytest.raises(ValueError, match=r"row 0 \(question_id='q1'\): gold answer 'E' is not among the options "
                                         r"A, B, C, D"):
        gold_letters({'solution': ['E'], 'question_id': ['q1'], 'options': [['a', 'b', 'c', 'd']]}, 1)


def test_gold_is_read_like_the_evaluation_reads_it():
    """One reading of the gold columns (data.mcq.row_gold_letter): a blank solution falls back to answer_index."""
    from swift_tars.evaluation.eval_sets import gold_letter

    batch = {'solution': ['', None, '(c)'], 'answer_index': [1, 3, 0], 'question_id': ['q1', 'q2', 'q3']}
    assert gold_letters(batch, 3) == ['B', 'D', 'C']
    assert [gold_letter({k: v[i] for k, v in batch.items()}) for i in range(3)] == ['B', 'D', 'C']


def test_empty_answer_block_earns_no_accuracy_but_eval_reads_it():
    """The reward does not pay for an empty <answer> (the format is broken); eval scores the committed letter."""
    from swift_tars.answers import extract_choice
    from swift_tars.rewards.accuracy import correctness

    text = '<think>Dogs bark, so the answer is B.</think><answer></answer>'
    options = ['cat', 'dog', 'cow', 'fish']
    assert extract_choice(text, options) == 'B'
    assert correctness([text], {'solution': ['B'], 'options': [options]}) == [0.0]
