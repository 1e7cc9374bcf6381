"""``swift-tars demo``: the whole TARS loop offline on CPU in a few minutes.

Builds 16 spoken multiple-choice questions (espeak-ng, 16 kHz, text version beside each), a tiny
Qwen2.5-Omni (or ``--model_type qwen2_audio`` / ``qwen3_omni_moe``) warm-started to answer text questions and
guess on speech (a miniature modality gap),
a tiny sentence embedder, then runs the real ``swift rlhf --rlhf_type grpo`` with the swift-tars
plugin and prints what the run logged: steps, the mean of each reward, speech vs text.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

from data_builders.cli import parse, run
from swift_tars.testing.families import BUILDERS, build_tiny_model
from swift_tars.testing.models import build_tiny_embedder
from swift_tars.testing.runs import OFFLINE_ENV, offline_env, read_logging, tiny_rlhf_command
from swift_tars.testing.warm_start import gap_warm_start

DEFAULT_REWARDS = ['tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior']


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--out', default='tars-demo', help='working directory (default: ./tars-demo)')
    parser.add_argument('--steps', type=int, default=4, help='GRPO optimiser steps (default: 4)')
    parser.add_argument('--nproc', type=int, default=1, help='CPU processes (2 = DDP over gloo)')
    parser.add_argument('--model_type', default='qwen2_5_omni', choices=sorted(BUILDERS),
                        help='model family of the tiny model (default: qwen2_5_omni)')
    parser.add_argument('--reward_funcs', nargs='+', default=DEFAULT_REWARDS, help='registered reward names')
    parser.add_argument('--cord', action='store_true',
                        help='also CORD: tars_agreement and the token-level term (TARS_DISTILL_COEF=0.1)')


def build_demo_dataset(out_dir: Path) -> Path:
    """Row-format jsonl of the 16 packaged demo questions, spoken by espeak-ng; returns its path.

    Built by ``swift-tars build-data mmlu`` (local jsonl source, espeak backend) into ``out_dir``; a rerun
    reuses the finished build.
    """

    out_dir = Path(out_dir)
    source = Path(__file__).resolve().parents[1] / 'resources' / 'demo_questions.jsonl'
    args = parse(['mmlu', '--source', str(source), '--tts', 'espeak', '--out', str(out_dir), '--name', 'train',
                  '--no-progress'])
    return run(args, log=lambda line: print(line, flush=True)).path


def build_models(out: Path, rows: List[dict], model_type: str = 'qwen2_5_omni') -> Dict[str, Path]:
    """The warm-started tiny ``model_type`` model and the tiny embedder under ``out`` (reused when already built)."""

    model = out / ('tiny-omni' if model_type == 'qwen2_5_omni' else f'tiny-{model_type}')
    embedder = out / 'tiny-embedder'
    if not (model / 'model.safetensors').exists():
        print(f'[demo] building the tiny {model_type} (warm start, ~1-2 min) -> {model}', flush=True)
        build_tiny_model(model_type, model, warm_start=gap_warm_start(rows))
    if not (embedder / 'modules.json').exists():
        build_tiny_embedder(embedder)
    return {'model': model, 'embedder': embedder}


def summarize(records: List[dict]) -> List[str]:
    """Lines of the end-of-run summary from the step records of ``logging.jsonl``."""
    lines = [f'steps run: {len(records)}']
    keys = sorted({k for r in records for k in r if k.startswith('rewards/') and k.endswith('/mean')})
    for key in keys:
        values = [r[key] for r in records if r.get(key) is not None]
        lines.append(f'  {key[len("rewards/"):-len("/mean")]:<28} mean {sum(values) / len(values):.4f}')
    names = sorted({k.split('/')[2] for r in records for k in r if k.startswith('tars/speech/')})
    if names:
        lines.append(f'speech vs text (mean over steps):  {"speech":>8} {"text":>8}')
        for name in names:
            cells = []
            for modality in ('speech', 'text'):
                values = [r[f'tars/{modality}/{name}'] for r in records if r.get(f'tars/{modality}/{name}') is not None]
                cells.append(f'{sum(values) / len(values):8.4f}' if values else f'{"n/a":>8}')
            lines.append(f'  {name:<32} {cells[0]} {cells[1]}')
    extra = sorted({k for r in records for k in r if k.startswith('tars/') and not k.startswith(('tars/speech/',
                                                                                                 'tars/text/'))})
    for key in extra:
        values = [r[key] for r in records if r.get(key) is not None]
        lines.append(f'  {key:<32} {sum(values) / len(values):8.4f}')
    return lines


def main(args: argparse.Namespace) -> int:

    os.environ.update(OFFLINE_ENV)
    out = Path(args.out).resolve()
    t0 = time.time()
    dataset = build_demo_dataset(out / 'data')
    rows = [json.loads(line) for line in dataset.read_text().splitlines()]
    paths = build_models(out, rows, args.model_type)
    run_dir = out / f'run-{args.model_type}' if args.model_type != 'qwen2_5_omni' else out / 'run'
    extra = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--max_steps', str(args.steps)]
    env = offline_env(TARS_EMBEDDING_MODEL=str(paths['embedder']))
    rewards = list(args.reward_funcs)
    if args.cord:
        rewards += [] if 'tars_agreement' in rewards else ['tars_agreement']
        env['TARS_DISTILL_COEF'] = env.get('TARS_DISTILL_COEF', '0.1')
    if args.nproc > 1:
        env.update(NPROC_PER_NODE=str(args.nproc), ACCELERATE_USE_CPU='1', MASTER_PORT=env.get('MASTER_PORT', '29517'))
        extra += ['--ddp_backend', 'gloo', '--per_device_train_batch_size', '2', '--gradient_accumulation_steps', '2']
    cmd = tiny_rlhf_command(paths['model'], dataset, run_dir, rewards, *extra, model_type=args.model_type)
    log_path = out / 'swift_rlhf.log'
    print(f'[demo] {len(rows)} spoken questions in {dataset}', flush=True)
    print(f'[demo] running: {" ".join(cmd[1:3])} ... (full log: {log_path})', flush=True)
    with open(log_path, 'w') as log:
        proc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log_path.read_text().splitlines()[-30:]
        print('\n'.join(tail), file=sys.stderr)
        print(f'[demo] swift rlhf failed with exit code {proc.returncode}; see {log_path}', file=sys.stderr)
        return proc.returncode
    print('\n'.join(['[demo] swift rlhf finished'] + summarize(read_logging(run_dir))))
    print(f'[demo] done in {time.time() - t0:.0f} s; outputs under {out}')
    return 0
