"""Per-modality advantages against hand-computed values."""
import pytest
import torch

from swift_tars.grpo.advantages import per_modality_advantages

TAGS = ['speech', 'text'] * 4


def test_mean_centring_per_modality():
    # group 1 speech rewards 1,3 (mean 2), text 4,4 (mean 4); group 2 speech 0,0, text 2,0 (mean 1)
    rewards = torch.tensor([1., 4., 3., 4., 0., 2., 0., 0.])
    adv = per_modality_advantages(rewards, TAGS, group_size=4, scale='none')
    assert adv.tolist() == [-1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0, -1.0]


def test_group_scaling_uses_unbiased_std_per_modality():
    rewards = torch.tensor([1., 4., 3., 4., 0., 2., 0., 0.])
    adv = per_modality_advantages(rewards, TAGS, group_size=4, scale='group')
    s = 2**0.5  # unbiased std of {1, 3} and of {2, 0}
    expected = [-1 / (s + 1e-4), 0.0, 1 / (s + 1e-4), 0.0, 0.0, 1 / (s + 1e-4), 0.0, -1 / (s + 1e-4)]
    assert adv.tolist() == pytest.approx(expected)


def test_joint_centring_would_differ():
    rewards = torch.tensor([0., 2., 0., 2.])
    assert per_modality_advantages(rewards, TAGS[:4], 4).tolist() == [0.0, 0.0, 0.0, 0.0]
    assert (rewards - rewards.mean()).tolist() == [-1.0, 1.0, -1.0, 1.0]  # what plain GRPO would give


@pytest.mark.parametrize('kwargs, message', [
    (dict(scale='batch'), 'not defined per modality'),
    (dict(group_size=3), 'group size'),
])
def test_errors(kwargs, message):
    args = dict(rewards=torch.zeros(8), modalities=TAGS, group_size=4, scale='none')
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        per_modality_advantages(**args)
