"""Speech/text pairing: views, group checks, reference selection by question id."""
import math

import pytest
import torch

from swift_tars.grpo.pairing import PairingError, pair_rows, question_runs, reference_cosines, text_view
from swift_tars.prompts import SYSTEM_THINK


def row(qid='q1', audio=('/a/q1.wav', ), text='Which animal barks?\n\nOption A: cat\nOption B: dog'):
    return {'messages': [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': '<audio>'}],
            'audios': list(audio), 'text_query': text, 'question_id': qid, 'solution': 'B'}


def test_pair_rows_alternates_and_rewrites_text_rows():
    rows = [row('q1')] * 4 + [row('q2', audio=('/a/q2.wav', ))] * 4
    out = pair_rows(rows, 4)
    assert [r['tars_modality'] for r in out] == ['speech', 'text'] * 4
    speech, text = out[0], out[1]
    assert speech['messages'][1]['content'] == '<audio>' and speech['audios'] == ['/a/q1.wav']
    assert text['messages'][1]['content'] == rows[0]['text_query'] and text['audios'] == []
    assert text['messages'][0]['content'] == SYSTEM_THINK
    assert rows[0]['messages'][1]['content'] == '<audio>' and 'tars_modality' not in rows[0]  # inputs untouched
    assert out[4]['audios'] == ['/a/q2.wav']


@pytest.mark.parametrize('rows, group, message', [
    ([row('q1')] * 3, 3, 'even group'),
    ([row('q1')] * 6, 4, 'not a multiple of num_generations=4'),
    ([row('q1')] * 2 + [row('q2')] * 2, 4, 'mix question ids'),
    ([dict(row(), question_id=None)] * 2, 2, "has no 'question_id'"),
    ([row(text='  ')] * 2, 2, "has no 'text_query'"),
    ([row(audio=())] * 2, 2, 'has 0 audios'),
    ([dict(row(), teacher_prompt='x')] * 2, 2, 'teacher_prompt'),
])
def test_pair_rows_errors(rows, group, message):
    with pytest.raises(PairingError, match=message):
        pair_rows(rows, group)


def test_text_view_replaces_last_user_turn_only():
    r = row()
    r['messages'].insert(1, {'role': 'user', 'content': 'earlier turn'})
    assert [m['content'] for m in text_view(r)['messages']][1:] == ['earlier turn', r['text_query']]


def test_question_runs_checks_alternation():
    assert question_runs(['a', 'a', 'a', 'a', 'b', 'b'], ['speech', 'text'] * 3) == [[0, 1, 2, 3], [4, 5]]
    with pytest.raises(PairingError, match='expected alternating'):
        question_runs(['a', 'a'], ['text', 'speech'])
    with pytest.raises(PairingError, match='expected alternating'):
        question_runs(['a', 'a', 'a'], ['speech', 'text', 'speech'])


def test_reference_cosines_mean_and_round_robin():
    # one question, 4 speech (even) + 4 text (odd); texts 1 and 3 correct, 5 and 7 wrong
    v = torch.tensor([[1., 0.], [1., 0.], [0., 1.], [0., 1.], [1., 1.], [5., 5.], [-1., 0.], [0., -3.]]).unsqueeze(1)
    ids, mods = ['q'] * 8, ['speech', 'text'] * 4
    correct = [0, 1, 0, 1, 0, 0, 0, 0]
    mean = reference_cosines(v, ids, mods, correct, 'mean')
    # mean target = (1,0)+(0,1) / 2 -> direction (1,1)
    r = 1 / math.sqrt(2)
    assert mean[[0, 2, 4, 6]].tolist() == pytest.approx([r, r, 1.0, -r])
    assert mean[[1, 3, 5, 7]].isnan().all()
    rr = reference_cosines(v, ids, mods, correct, 'round_robin')
    # speech k -> correct text k mod 2: text1=(1,0), text3=(0,1), text1, text3
    assert rr[[0, 2, 4, 6]].tolist() == pytest.approx([1.0, 1.0, r, 0.0])


def test_reference_cosines_averages_layers_and_pairs_by_question():
    v = torch.tensor([[[1., 0.], [0., 1.]], [[1., 0.], [1., 0.]],  # q1: speech, text(correct)
                      [[1., 0.], [1., 0.]], [[0., 1.], [0., 1.]]])  # q2: speech, text(wrong)
    out = reference_cosines(v, ['q1', 'q1', 'q2', 'q2'], ['speech', 'text'] * 2, [0, 1, 0, 0])
    assert out[0].item() == pytest.approx(0.5)  # layer cosines 1 and 0
    assert out[1:].isnan().all()  # text row; q2 has no correct text: no signal


def test_reference_cosines_skips_unusable_rows():
    v = torch.tensor([[1., 0.], [0., 1.], [1., 0.], [1., 0.]]).unsqueeze(1)
    out = reference_cosines(v, ['q'] * 4, ['speech', 'text'] * 2, [0, 1, 0, 1], 'mean', usable=[1, 0, 0, 1])
    assert out[0].item() == pytest.approx(1.0)  # only text 3 (1,0) is a usable reference
    assert out[2].isnan()


def test_text_rows_keep_their_speech_prompt_for_upstream_scoring():
    from swift.rl_core.data import GRPOSample

    from swift_tars.grpo.pairing import restore_speech_prompt
    out = pair_rows([row('q1')] * 2, 2)
    assert 'tars_speech_prompt' not in out[0]
    sample = GRPOSample.from_row(out[1])
    sample.messages.append({'role': 'assistant', 'content': 'The answer is B.'})
    assert sample.audios == [] and sample.messages[1]['content'].startswith('Which animal')
    restore_speech_prompt(sample)
    assert sample.audios == ['/a/q1.wav']
    assert [m['content'] for m in sample.messages[1:]] == ['<audio>', 'The answer is B.']
    assert sample.extra['tars_modality'] == 'text'  # still a text rollout: no alignment reward, text advantages
    with pytest.raises(PairingError, match='no saved speech prompt'):
        restore_speech_prompt(GRPOSample.from_row(out[0]))


def test_speech_layout_makes_every_rollout_speech():
    """TARS_GROUP_LAYOUT=speech (the speech-only GRPO baseline): the same groups, no text rollouts."""
    rows = [row('q1')] * 4 + [row('q2', audio=('/a/q2.wav', ))] * 4
    out = pair_rows(rows, 4, layout='speech')
    assert [r['tars_modality'] for r in out] == ['speech'] * 8
    assert all(r['audios'] == list(src['audios']) for r, src in zip(out, rows))
    assert [r['tars_modality'] for r in pair_rows(rows, 4)] == ['speech', 'text'] * 4


def test_a_question_id_shared_by_two_questions_stops_pairing_naming_both_rows():
    """Two groups of one rank with the same id but different questions would have mixed references silently."""
    other = row('q1', audio=('/a/other.wav', ), text='Which animal meows?\n\nOption A: cat\nOption B: dog')
    with pytest.raises(PairingError) as e:
        pair_rows([row('q1')] * 2 + [other] * 2, 2)
    message = str(e.value)
    assert "rollout row 0 (question_id='q1') and rollout row 2 (question_id='q1')" in message
    assert 'text_query, audios' in message and 'own id' in message
    assert len(pair_rows([row('q1')] * 4, 2)) == 4  # the same question twice (e.g. two epochs) is fine
