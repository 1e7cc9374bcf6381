"""Does it learn? The real ``swift rlhf`` with one dense TARS term as the only reward must raise that term, and
the same run with the reward's weight negated must lower it.

The measured quantity is ``tars/representation_cosine``: the mean raw cosine (speech rollout vs its question's
correct text rollouts) that the trainer logs *before* writing it into the reward column. A sign error or a
mis-gathered row anywhere between the hidden-state hooks, the reward column, the per-modality advantages and the
loss turns "raise" into "lower" (or into noise) and fails one of the two runs. Seeded; CPU; about a minute each.
"""
import statistics
from pathlib import Path

import pytest
from conftest import run_swift
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from swift_tars.testing.runs import read_logging, tiny_rlhf_command

STEPS = 12
LAST = 4  # the end of a run: the mean of its last LAST steps, against step 1 (the untrained policy's cosine)
# Measured on the demo model, change = mean(last 4 steps) - step 1, two seeds each (--seed 42 and 1):
#   weight +1: +0.235, +0.275      weight -1: -0.270, -0.065
# The margin is half of the smallest move. With the sign of the reward column flipped inside the trainer, the
# weight +1 run followed the weight -1 run step for step (-0.270) and this test failed.
MARGIN = 0.03
ARGS = ['--num_generations', '8', '--per_device_train_batch_size', '32', '--learning_rate', '2e-3',
        '--lora_rank', '8', '--warmup_ratio', '0', '--max_steps', str(STEPS), '--report_to', 'tensorboard']
# What ms-swift's own tensorboard logging must carry (suffixes of its ``train/...`` tags): the per-modality metrics.
TENSORBOARD_TAGS = ('tars/representation_cosine', 'tars/speech/reward', 'tars/text/reward',
                    'tars/speech/TarsRepresentation')


def cosine_change(records, key='tars/representation_cosine'):
    """Mean of the last ``LAST`` steps minus step 1; every step must carry the cosine (no collapse)."""
    values = [r.get(key) for r in records]
    assert len(values) == STEPS and all(v is not None for v in values), values
    return statistics.fmean(values[-LAST:]) - values[0]


@pytest.mark.parametrize('weight', [1.0, -1.0], ids=['raise', 'lower'])
def test_representation_reward_moves_the_cosine_its_sign_says(weight, tmp_path, tiny_omni, demo_dataset):
    out = tmp_path / 'run'
    cmd = tiny_rlhf_command(tiny_omni, demo_dataset, out, ['tars_representation'], *ARGS,
                            '--reward_weights', str(weight))
    run_swift(cmd, tmp_path / 'rlhf.log', timeout=600)
    change = cosine_change(read_logging(out))
    print(f'[learning] weight {weight:+.0f}: representation cosine changed by {change:+.4f} over {STEPS} steps')
    assert change * weight > MARGIN, f'weight {weight:+} moved the cosine by {change:+.4f}'
    missing = [t for t in TENSORBOARD_TAGS if not tensorboard_steps(out, t)]
    assert not missing, f'not in the tensorboard events of --report_to tensorboard: {missing}'
    assert len(tensorboard_steps(out, 'tars/representation_cosine')) == STEPS


def tensorboard_steps(output_dir: Path, suffix: str) -> list:
    """The steps at which the run's tensorboard events hold a scalar whose tag ends with ``suffix``."""
    steps = []
    for events in sorted(output_dir.glob('**/events.out.tfevents.*')):
        accumulator = EventAccumulator(str(events))
        accumulator.Reload()
        for tag in accumulator.Tags()['scalars']:
            if tag.endswith(suffix):
                steps += [e.step for e in accumulator.Scalars(tag)]
    return steps
