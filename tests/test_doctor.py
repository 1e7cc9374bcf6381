"""``swift-tars doctor`` on the CPU venv, and the memory-plan arithmetic checked against hand-computed numbers."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from swift_tars.commands import memory_plan as mp

ROOT = Path(__file__).resolve().parent.parent
RECIPE = ROOT / 'examples' / 'train_qwen2_5_omni_8xa100_zero3.sh'
GIB = 1024 ** 3


def doctor(*args, **env):
    base = {k: v for k, v in os.environ.items() if not k.startswith('TARS_') and k not in ('HF_TOKEN',)}
    base['PATH'] = f'{Path(sys.executable).parent}{os.pathsep}{base.get("PATH", "")}'
    return subprocess.run([sys.executable, '-m', 'swift_tars.cli', 'doctor', '--offline', *args], cwd=ROOT,
                          env={**base, **env}, capture_output=True, text=True, timeout=240)


def test_clean_report_on_cpu():
    p = doctor('--data_dir', str(ROOT), '--output_dir', str(ROOT))
    assert p.returncode == 0, p.stdout + p.stderr
    assert 'no GPU: training recipes need CUDA GPUs; the offline demo and tests run on CPU' in p.stdout
    assert '0 problem(s)' in p.stdout and '[FAIL]' not in p.stdout


def test_bad_tars_values_are_each_reported_with_a_fix_and_a_token_is_never_printed():
    token = 'hf_doctorSecretValue123'
    p = doctor(TARS_REFERENCE='nearest', TARS_EMPTY_POOL='zero', TARS_LAYRES='all', HF_TOKEN=token)
    assert p.returncode == 1, p.stdout
    for name in ('TARS_REFERENCE', 'TARS_EMPTY_POOL', 'TARS_LAYRES'):
        assert f'[FAIL] {name}' in p.stdout, p.stdout
    assert 'fix: unset TARS_REFERENCE' in p.stdout and 'did you mean TARS_LAYERS' in p.stdout
    assert 'HF_TOKEN set' in p.stdout
    assert token not in p.stdout + p.stderr


def test_recipe_on_cpu_fails_with_the_reason():
    p = doctor('--recipe', str(RECIPE))
    assert p.returncode == 1, p.stdout
    assert 'no GPU: training recipes need CUDA GPUs' in p.stdout and 'needs 8 CUDA GPU(s)' in p.stdout
    assert 'peak ≈' in p.stdout  # the plan is printed anyway (assumed 80 GiB GPUs)


# ---- memory plan arithmetic -----------------------------------------------------------------------------------

def test_parameter_counts():
    s = mp.QWEN25_OMNI_7B
    assert s.total == 8_931_813_888
    # per layer r·(9h + 2·kv + 3·I) = 8 · (32,256 + 1,024 + 56,832) = 720,896; × 28 layers
    assert s.lora_params(8) == 20_185_088
    assert s.layer_params == 2 * 3584 ** 2 + 2 * 3584 * 512 + 3 * 3584 * 18944 == 233_046_016
    assert mp.kv_bytes_per_token(s) == 57_344


def test_lora_zero3_plan_by_hand():
    launch = mp.Launch(world_size=8, per_device_batch=4, max_length=8192, max_completion_length=1024,
                       zero_stage=3, use_vllm=True, vllm_util=0.5, sleep_level=1, behavior=True)
    p = mp.plan(launch, gpu_gib=80)
    t = p.training
    assert t['weights (frozen, bf16)'] == pytest.approx(2 * 8_931_813_888 / 8 / GIB)      # 2.080 GiB
    assert t['optimizer (fp32 master + Adam)'] == pytest.approx(12 * 20_185_088 / 8 / GIB)  # 0.0282
    seq = 3100 + 1024                                                                        # S = 4,124
    assert t['activations'] == pytest.approx((28 * 2 + 34) * 4 * seq * 3584 / GIB)            # 4.956 GiB
    assert t['completion logits'] == pytest.approx(4 * 1024 * 152064 * 6 / GIB)              # 3.481 GiB
    assert t['embedder (fp32)'] == pytest.approx(4 * 595_776_512 / GIB)                       # 2.220 GiB
    assert t['vLLM (asleep)'] == 1.0 and p.generation['vLLM share'] == 40.0
    assert 'gradients (bf16)' not in p.generation
    assert p.peak == pytest.approx(sum(p.generation.values())) and p.fits


def test_full_ft_zero2_and_no_vllm_by_hand():
    launch = mp.Launch(world_size=4, per_device_batch=2, steps_per_generation=2, max_length=2048,
                       max_completion_length=512, tuner='full', zero_stage=2, gradient_checkpointing=False)
    p = mp.plan(launch, gpu_gib=80)
    t = p.training
    assert t['weights (trainable, bf16)'] == pytest.approx(2 * 7_615_616_512 / GIB)          # not partitioned
    assert t['gradients (bf16)'] == pytest.approx(2 * 7_615_616_512 / 4 / GIB)
    assert t['optimizer (fp32 master + Adam)'] == pytest.approx(12 * 7_615_616_512 / 4 / GIB)  # 21.28 GiB
    assert t['activations'] == pytest.approx(28 * 34 * 2 * 2048 * 3584 / GIB)                 # S = max_length
    assert p.generation['HF generate KV cache'] == pytest.approx(4 * 2048 * 57_344 / GIB)
    # 1.5 context + 2.45 towers + 14.19 + 3.55 + 21.28 + 13.02 + 0.87 logits = 56.85 GiB ≤ 0.95 · 80
    assert p.peak == pytest.approx(sum(t.values())) == pytest.approx(56.85, abs=0.01) and p.fits
    assert not mp.plan(launch, gpu_gib=48).fits


def test_vllm_share_too_small_is_reported():
    p = mp.plan(mp.Launch(use_vllm=True, vllm_util=0.2, max_length=8192), gpu_gib=80)  # 16 GiB < 16.6 of weights
    assert not p.fits and any(n.startswith('vLLM share') for n in p.notes)


def test_flags_and_recipe_record():
    f = mp.flag_values(['--a', '1', '--reward_funcs', 'x', 'y', '--top_k', '-1', '--b=2', '--flag'])
    assert f == {'a': ['1'], 'reward_funcs': ['x', 'y'], 'top_k': ['-1'], 'b': ['2'], 'flag': []}
    launch = mp.launch_from_record(['--deepspeed', 'zero3', '--use_vllm', 'true', '--per_device_train_batch_size',
                                    '4', '--reward_funcs', 'tars_behavior'], {'NPROC_PER_NODE': '8', 'NNODES': '2'})
    assert (launch.world_size, launch.zero_stage, launch.use_vllm, launch.behavior) == (16, 3, True, True)
    plans = mp.recipe_plans(str(RECIPE), 80.0, env={**os.environ, 'PATH': f'{Path(sys.executable).parent}'
                                                    f'{os.pathsep}{os.environ["PATH"]}'})
    assert plans and all(p.peak > 0 for p in plans)
