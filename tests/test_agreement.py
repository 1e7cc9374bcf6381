"""tars_agreement: majority of text answers, NaN policy, and the OpenAI-compatible judge on a local stub."""

import pytest

from swift_tars.rewards.agreement import TarsAgreement, majority_letter, parse_verdict
from swift_tars.testing.endpoints import json_endpoint

ANS = '<think>t</think><answer>The answer is {}.</answer>'


def call(reward, letters, qids=None):
    completions = [ANS.format(x) if x else 'no idea' for x in letters]
    n = len(letters)
    return reward(completions, tars_modality=['speech', 'text'] * (n // 2), question_id=qids or ['q'] * n)


def test_majority_letter():
    assert majority_letter(['B', 'B', 'A', None]) == 'B'
    assert majority_letter(['A', 'B']) is None  # tie: no reference
    assert majority_letter([None, None]) is None
    assert majority_letter(['C']) == 'C'


def test_extract_judge_values():
    # q1: text answers B, B -> reference B; speech B, A. q2: text answers A, C tie -> no signal
    out = call(TarsAgreement(), ['B', 'B', 'A', 'B', 'A', 'A', 'A', 'C'], ['q1'] * 4 + ['q2'] * 4)
    assert out == [1.0, None, 0.0, None, None, None, None, None]


def test_speech_without_answer_scores_zero():
    assert call(TarsAgreement(), [None, 'D']) == [0.0, None]


def test_needs_the_trainer():
    with pytest.raises(RuntimeError, match='swift-tars trainer'):
        TarsAgreement()(['x'], question_id=['q'])


def test_parse_verdict():
    assert parse_verdict('Yes.') and parse_verdict(' yes, same') and not parse_verdict('No') \
        and not parse_verdict('') and not parse_verdict('maybe yes')


def _verdict(body):
    """Yes when the candidate answer says B (the reference of the test)."""
    prompt = body['messages'][0]['content']
    verdict = 'Yes' if 'The answer is B' in prompt.split('Candidate answer:')[1] else 'No'
    return {'choices': [{'message': {'role': 'assistant', 'content': verdict}}]}


def test_openai_compatible_judge(monkeypatch):
    with json_endpoint(_verdict) as (url, requests):
        monkeypatch.setenv('TARS_AGREEMENT_JUDGE', url)
        monkeypatch.setenv('TARS_AGREEMENT_JUDGE_MODEL', 'judge-7b')
        out = call(TarsAgreement(), ['B', 'B', 'A', 'B'])
    assert out == [1.0, None, 0.0, None]
    assert len(requests) == 2  # one per speech rollout with a reference; none for text rows
    path, body = requests[0]
    assert path == '/v1/chat/completions' and body['model'] == 'judge-7b' and body['temperature'] == 0
    assert 'Reference answer: option B' in body['messages'][0]['content']


def test_unreachable_judge_is_a_clear_error(monkeypatch):
    monkeypatch.setenv('TARS_AGREEMENT_JUDGE', 'http://127.0.0.1:9/v1')
    with pytest.raises(RuntimeError, match='judge at http://127.0.0.1:9/v1/chat/completions failed'):
        call(TarsAgreement(), ['B', 'B'])


def test_missing_local_judge_folder_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv('TARS_AGREEMENT_JUDGE', str(tmp_path / 'no-such-judge'))
    with pytest.raises(FileNotFoundError, match='no-such-judge: no such model folder'):
        call(TarsAgreement(), ['B', 'B'])


def test_local_model_judge(monkeypatch, tmp_path):
    """A tiny model taught yes/no on these judge prompts gives its verdicts through ms-swift's engine.

    Teacher-forced on the four prompts below (400 steps: the yes/no margin is ~7 nats; 250 steps leave it
    undecided), so the expected rewards follow the letters, not a constant verdict.
    """
    from swift.template import TEMPLATE_MAPPING

    from swift_tars.rewards.agreement import judge_prompt
    from swift_tars.testing.models import build_tiny_omni
    from swift_tars.testing.warm_start import WarmStart

    # two questions; their text rollouts answer B (q1) and D (q2); speech rollouts answer B, C (q1) and D, A (q2)
    speech, reference = {'q1': ['B', 'C'], 'q2': ['D', 'A']}, {'q1': 'B', 'q2': 'D'}
    letters, qids = [], []
    for q in speech:
        for s in speech[q]:
            letters += [s, reference[q]]
            qids += [q, q]
    system = TEMPLATE_MAPPING['qwen2_5_omni'].default_system  # what the engine puts before a user-only request
    teach = [WarmStart(judge_prompt(ANS.format(s), reference[q], None), None, 'yes' if s == reference[q] else 'no',
                       system) for q in speech for s in speech[q]]
    judge_dir = build_tiny_omni(tmp_path / 'judge', num_layers=2, warm_start=teach, warm_start_steps=400)

    monkeypatch.setenv('TARS_AGREEMENT_JUDGE', str(judge_dir))
    reward = TarsAgreement()
    out = reward([ANS.format(x) for x in letters], tars_modality=['speech', 'text'] * 4, question_id=qids)
    assert type(reward.judge).__name__ == 'VerdictJudge'
    assert out == [1.0, None, 0.0, None, 1.0, None, 0.0, None]
