"""End to end: a killed TARS run resumes with `--resume_from_checkpoint`, and refuses changed TARS_* settings.

Three `swift rlhf` runs of the tiny model (about 30 s each): 2 steps saving checkpoint-2; a resume to step 4 (the
steps, the data order, the pairing and the per-modality metrics continue); a resume with another TARS_REFERENCE,
stopped at start-up with a message naming it and no traceback.
"""
import json

import pytest
from conftest import run_swift
from test_e2e_tars import ALL, check_logging, check_rollouts

from swift_tars.testing.runs import read_completions, read_logging, tiny_rlhf_command

BASE = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--save_strategy', 'steps', '--save_steps', '2']
RUN_TIMEOUT = 300  # seconds per run


def test_resume_continues_and_refuses_changed_settings(tmp_path, tiny_omni, demo_dataset, tiny_embedder, demo_rows):
    out, env = tmp_path / 'run', {'TARS_EMBEDDING_MODEL': str(tiny_embedder)}

    def swift(name, steps, *extra, **more_env):
        cmd = tiny_rlhf_command(tiny_omni, demo_dataset, out, ALL, '--max_steps', str(steps), *BASE, *extra)
        run_swift(cmd, tmp_path / f'{name}.log', timeout=RUN_TIMEOUT, **env, **more_env)

    swift('first', 2)
    first_dir = next(out.glob('v0-*'))
    checkpoint = first_dir / 'checkpoint-2'
    assert (checkpoint / 'trainer_state.json').exists()
    first = read_completions(out)

    swift('resumed', 4, '--resume_from_checkpoint', str(checkpoint))
    records = read_logging(out)  # the newest run: the resumed one
    assert [r['global_step/max_steps'] for r in records] == ['3/4', '4/4']
    check_logging(records)  # per-modality metrics: tars/speech/reward, tars/text/TarsAccuracy, ...
    rows_by_id = {r['question_id']: r for r in demo_rows}
    resumed = read_completions(out)
    check_rollouts(resumed, rows_by_id, 4)  # speech/text pairs, rewards, per-modality advantages
    assert {r['step'] for r in resumed} == {'3', '4'}
    seen = {r['question_id'] for r in first}
    assert seen and not seen & {r['question_id'] for r in resumed}  # the data order continues, not restarts
    cards = [json.loads(p.read_text()) for p in sorted(out.glob('v*/tars_config.json'))]
    assert cards[0]['tars'] == cards[1]['tars'] and cards[0]['reward_funcs'] == cards[1]['reward_funcs']

    with pytest.raises(pytest.fail.Exception):
        swift('changed', 4, '--resume_from_checkpoint', str(checkpoint), TARS_REFERENCE='round_robin')
    log = (tmp_path / 'changed.log').read_text()
    assert 'swift-tars cannot train with these arguments:' in log
    assert "TARS_REFERENCE: 'mean' in the checkpoint's run, 'round_robin' now" in log
    assert 'TARS_ALLOW_CHANGED_CONFIG=1' in log and str(first_dir / 'tars_config.json') in log
    assert 'Traceback' not in log
    assert len(list(out.glob('v*/completions.jsonl'))) == 2  # nothing was generated
