"""The ``[vllm]`` extra resolves, together with swift-tars and ``requirements/lock.txt``, to our tested set.

An unpinned ``pip install vllm`` swaps torch (vLLM pins torch exactly: 0.33/0.34 need torch 2.14.0). These tests
ask pip's own resolver, in dry-run mode (``--use-feature=fast-deps`` reads wheel metadata through range requests
where the index serves no separate metadata file, so no multi-hundred-MB wheel is downloaded), and fail if the
extra would change torch or transformers. They need PyPI and skip, with the reason, only when it is unreachable.
"""
import configparser
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / 'requirements' / 'lock.txt'
PIP = [sys.executable, '-m', 'pip', 'install', '--dry-run', '--ignore-installed', '--use-feature=fast-deps',
       '--quiet']


@pytest.fixture(scope='module')
def pypi():
    try:
        urllib.request.urlopen('https://pypi.org/simple/vllm/', timeout=10)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f'PyPI unreachable ({type(e).__name__}: {e}); cannot resolve the [vllm] extra')


def lock_pins():
    pins = {}
    for line in LOCK.read_text().splitlines():
        if '==' in line and not line.startswith('#'):
            name, version = line.split('==')
            pins[name.strip().lower()] = version.strip()
    return pins


def vllm_extra():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / 'setup.cfg')
    return [r.strip() for r in cfg['options.extras_require']['vllm'].splitlines() if r.strip() and
            not r.strip().startswith('#')]


def resolve(tmp_path, *requirements, timeout):
    report = tmp_path / 'report.json'
    proc = subprocess.run(PIP + ['--report', str(report), *requirements], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    installs = json.loads(report.read_text())['install']
    return {i['metadata']['name'].lower().replace('_', '-'): i['metadata'] for i in installs}


def test_extra_restates_what_vllm_requires(pypi, tmp_path):
    """vllm==0.32.0's own metadata: torch, torchvision, torchaudio and transformers agree with the extra."""
    pinned = [r for r in vllm_extra() if r.startswith('vllm==')]
    assert pinned == ['vllm==0.32.0']
    meta = resolve(tmp_path, '--no-deps', pinned[0], timeout=120)['vllm']
    needs = {d.split(';')[0].replace(' ', '') for d in meta['requires_dist']}
    for line in ('torch==2.13.0', 'torchvision==0.28.0', 'torchaudio==2.11.0', 'transformers<5.20.0,>=5.16.1'):
        assert line in needs, sorted(needs)
    assert {'torch==2.13.0', 'torchvision==0.28.0', 'torchaudio==2.11.0'} <= set(vllm_extra())


def test_vllm_extra_keeps_torch_and_transformers(pypi, tmp_path):
    """``.[vllm]`` against the lock: the resolver keeps torch 2.13.0, the lock's transformers and torchvision."""
    resolved = resolve(tmp_path, '.[vllm]', '-c', str(LOCK), timeout=480)
    lock = lock_pins()
    assert resolved['vllm']['version'] == '0.32.0'
    assert resolved['torch']['version'].split('+')[0] == '2.13.0'
    for name in ('transformers', 'torchvision', 'ms-swift', 'trl', 'peft', 'deepspeed'):
        assert resolved[name]['version'] == lock[name], (name, resolved[name]['version'], lock[name])
