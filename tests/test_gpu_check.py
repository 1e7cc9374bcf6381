"""``benchmarks/gpu_check.sh`` stays ready for a GPU: its ``--dry-run`` (same stages, toy shape, CPU) runs end to end
here and writes a summary whose numbers are checked; the 7B shape it builds on a GPU matches the parameter counts
of the memory plans; the answer-writing plugin is checked by hand."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / 'benchmarks' / 'gpu_check.sh'
sys.path.insert(0, str(ROOT / 'benchmarks' / 'plugins'))
from gpu_check_plugin import write_answer  # noqa: E402  (benchmark plugin, not a package)


def run_script(*args, timeout=600, **env):
    return subprocess.run(['bash', str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, 'PYTHON': sys.executable, 'OMP_NUM_THREADS': '1', **env})


@pytest.fixture(scope='module')
def dry_run(tmp_path_factory):
    out = tmp_path_factory.mktemp('gpu-check')
    proc = run_script('--dry-run', '--out', str(out))  # ~90 s of CPU time; its stage limits sum to 510 s
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return out, json.loads((out / 'summary.json').read_text())


def finite_positive(values):
    return bool(values) and all(isinstance(v, float) and math.isfinite(v) and v > 0 for v in values)


def test_dry_run_runs_every_stage(dry_run):
    out, summary = dry_run
    assert summary['mode'] == 'dry-run'
    assert summary['stages'] == {'prepare': 'ok', 'grpo': 'ok', 'e2e': 'ok', 'eval': 'ok'}
    assert 'TARS / plain step time' in (out / 'summary.md').read_text()


def test_grpo_arms_ran_same_steps_and_settings(dry_run):
    grpo = dry_run[1]['grpo']
    plan = dry_run[1]['plan']
    assert set(grpo['arms']) == {'plain', 'tars'}
    for arm in grpo['arms'].values():
        assert arm['rc'] == 0 and arm['steps'] == plan['grpo_steps'] == 3
        assert finite_positive(arm['step_time']) and finite_positive([arm['median_step_time']])
        # the flags appended after the CPU defaults (32 tokens, rank 4) won: ms-swift's own args.json
        assert arm['effective_args'] == {'torch_dtype': 'float32', 'bf16': False, 'max_completion_length': 24,
                                         'lora_rank': 2, 'max_steps': 3, 'seed': 42, 'num_generations': 4}
        assert [m['rank'] for m in arm['memory_per_rank']] == [0] and arm['memory_per_rank'][0]['peak_rss_gib'] > 0
        assert arm['swift_memory_gib'] is None  # ms-swift logs memory(GiB) only on an accelerator
    ratio = grpo['step_time_ratio']
    assert math.isfinite(ratio) and 0.2 < ratio < 5
    assert ratio == pytest.approx(grpo['arms']['tars']['median_step_time'] / grpo['arms']['plain']['median_step_time'])
    assert grpo['meaningful'] is False and grpo['within_target'] == (ratio <= 1.03)


def test_tars_arm_did_the_alignment_work_and_plain_did_not(dry_run):
    tars, plain = dry_run[1]['grpo']['arms']['tars'], dry_run[1]['grpo']['arms']['plain']
    # the written-in answer made text rollouts correct, so every step compared speech with text
    assert all(-1 <= c <= 1 for c in tars['representation_cosine'])
    assert all(a > 0 for a in tars['reward_means']['rewards/TarsAccuracy/mean'])
    for key in ('rewards/TarsRepresentation/mean', 'rewards/TarsBehavior/mean'):
        assert all(math.isfinite(v) for v in tars['reward_means'][key]), key
    assert 'tars/representation_cosine' not in plain['logged_keys']
    assert not any('Representation' in k or 'Behavior' in k for k in plain['logged_keys'])
    assert set(plain['reward_means']) == {'rewards/TarsAccuracy/mean', 'rewards/TarsFormat/mean'}


def test_e2e_and_eval_numbers(dry_run):
    e2e, ev = dry_run[1]['e2e'], dry_run[1]['eval']
    assert e2e['passed'] and e2e['checks'] == {'steps': True, 'finite_metrics': True}
    assert len(e2e['step_time']) == 2 and e2e['device'] == 'cpu'
    assert ev['rc'] == 0 and ev['items'] == 8  # --limit 4, speech and text
    assert finite_positive([ev['items_per_s']]) and ev['items_per_s'] == pytest.approx(8 / ev['eval_seconds'])


def test_without_a_gpu_the_script_refuses_and_says_so(tmp_path):
    if torch.cuda.is_available():
        pytest.skip('a GPU is visible')
    proc = run_script('--out', str(tmp_path), timeout=120)
    assert proc.returncode == 2 and 'use --dry-run' in proc.stderr
    assert run_script('--bogus', timeout=60).returncode == 2


def test_7b_shape_has_the_memory_plan_parameter_counts():
    from swift_tars.commands.memory_plan import QWEN25_OMNI_7B as PLANNED
    from swift_tars.testing.omni_shape import QWEN25_OMNI_7B, thinker_parameter_counts

    counts = thinker_parameter_counts(QWEN25_OMNI_7B)  # meta device: no memory
    assert counts['llm'] == PLANNED.llm_params == 7_615_616_512
    assert counts['audio'] + counts['vision'] == PLANNED.tower_params == 639_647_232 + 676_550_144


def test_embedder_shape_has_the_memory_plan_parameter_count():
    from transformers import Qwen3Config, Qwen3Model

    from swift_tars.commands.memory_plan import EMBEDDER_PARAMS
    from swift_tars.testing.omni_shape import EMBEDDER_SHAPES

    with torch.device('meta'):
        model = Qwen3Model(Qwen3Config(**EMBEDDER_SHAPES['qwen3-embedding-0.6b']))
    assert sum(p.numel() for p in model.parameters()) == EMBEDDER_PARAMS == 595_776_512


def test_write_answer_puts_the_ids_before_the_end():
    eos, answer = 9, [7, 8]
    sequences = torch.tensor([[1, 1, 3, 4, 5, 6],    # no eos: the last two tokens
                              [1, 1, 3, 4, 9, 0],    # eos at completion position 2: the two before it
                              [1, 1, 3, 9, 0, 0]])   # only one token before eos: the answer's tail
    out = write_answer(sequences, 2, answer, eos)
    assert out.tolist() == [[1, 1, 3, 4, 7, 8], [1, 1, 7, 8, 9, 0], [1, 1, 8, 9, 0, 0]]
    assert sequences[0].tolist() == [1, 1, 3, 4, 5, 6]  # input untouched
