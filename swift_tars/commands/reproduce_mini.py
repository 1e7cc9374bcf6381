"""``swift-tars reproduce-mini``: a CPU miniature of the paper's main table, offline.

A tiny Qwen2.5-Omni with a built-in modality gap (:mod:`swift_tars.testing.gap_miniature`: right on typed
questions, partly right on spoken ones) is trained by the real ``swift rlhf --rlhf_type grpo`` in five arms —
speech-only GRPO, mixed speech/text GRPO, TARS, TARS without ``R_rep``, CORD — for several seeds. Each final
LoRA checkpoint is evaluated by ``swift-tars eval`` (greedy, speech and text) on the RL questions and on
held-out questions, and probed by ``swift-tars probe``. Writes ``summary.json``, ``table.md`` and
``curves.png`` under ``--out``; a killed run resumes at the next unfinished arm/seed.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, NamedTuple

from data_builders.cli import USER_ERRORS, parse, run
from swift_tars.commands.reproduce_report import write_report
from swift_tars.commands.reproduce_signal import speech_group_signal
from swift_tars.testing.data import write_jsonl
from swift_tars.testing.gap_miniature import category_questions, gap_miniature_warm_start
from swift_tars.testing.models import build_tiny_embedder, build_tiny_omni
from swift_tars.testing.runs import OFFLINE_ENV, offline_env, read_completions, read_logging, tiny_rlhf_command

BASE = ['tars_accuracy', 'tars_format']


class Arm(NamedTuple):
    """One row of the table: the rewards and ``TARS_*`` settings of its runs."""
    label: str
    rewards: List[str]
    env: Dict[str, str]


ARMS: Dict[str, Arm] = {
    'speech_grpo': Arm('(a) speech-only GRPO, R_base', BASE, {'TARS_GROUP_LAYOUT': 'speech'}),
    'mixed_grpo': Arm('(b) mixed GRPO, per-modality adv., R_base', BASE, {'TARS_LOG_REPRESENTATION': '1'}),
    'tars': Arm('(c) TARS: R_base + R_rep + R_beh', BASE + ['tars_representation', 'tars_behavior'], {}),
    'tars_no_rep': Arm('(d) TARS without R_rep', BASE + ['tars_behavior'], {'TARS_LOG_REPRESENTATION': '1'}),
    'cord': Arm('(e) CORD: R_base + agreement + token KL', BASE + ['tars_agreement'],
                {'TARS_DISTILL_COEF': '0.1', 'TARS_LOG_REPRESENTATION': '1'}),
}


class Plan(NamedTuple):
    """Sizes of one reproduction: full (the README figure) or ``--quick``."""
    seeds: List[int]
    steps: int
    questions: int
    heldout: int
    learning_rate: float = 5e-3
    questions_per_step: int = 4


FULL = Plan(seeds=[0, 1, 2], steps=16, questions=24, heldout=8)
QUICK = Plan(seeds=[0], steps=6, questions=24, heldout=8)
ROLLOUTS = 8  # per question: 4 speech + 4 text
# GRPO settings shared by every arm (the plan adds steps, learning rate and questions per optimiser step).
TRAIN_ARGS = ['--num_generations', str(ROLLOUTS), '--lora_rank', '8', '--lora_alpha', '16',
              '--max_completion_length', '32', '--warmup_ratio', '0', '--save_strategy', 'steps',
              '--save_only_model', 'true', '--dataset_shuffle', 'true']
WARM_START_STEPS = 400
# A short system prompt keeps the tiny model's sequences short; espeak-ng speaks fast for the same reason.
SYSTEM = 'Think inside <think></think>, then answer inside <answer></answer>.'


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--out', default='tars-reproduce-mini', help='working directory (resumable)')
    parser.add_argument('--quick', action='store_true', help='one seed, fewer steps: a first look in minutes')
    parser.add_argument('--arms', nargs='+', choices=list(ARMS), default=list(ARMS), help='arms to run')
    parser.add_argument('--seeds', type=int, nargs='+', default=None, help='override the plan\'s seeds')
    parser.add_argument('--steps', type=int, default=None, help='override the plan\'s GRPO steps per run')
    parser.add_argument('--learning_rate', type=float, default=None, help='override the plan\'s learning rate')
    parser.add_argument('--questions_per_step', type=int, default=None,
                        help=f'override the plan\'s questions per optimiser step ({ROLLOUTS} rollouts each)')


def log(message: str) -> None:
    print(f'[reproduce-mini {time.strftime("%H:%M:%S")}] {message}', flush=True)


def build_setup(out: Path, plan: Plan) -> Dict[str, Path]:
    """Questions (spoken by espeak-ng), the RL and held-out splits, the gap model and the embedder (cached)."""
    data = out / 'data'
    source = write_jsonl(data / 'questions.source.jsonl', category_questions(plan.questions))
    built = run(parse(['mmlu', '--source', str(source), '--tts', 'espeak', '--tts-option', 'rates=280,300,320',
                       '--system', SYSTEM, '--out', str(data), '--name', 'all', '--no-progress']), log=log).path
    rows = [json.loads(line) for line in Path(built).read_text().splitlines()]
    n_train = len(rows) - plan.heldout
    train = write_jsonl(data / 'rl_train.jsonl', rows[:n_train])
    heldout = write_jsonl(data / 'heldout.jsonl', rows[n_train:])
    model, embedder = out / 'models' / 'gap-omni', out / 'models' / 'embedder'
    if not (model / 'model.safetensors').exists():
        log(f'building the gap miniature ({WARM_START_STEPS} warm-start steps, a few minutes) -> {model}')
        examples, taught = gap_miniature_warm_start(rows)
        build_tiny_omni(model, warm_start=examples, warm_start_steps=WARM_START_STEPS, chunk_length=6)
        (model / 'speech_taught_questions.json').write_text(json.dumps(taught, indent=1) + '\n')
    if not (embedder / 'modules.json').exists():
        build_tiny_embedder(embedder)
    return {'train': train, 'heldout': heldout, 'model': model, 'embedder': embedder}


def train_run(setup: Dict[str, Path], arm: Arm, seed: int, plan: Plan, run_dir: Path) -> Path:
    """One arm/seed: the real ``swift rlhf``; returns the final LoRA checkpoint (reused when already there, and
    only if it was trained with the same settings)."""
    steps, done = plan.steps, run_dir / 'checkpoint.txt'
    extra = TRAIN_ARGS + ['--max_steps', str(steps), '--save_steps', str(steps), '--seed', str(seed),
                          '--data_seed', str(seed), '--learning_rate', str(plan.learning_rate),
                          '--per_device_train_batch_size', str(ROLLOUTS * plan.questions_per_step)]
    settings = {'rewards': arm.rewards, 'env': arm.env, 'swift_args': extra}
    _check_settings(run_dir / 'settings.json', settings)
    if done.exists():
        return Path(done.read_text().strip())
    cmd = tiny_rlhf_command(setup['model'], setup['train'], run_dir / 'swift', arm.rewards, *extra)
    env = offline_env(TARS_EMBEDDING_MODEL=str(setup['embedder']), **arm.env)
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / 'settings.json').write_text(json.dumps(settings, indent=1) + '\n')
    with open(run_dir / 'swift_rlhf.log', 'w') as out:
        proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode:
        tail = (run_dir / 'swift_rlhf.log').read_text().splitlines()[-20:]
        raise RuntimeError(f'swift rlhf failed ({proc.returncode}) in {run_dir}:\n' + '\n'.join(tail))
    [checkpoint] = sorted((run_dir / 'swift').glob(f'v*/checkpoint-{steps}'))
    (run_dir / 'steps.json').write_text(json.dumps(read_logging(run_dir / 'swift')) + '\n')
    done.write_text(str(checkpoint) + '\n')
    return checkpoint


class StaleRunError(ValueError):
    """A run folder under ``--out`` holds a run made with other settings."""


def _check_settings(path: Path, settings: dict) -> None:
    """Refuses to reuse (or resume into) a run folder whose recorded settings differ from ``settings``."""
    recorded = json.loads(path.read_text()) if path.exists() else None
    if recorded != settings and (recorded is not None or path.parent.exists()):
        raise StaleRunError(f'{path.parent} was trained with other settings (see {path}); choose a new --out '
                            'or delete that folder')


def evaluate(setup: Dict[str, Path], adapters: List[str], out_dir: Path, reference: Path = None) -> dict:
    """``swift-tars eval`` (greedy, both modes) on the RL and held-out questions, and ``swift-tars probe``."""
    from swift_tars.evaluation import eval_cli, probe_cli  # deferred: ms-swift, torch

    summary_path = out_dir / 'eval' / 'summary.json'
    if not summary_path.exists():
        argv = ['--model', str(setup['model']), '--eval_sets', f'rl_train={setup["train"]}',
                f'heldout={setup["heldout"]}', '--max_new_tokens', '32', '--torch_dtype', 'float32',
                '--output_dir', str(out_dir / 'eval'), '--no_progress']
        argv += ['--adapters', *adapters] if adapters else []
        argv += ['--reference_text_acc', str(reference)] if reference else []
        parser = argparse.ArgumentParser()
        eval_cli.add_arguments(parser)
        if eval_cli.main(parser.parse_args(argv)):
            raise RuntimeError(f'swift-tars eval failed for {out_dir}')
    probe_path = out_dir / 'probe' / 'probe.json'
    if not probe_path.exists():
        argv = ['--model', str(setup['model']), '--eval_set', f'rl_train={setup["train"]}', '--n', '16',
                '--max_new_tokens', '32', '--torch_dtype', 'float32', '--output_dir', str(out_dir / 'probe'),
                '--no_progress']
        argv += ['--adapters', *adapters] if adapters else []
        parser = argparse.ArgumentParser()
        probe_cli.add_arguments(parser)
        if probe_cli.main(parser.parse_args(argv)):
            raise RuntimeError(f'swift-tars probe failed for {out_dir}')
    return {'eval': json.loads(summary_path.read_text()), 'probe': json.loads(probe_path.read_text())}


def run_arms(setup: Dict[str, Path], plan: Plan, arms: List[str], out: Path) -> dict:
    """Trains, evaluates and probes every arm/seed not finished yet; returns ``{arm: {seed: results}}``."""
    reference = out / 'base' / 'eval' / 'summary.json'
    results, total = {}, len(arms) * len(plan.seeds)
    for k, (name, seed) in enumerate((a, s) for a in arms for s in plan.seeds):
        run_dir = out / 'runs' / f'{name}-seed{seed}'
        log(f'[{k + 1}/{total}] arm {name} seed {seed}: {plan.steps} GRPO steps ({ARMS[name].label})')
        checkpoint = train_run(setup, ARMS[name], seed, plan, run_dir)
        log(f'[{k + 1}/{total}] arm {name} seed {seed}: eval + probe of {checkpoint.name}')
        results.setdefault(name, {})[seed] = {
            **evaluate(setup, [str(checkpoint)], run_dir, reference),
            'steps': json.loads((run_dir / 'steps.json').read_text()),
            'signal': speech_group_signal(read_completions(checkpoint.parent.parent))}
    return results


def main(args: argparse.Namespace) -> int:
    os.environ.update(OFFLINE_ENV)
    plan = QUICK if args.quick else FULL
    plan = plan._replace(seeds=args.seeds or plan.seeds, steps=args.steps or plan.steps,
                         learning_rate=args.learning_rate or plan.learning_rate,
                         questions_per_step=args.questions_per_step or plan.questions_per_step)
    out = Path(args.out).resolve()
    t0 = time.time()
    try:
        setup = build_setup(out, plan)
    except USER_ERRORS as e:
        print(f'swift-tars reproduce-mini: error: {e}\n(--out {out} holds another setup: choose a new --out)',
              file=sys.stderr)
        return 1
    log('evaluating the base model')
    base = evaluate(setup, [], out / 'base')
    try:
        results = run_arms(setup, plan, args.arms, out)
    except (StaleRunError, RuntimeError) as e:
        print(f'swift-tars reproduce-mini: error: {e}', file=sys.stderr)
        return 1
    paths = write_report(out, plan._asdict(), {n: ARMS[n].label for n in args.arms}, base, results)
    log(f'done in {time.time() - t0:.0f} s: ' + ', '.join(str(p) for p in paths))
    print((out / 'table.md').read_text())
    return 0


if __name__ == '__main__':
    sys.exit(main(argparse.ArgumentParser().parse_args()))
