"""Shared fixtures: the offline environment, the spoken demo dataset, the tiny models.

Everything heavy is built once per test session in a temporary directory (never in the repository).
``swift rlhf`` runs go through :func:`run_swift` so a failure shows the tail of its log.
"""
import json
import os
import signal
import subprocess
import tempfile
from pathlib import Path
from typing import List

import pytest

from swift_tars.testing.runs import OFFLINE_ENV, offline_env

os.environ.update(OFFLINE_ENV)  # also for in-process imports of transformers / swift
# A fresh `datasets` cache per test session: `datasets` keys a local folder's cache on its name and relative file
# layout, so a builder folder of an earlier session (same name, other wavs) would otherwise be read back stale.
os.environ['HF_DATASETS_CACHE'] = tempfile.mkdtemp(prefix='tars-test-hf-datasets-')


@pytest.fixture(autouse=True)
def restore_environment():
    """Commands called in-process (check-args quiets ms-swift through ``LOG_LEVEL``) must not leak variables into
    the ``swift`` subprocesses of later tests."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope='session')
def demo_dataset(tmp_path_factory) -> Path:
    """The 16 spoken demo questions in the row format (espeak-ng, 16 kHz)."""
    from swift_tars.commands.demo import build_demo_dataset

    return build_demo_dataset(tmp_path_factory.mktemp('demo-data'))


@pytest.fixture(scope='session')
def demo_rows(demo_dataset) -> List[dict]:
    return [json.loads(line) for line in demo_dataset.read_text().splitlines()]


@pytest.fixture(scope='session')
def tiny_omni(tmp_path_factory, demo_rows) -> Path:
    """Tiny Qwen2.5-Omni warm-started on the demo rows (text right, speech guessing)."""
    from swift_tars.testing.models import build_tiny_omni
    from swift_tars.testing.warm_start import gap_warm_start

    return build_tiny_omni(tmp_path_factory.mktemp('tiny-omni'), warm_start=gap_warm_start(demo_rows))


@pytest.fixture(scope='session')
def tiny_embedder(tmp_path_factory) -> Path:
    from swift_tars.testing.models import build_tiny_embedder

    return build_tiny_embedder(tmp_path_factory.mktemp('tiny-embedder'))


@pytest.fixture(scope='session')
def tiny_lora(tiny_omni, tmp_path_factory) -> Path:
    """A seeded random LoRA adapter on the tiny model: a stand-in "trained checkpoint" for eval and probe."""
    from swift_tars.testing.models import build_random_lora

    return build_random_lora(tiny_omni, tmp_path_factory.mktemp('tiny-lora') / 'adapter')


def run_swift(cmd: List[str], log_path: Path, timeout: int = 900, **env: str) -> None:
    """Runs a ``swift`` command offline; on failure, fails the test with the tail of its log.

    After ``timeout`` seconds the whole process group (torchrun and its workers too) is killed and the test fails:
    a hung collective fails instead of stalling CI.
    """
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(cmd, env=offline_env(**env), stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            tail = '\n'.join(log_path.read_text().splitlines()[-60:])
            pytest.fail(f'`swift {cmd[1]}` did not finish within {timeout} s (a hang?), killed; log tail:\n{tail}')
    text = log_path.read_text()
    if proc.returncode != 0 and not _finished_then_aborted_at_exit(text, int(env.get('NPROC_PER_NODE', '1'))):
        tail = '\n'.join(text.splitlines()[-60:])
        pytest.fail(f'`swift {cmd[1]}` exited with {proc.returncode}; log tail:\n{tail}')


def _finished_then_aborted_at_exit(log: str, ranks: int) -> bool:
    """A known CPU/gloo flake: training finished on every rank (outputs written), then one aborted during interpreter
    teardown ("terminate called without an active exception"). Seen under heavy CPU load even with the process
    group destroyed at exit; the test's own checks of the outputs still run. Warns instead of failing."""
    flake = (ranks > 1 and 'End time of running main' in log  # logged by rank 0 once training ended on all ranks
             and 'terminate called without an active exception' in log)
    if flake:
        import warnings
        warnings.warn('a rank aborted at interpreter exit after training finished (CPU gloo teardown)')
    return flake
