"""The stages of ``benchmarks/gpu_check.sh`` (run that script; each stage here is one time-bounded process).

prepare  the 16 spoken demo questions (espeak-ng), a copy whose gold letter is A everywhere (see the plugin), a
         random-weight Qwen2.5-Omni of the 7B thinker's shape (bf16, built on the GPU; ``--dry-run``: a toy shape
         in float32 on CPU), the warm-started tiny Qwen2.5-Omni and the tiny embedder
grpo     one real ``swift rlhf --rlhf_type grpo`` per arm on the shaped model, same seed and geometry:
         ``tars`` (all four TARS rewards) and ``plain`` (``tars_accuracy tars_format``, no hidden-state capture);
         per-step ``step_time`` from ``logging.jsonl``, ratio of the medians of the steps after the first, peak
         memory per rank (``benchmarks/plugins/gpu_check_plugin.py``) and ms-swift's ``memory(GiB)``
e2e      the tiny end-to-end run of ``tests/test_e2e_tars.py`` (all rewards, 2 steps) on the check's device,
         with its logging checks
eval     ``swift-tars eval`` (transformers backend, greedy, both modes) of the tiny model on the demo set: items/s
report   ``summary.json`` and ``summary.md`` in ``--out`` from what the stages wrote (and their exit codes)
"""
import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from swift_tars.testing.runs import OFFLINE_ENV, offline_env, read_logging, tiny_rlhf_command

PLUGIN = Path(__file__).resolve().parent / 'plugins' / 'gpu_check_plugin.py'
TARS_REWARDS = ['tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior']
PLAIN_REWARDS = ['tars_accuracy', 'tars_format']
TARGET_RATIO = 1.03
E2E_KEYS = ('loss', 'reward', 'rewards/TarsAccuracy/mean', 'rewards/TarsFormat/mean', 'tars/speech/reward',
            'tars/text/reward', 'tars/speech/TarsAccuracy', 'tars/text/TarsAccuracy')

# shape / embedder: keys of SHAPES / EMBEDDER_SHAPES in swift_tars/testing/omni_shape.py
GPU_PLAN = dict(mode='gpu', shape='7b', embedder='qwen3-embedding-0.6b', dtype='bfloat16', device='cuda',
                grpo_steps=4, completion_length=256, lora_rank=8, warm_start_steps=150, e2e_steps=2, eval_limit=None,
                eval_max_new_tokens=256)
# completion_length and lora_rank differ from the CPU defaults of tiny_rlhf_command, so a dry run shows that the
# flags appended after those defaults win (ms-swift's args.json), as the GPU run needs for bf16.
DRY_PLAN = dict(mode='dry-run', shape='dry-run', embedder='dry-run', dtype='float32', device='cpu', grpo_steps=3,
                completion_length=24, lora_rank=2, warm_start_steps=0, e2e_steps=2, eval_limit=4,
                eval_max_new_tokens=32)
# Same geometry in both modes: 2 groups of 4 rollouts (2 speech + 2 text) per step, 2 micro-batches of 4.
GEOMETRY = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--gradient_accumulation_steps', '2']


def subprocess_env(plan: dict, **extra: str) -> dict:
    """Offline environment; the GPU is visible only in GPU mode (``CUDA_VISIBLE_DEVICES`` kept, or 0)."""
    if plan['device'] == 'cuda':
        extra.setdefault('CUDA_VISIBLE_DEVICES', os.environ.get('CUDA_VISIBLE_DEVICES') or '0')
    return offline_env(**extra)


def run_logged(cmd, log: Path, env: dict) -> dict:
    """Runs ``cmd`` with its output in ``log``; returns the exit code and wall seconds."""
    t0 = time.time()
    with open(log, 'w') as f:
        rc = subprocess.run(cmd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc:
        print(f'[gpu-check] exit {rc}: {" ".join(map(str, cmd[:3]))} ...; log tail of {log}:', flush=True)
        print('\n'.join(log.read_text().splitlines()[-30:]), flush=True)
    return {'rc': rc, 'seconds': round(time.time() - t0, 1)}


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, indent=2, default=str) + '\n')
    print(json.dumps(data, indent=2, default=str), flush=True)


# -- prepare ---------------------------------------------------------------------------------------------------
def stage_prepare(out: Path, plan: dict) -> None:
    from transformers import AutoTokenizer

    from swift_tars.commands.demo import build_demo_dataset
    from swift_tars.testing.models import build_tiny_embedder, build_tiny_omni
    from swift_tars.testing.omni_shape import EMBEDDER_SHAPES, SHAPES, build_shaped_embedder, build_shaped_omni
    from swift_tars.testing.warm_start import gap_warm_start

    timings = {}
    t0 = time.time()
    dataset = build_demo_dataset(out / 'data')
    rows = [json.loads(line) for line in dataset.read_text().splitlines()]
    forced = out / 'data' / 'gold_a.jsonl'
    forced.write_text(''.join(json.dumps({**r, 'solution': 'A'}) + '\n' for r in rows))
    timings['data'] = time.time() - t0
    t0 = time.time()
    shaped = build_shaped_omni(out / 'models' / 'shaped', SHAPES[plan['shape']], dtype=plan['dtype'],
                               device=plan['device'])
    shaped_embedder = build_shaped_embedder(out / 'models' / 'shaped-embedder', EMBEDDER_SHAPES[plan['embedder']],
                                            device=plan['device'])
    timings['shaped_models'] = time.time() - t0
    t0 = time.time()
    warm = gap_warm_start(rows) if plan['warm_start_steps'] else None
    tiny = build_tiny_omni(out / 'models' / 'tiny', warm_start=warm, warm_start_steps=plan['warm_start_steps'])
    embedder = build_tiny_embedder(out / 'models' / 'embedder')
    timings['tiny_models'] = time.time() - t0
    answer = AutoTokenizer.from_pretrained(shaped).encode(' The answer is A.', add_special_tokens=False)
    size = sum(f.stat().st_size for f in shaped.glob('*.safetensors'))
    write_json(out / 'prepare.json', {
        'plan': plan, 'dataset': str(dataset), 'gold_a_dataset': str(forced), 'shaped_model': str(shaped),
        'shaped_model_gib': round(size / 2**30, 2), 'tiny_model': str(tiny), 'embedder': str(embedder),
        'shaped_embedder': str(shaped_embedder), 'answer_ids': answer,
        'seconds': {k: round(v, 1) for k, v in timings.items()}})


# -- grpo: TARS vs plain --------------------------------------------------------------------------------------
def read_memory(prefix: Path) -> list:
    """The plugin's per-rank peak-memory records, rank order."""
    return [json.loads(p.read_text()) for p in sorted(prefix.parent.glob(prefix.name + '.*'))]


def effective_args(run_dir: Path) -> dict:
    """What ms-swift actually ran with (``args.json``), for the settings this check overrides."""
    found = sorted(run_dir.glob('v*/args.json'), key=lambda p: p.stat().st_mtime)
    args = json.loads(found[-1].read_text()) if found else {}
    keys = ('torch_dtype', 'bf16', 'max_completion_length', 'lora_rank', 'max_steps', 'seed', 'num_generations')
    return {k: args.get(k) for k in keys}


def grpo_arm(out: Path, prep: dict, name: str, rewards, env: dict) -> dict:
    plan = prep['plan']
    run_dir = out / f'grpo-{name}'
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    cmd = tiny_rlhf_command(prep['shaped_model'], prep['gold_a_dataset'], run_dir, rewards, '--max_steps',
                            str(plan['grpo_steps']), *GEOMETRY, '--max_completion_length',
                            str(plan['completion_length']), '--torch_dtype', plan['dtype'], '--bf16',
                            str(plan['dtype'] == 'bfloat16').lower(), '--lora_rank', str(plan['lora_rank']),
                            '--lora_alpha', str(4 * plan['lora_rank']), '--attn_impl', 'sdpa', plugins=[PLUGIN])
    env = subprocess_env(plan, GPU_CHECK_MEMORY_FILE=str(run_dir / 'memory'),
                         GPU_CHECK_ANSWER_IDS=','.join(map(str, prep['answer_ids'])), **env)
    result = run_logged(cmd, out / f'grpo-{name}.log', env)
    records = read_logging(run_dir) if not result['rc'] else []
    times = [r['step_time'] for r in records]
    keys = sorted({k for r in records for k in r})
    return {**result, 'steps': len(records), 'step_time': times,
            'median_step_time': statistics.median(times[1:]) if len(times) > 1 else None,
            'memory_per_rank': read_memory(run_dir / 'memory'),
            'swift_memory_gib': max((r['memory(GiB)'] for r in records if 'memory(GiB)' in r), default=None),
            'representation_cosine': [r.get('tars/representation_cosine') for r in records],
            'reward_means': {k: [r[k] for r in records] for k in keys if k.startswith('rewards/') and
                             k.endswith('/mean')},
            'logged_keys': keys, 'effective_args': effective_args(run_dir)}


def stage_grpo(out: Path, plan: dict) -> None:
    prep = json.loads((out / 'prepare.json').read_text())
    embedder = {'TARS_EMBEDDING_MODEL': prep['shaped_embedder']}
    arms = {'plain': grpo_arm(out, prep, 'plain', PLAIN_REWARDS, {'TARS_LOG_REPRESENTATION': '0', **embedder}),
            'tars': grpo_arm(out, prep, 'tars', TARS_REWARDS, embedder)}
    plain, tars = arms['plain']['median_step_time'], arms['tars']['median_step_time']
    ratio = tars / plain if plain and tars else None
    write_json(out / 'grpo.json', {
        'model': prep['shaped_model'], 'shape': plan['shape'], 'embedder': plan['embedder'], 'dtype': plan['dtype'],
        'device': plan['device'],
        'geometry': ' '.join(GEOMETRY), 'completion_length': plan['completion_length'],
        'arms': arms, 'step_time_ratio': ratio, 'target_ratio': TARGET_RATIO,
        'within_target': None if ratio is None else ratio <= TARGET_RATIO,
        'meaningful': plan['mode'] == 'gpu'})


# -- tiny end-to-end run and eval throughput ------------------------------------------------------------------
def e2e_checks(records: list, steps: int, expect_alignment: bool) -> dict:
    checks = {'steps': len(records) == steps,
              'finite_metrics': bool(records) and all(math.isfinite(r.get(k, math.nan))
                                                      for r in records for k in E2E_KEYS)}
    if expect_alignment:  # needs a correct text rollout: only the warm-started model gives one
        for key in ('rewards/TarsRepresentation/mean', 'rewards/TarsBehavior/mean'):
            checks[key] = any(math.isfinite(r.get(key, math.nan)) for r in records)
    return checks


def stage_e2e(out: Path, plan: dict) -> None:
    prep = json.loads((out / 'prepare.json').read_text())
    run_dir = out / 'e2e'
    shutil.rmtree(run_dir, ignore_errors=True)
    cmd = tiny_rlhf_command(prep['tiny_model'], prep['dataset'], run_dir, TARS_REWARDS, '--max_steps',
                            str(plan['e2e_steps']), *GEOMETRY, plugins=[PLUGIN])
    env = subprocess_env(plan, TARS_EMBEDDING_MODEL=prep['embedder'], GPU_CHECK_MEMORY_FILE=str(out / 'e2e-memory'))
    result = run_logged(cmd, out / 'e2e.log', env)
    records = read_logging(run_dir) if not result['rc'] else []
    checks = e2e_checks(records, plan['e2e_steps'], expect_alignment=bool(plan['warm_start_steps']))
    write_json(out / 'e2e.json', {**result, 'device': plan['device'], 'checks': checks,
                                  'passed': not result['rc'] and all(checks.values()),
                                  'step_time': [r['step_time'] for r in records],
                                  'memory_per_rank': read_memory(out / 'e2e-memory')})


def swift_tars_executable() -> str:
    candidate = Path(sys.executable).parent / 'swift-tars'
    return str(candidate) if candidate.exists() else (shutil.which('swift-tars') or 'swift-tars')


def stage_eval(out: Path, plan: dict) -> None:
    prep = json.loads((out / 'prepare.json').read_text())
    eval_dir = out / 'eval'
    shutil.rmtree(eval_dir, ignore_errors=True)
    cmd = [swift_tars_executable(), 'eval', '--model', prep['tiny_model'], '--eval_sets', f'demo={prep["dataset"]}',
           '--output_dir', str(eval_dir), '--no_progress', '--max_new_tokens', str(plan['eval_max_new_tokens'])]
    if plan['eval_limit']:
        cmd += ['--limit', str(plan['eval_limit'])]
    result = run_logged(cmd, out / 'eval.log', subprocess_env(plan))
    summary = json.loads((eval_dir / 'summary.json').read_text()) if not result['rc'] else {}
    counts = summary.get('counts', {})
    items, seconds = counts.get('generated', 0), counts.get('seconds') or 0
    demo = summary.get('sets', {}).get('demo', {})
    write_json(out / 'eval.json', {
        **result, 'items': items, 'eval_seconds': seconds, 'items_per_s': items / seconds if seconds else None,
        'wall_items_per_s': items / result['seconds'] if result['seconds'] else None,
        'accuracy': {m: demo.get(m, {}).get('accuracy') for m in ('speech', 'text')},
        'note': 'eval_seconds is what swift-tars eval reports: engine load + generation'})


# -- report ---------------------------------------------------------------------------------------------------
def stage_status(out: Path, stage: str) -> str:
    path = out / 'status' / stage
    if not path.exists():
        return 'not run'
    rc = int(path.read_text().strip() or 1)
    return {0: 'ok', 124: 'timed out', 137: 'timed out (killed)'}.get(rc, f'failed (exit {rc})')


def load(out: Path, name: str) -> dict:
    path = out / f'{name}.json'
    return json.loads(path.read_text()) if path.exists() else {}


def stage_report(out: Path, plan: dict) -> None:
    from gpu_check_report import markdown  # next to this file (the script's directory is on sys.path)

    summary = {'mode': plan['mode'], 'plan': plan,
               'stages': {s: stage_status(out, s) for s in ('prepare', 'grpo', 'e2e', 'eval')},
               **{name: load(out, name) for name in ('prepare', 'grpo', 'e2e', 'eval')}}
    (out / 'summary.json').write_text(json.dumps(summary, indent=2, default=str) + '\n')
    text = markdown(summary)
    (out / 'summary.md').write_text(text)
    print(text, flush=True)


STAGES = {'prepare': stage_prepare, 'grpo': stage_grpo, 'e2e': stage_e2e, 'eval': stage_eval,
          'report': stage_report}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('stage', choices=list(STAGES))
    parser.add_argument('--out', required=True, type=Path)
    parser.add_argument('--dry-run', action='store_true', help='toy shape, float32, CPU')
    args = parser.parse_args()
    plan = dict(DRY_PLAN if args.dry_run else GPU_PLAN)
    os.environ.update({k: v for k, v in OFFLINE_ENV.items() if k != 'CUDA_VISIBLE_DEVICES' or args.dry_run})
    args.out.mkdir(parents=True, exist_ok=True)
    STAGES[args.stage](args.out.resolve(), plan)


if __name__ == '__main__':
    main()
