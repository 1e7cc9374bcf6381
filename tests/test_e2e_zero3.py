"""End to end: 2 processes under DeepSpeed ZeRO-3 on CPU (gloo), the real `swift rlhf` with TARS rewards and CORD.

ZeRO-3 gathers each module's weights with a collective whenever it runs, so ranks that call the audio encoder a
different number of times hang (ms-swift's docs warn about this for multimodal models). `audio_counter.py` counts
audio-encoder calls per rank, step and phase; TARS groups keep them equal in generation, the old-policy pass, the
loss pass and the CORD teacher pass. Each run is killed after RUN_TIMEOUT seconds and collectives time out after
DDP_TIMEOUT, so a hang fails the test instead of stalling CI.
"""
import json
import math
import time
from pathlib import Path

import pytest
from conftest import run_swift
from test_e2e_tars import ALL, check_logging, free_port

from swift_tars.testing.runs import multi_process_env, read_completions, read_logging, tiny_rlhf_command

PLUGINS = Path(__file__).parent / 'plugins'
RUN_TIMEOUT = 420  # seconds per `swift rlhf` run (about 60 s on 2 shared CPU cores)
DDP_TIMEOUT = '120'  # seconds a collective may wait
PHASES = ('generation', 'old_policy', 'loss')


def zero3_run(tmp, model, dataset, embedder, *extra, rewards=ALL, env=None, name='run'):
    cmd = tiny_rlhf_command(model, dataset, tmp / name, rewards, '--max_steps', '2', '--deepspeed', 'zero3',
                            '--ddp_timeout', DDP_TIMEOUT, *extra,
                            plugins=[PLUGINS / 'cpu_deepspeed.py', PLUGINS / 'audio_counter.py'])
    run_swift(cmd, tmp / f'{name}.log', timeout=RUN_TIMEOUT, TARS_EMBEDDING_MODEL=str(embedder),
              AUDIO_COUNT_FILE=str(tmp / f'{name}.audio'), **multi_process_env(2, free_port(), deepspeed=True),
              **(env or {}))


def audio_counts(tmp, name='run'):
    ranks = [json.loads((tmp / f'{name}.audio.{rank}').read_text()) for rank in (0, 1)]
    for counts in ranks:  # both ranks trained under ZeRO-3 with partitioned audio-encoder weights
        assert counts.pop('setup') == {'processes': 2, 'world_size': 2, 'accelerate': 'DistributedType.DEEPSPEED',
                                       'zero_stage': 3, 'encoder_partitioned': True}
    return ranks


@pytest.mark.parametrize('cord', [False, True], ids=['tars', 'cord'])
def test_zero3_two_ranks_equal_audio_encoder_calls(tmp_path, tiny_omni, demo_dataset, tiny_embedder, cord):
    env = {'TARS_DISTILL_COEF': '0.1'} if cord else {}
    rewards = ALL + ['tars_agreement'] if cord else ALL
    zero3_run(tmp_path, tiny_omni, demo_dataset, tiny_embedder, '--num_generations', '4',
              '--per_device_train_batch_size', '2', '--gradient_accumulation_steps', '2', rewards=rewards, env=env)
    records = read_logging(tmp_path / 'run')
    check_logging(records)
    assert len(read_completions(tmp_path / 'run')) == 16  # 2 steps x 2 ranks x one group of 4
    if cord:
        assert all(math.isfinite(r['tars/distill/kl']) and r['tars/distill/kl'] > 0 for r in records)
    rank0, rank1 = audio_counts(tmp_path)
    assert sorted(rank0) == sorted(rank1) == ['0', '1']  # steps
    for step in ('0', '1'):
        assert rank0[step] == rank1[step], (step, rank0[step], rank1[step])
        phases = rank0[step]
        assert set(phases) == set(PHASES) | ({'teacher'} if cord else set())  # nothing outside the phases
        # per rank and step: one generation of the local group (2 speech + 2 text rollouts), 2 micro-batches of
        # 1 speech + 1 text rollout in the old-policy and the loss pass: audio in every forward
        assert phases['generation'] == {'passes': 1, 'calls': 1, 'audios': 2}
        assert phases['old_policy'] == {'passes': 1, 'calls': 2, 'audios': 2}
        assert phases['loss'] == {'passes': 2, 'calls': 2, 'audios': 2}
        if cord:  # one teacher forward per micro-batch, on the text question: no audio on any rank
            assert phases['teacher'] == {'passes': 2, 'calls': 0, 'audios': 0}


def test_zero3_refuses_a_micro_batch_without_speech(tmp_path, tiny_omni, demo_dataset, tiny_embedder):
    """One rollout per micro-batch: half the forwards would have no audio; stopped before anything is generated."""
    with pytest.raises(pytest.fail.Exception) as e:
        zero3_run(tmp_path, tiny_omni, demo_dataset, tiny_embedder, '--num_generations', '2',
                  '--per_device_train_batch_size', '1', '--gradient_accumulation_steps', '2')
    assert 'TarsSetupError' in str(e.value) and '--per_device_train_batch_size 1 must be even' in str(e.value)
    assert not list((tmp_path / 'run').glob('v*/completions.jsonl'))


def test_a_hang_fails_within_the_time_bound(tmp_path):
    """run_swift kills the whole process group (torchrun's workers too) after its timeout and fails the test."""
    pid_file = tmp_path / 'worker.pid'
    cmd = ['bash', '-c', f'sleep 300 & echo $! > {pid_file}; wait']  # a launcher whose worker never returns
    with pytest.raises(pytest.fail.Exception, match='did not finish within 3 s'):
        run_swift(cmd, tmp_path / 'hang.log', timeout=3)
    status = Path(f'/proc/{pid_file.read_text().strip()}/status')
    deadline = time.monotonic() + 10  # SIGKILL is delivered at once but a loaded machine may take a moment to reap
    while status.exists() and 'State:\tZ' not in status.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not status.exists() or 'State:\tZ' in status.read_text()  # the worker is gone (or a zombie)
