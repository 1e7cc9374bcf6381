"""tars_representation on hand-built pooled states: exact values and the NaN/empty-pool policies."""
import math

import pytest
import torch

from swift_tars.rewards.representation import TarsRepresentation, representation_rewards

MODS = ['speech', 'text'] * 2
NAN = float('nan')


def pooled(*rows):
    return torch.tensor(rows, dtype=torch.float32)  # [N, L, H]


def test_two_layers_mean_reference():
    p = pooled([[1, 0], [0, 1]], [[1, 0], [1, 0]], [[0, 1], [0, 1]], [[1, 0], [0, 1]])
    r, stats = representation_rewards(p, ['q'] * 4, MODS, [0, 1, 0, 1])
    # reference per layer: mean of texts -> layer0 (1,0), layer1 (0.5,0.5)
    assert r[0].item() == pytest.approx((1 + 1 / math.sqrt(2)) / 2)
    assert r[2].item() == pytest.approx((0 + 1 / math.sqrt(2)) / 2)
    assert r[1].isnan() and r[3].isnan()
    assert stats == {'groups': 1, 'groups_without_correct_text': 0, 'empty_pool': 0}


def test_no_correct_text_gives_nan_for_the_whole_group():
    p = pooled([[1, 0]], [[1, 0]], [[0, 1]], [[0, 1]])
    r, stats = representation_rewards(p, ['q'] * 4, MODS, [1, 0, 1, 0])  # only speech rows are correct
    assert r.isnan().all()
    assert stats['groups_without_correct_text'] == 1


def test_single_correct_text_is_the_reference_for_every_speech_row():
    p = pooled([[3, 4]], [[3, 4]], [[4, -3]], [[0, 1]])
    for mode in ('mean', 'round_robin'):
        r, _ = representation_rewards(p, ['q'] * 4, MODS, [0, 1, 0, 0], reference=mode)
        assert r[[0, 2]].tolist() == pytest.approx([1.0, 0.0])


@pytest.mark.parametrize('policy, expected', [('neutral', 0.6), ('penalty', 0.0)])
def test_empty_pool_policy(policy, expected):
    # speech rows 0, 2, 4; row 2 had no completion token (NaN pool); texts 1 correct
    p = pooled([[0.6, 0.8]], [[1, 0]], [[NAN, NAN]], [[0, 1]], [[0.6, 0.8]], [[1, 1]])
    r, stats = representation_rewards(p, ['q'] * 6, ['speech', 'text'] * 3, [0, 1, 0, 0, 0, 0], empty_pool=policy)
    assert r[0].item() == pytest.approx(0.6) and r[4].item() == pytest.approx(0.6)
    assert r[2].item() == pytest.approx(expected)
    assert stats['empty_pool'] == 1


def test_empty_text_pool_is_not_a_reference():
    p = pooled([[1, 0]], [[NAN, NAN]], [[0, 1]], [[0, 1]])
    r, stats = representation_rewards(p, ['q'] * 4, MODS, [0, 1, 0, 1])
    assert r[0].item() == pytest.approx(0.0) and r[2].item() == pytest.approx(1.0)


def test_two_questions_pair_by_id_not_position():
    p = pooled([[1, 0]], [[0, 1]], [[1, 0]], [[1, 0]])
    r, _ = representation_rewards(p, ['a', 'a', 'b', 'b'], MODS, [0, 1, 0, 1])
    assert r[0].item() == pytest.approx(0.0) and r[2].item() == pytest.approx(1.0)


def test_placeholder_needs_the_trainer():
    assert TarsRepresentation()(['x', 'y'], tars_modality=['speech', 'text'], question_id=['q', 'q']) == [None, None]
    with pytest.raises(RuntimeError, match='swift-tars trainer'):
        TarsRepresentation()(['x'])
