"""Resume checks: a checkpoint's run card against the settings of the run resuming it."""
import dataclasses
import json

import pytest

from swift_tars.config import TarsConfig
from swift_tars.grpo.resume import TarsResumeRefused, changed_settings, check_resume

REWARDS = ['TarsAccuracy', 'TarsFormat']


def write_card(run_dir, tars=TarsConfig(), rewards=REWARDS, generations=8):
    (run_dir / 'checkpoint-2').mkdir(parents=True)
    card = {'tars': dataclasses.asdict(tars), 'reward_funcs': rewards, 'num_generations': generations}
    (run_dir / 'tars_config.json').write_text(json.dumps(card))
    return str(run_dir / 'checkpoint-2')


def test_changed_settings_names_each_variable_and_flag():
    old = {'tars': dataclasses.asdict(TarsConfig()), 'reward_funcs': REWARDS, 'num_generations': 8}
    new = {'tars': dataclasses.asdict(TarsConfig(layers='deep', format_scores=(1.0, 0.5, 0.0), audio_cache='/x')),
           'reward_funcs': REWARDS[:1], 'num_generations': 8}
    assert changed_settings(json.loads(json.dumps(old)), new) == [
        "TARS_LAYERS: 'all' in the checkpoint's run, 'deep' now",  # tuples and JSON lists compare equal
        "--reward_funcs: ['TarsAccuracy', 'TarsFormat'] in the checkpoint's run, ['TarsAccuracy'] now"]
    assert changed_settings({'tars': {}}, new) == []  # a card of an older release: nothing to compare


def test_resume_refuses_changed_settings_without_a_traceback(tmp_path):
    checkpoint = write_card(tmp_path / 'v0')
    check_resume(checkpoint, TarsConfig(), REWARDS, 8)  # same settings
    check_resume(None, TarsConfig(reference='round_robin'), REWARDS, 8)  # not resuming
    with pytest.raises(TarsResumeRefused) as e:
        check_resume(checkpoint, TarsConfig(reference='round_robin', distill_coef=0.1), REWARDS, 4)
    assert isinstance(e.value, SystemExit)  # the run stops with the message and exit status 1
    assert e.value.problems == ["TARS_REFERENCE: 'mean' in the checkpoint's run, 'round_robin' now",
                                "TARS_DISTILL_COEF: 0.0 in the checkpoint's run, 0.1 now",
                                "--num_generations: 8 in the checkpoint's run, 4 now"]
    assert str(e.value).startswith('swift-tars cannot train with these arguments:\n  - TARS_REFERENCE')
    assert 'TARS_ALLOW_CHANGED_CONFIG=1' in str(e.value) and str(tmp_path / 'v0' / 'tars_config.json') in str(e.value)


def test_override_and_missing_card_only_warn(tmp_path, caplog):
    checkpoint = write_card(tmp_path / 'v0')
    allowed = TarsConfig.from_env({'TARS_ALLOW_CHANGED_CONFIG': '1', 'TARS_REFERENCE': 'round_robin'})
    check_resume(checkpoint, allowed, REWARDS, 8)
    (tmp_path / 'elsewhere' / 'checkpoint-9').mkdir(parents=True)
    check_resume(str(tmp_path / 'elsewhere' / 'checkpoint-9'), TarsConfig(reference='round_robin'), REWARDS, 8)
    assert 'TARS_REFERENCE' in caplog.text and 'no tars_config.json' in caplog.text
