"""CORD token-level term: cost, measured side by side in one run.

(1) Step time of the real ``swift rlhf`` GRPO on the tiny Qwen2.5-Omni (CPU, offline): TARS rewards with the
    term off vs ``TARS_DISTILL_COEF=0.1`` (loss mode, top-k 20), same seed and data; mean ``step_time`` of
    steps 2..N (step 1 includes warm-up). The term costs one extra no-grad forward per micro-batch.
(2) Peak memory of the term (forward + backward) at a 150k vocabulary, each method in a fresh process
    (``ru_maxrss`` above the process's baseline after the inputs exist): the naive exact KL (teacher logits for
    the whole completion at once), the chunked exact KL, and the top-k (20) KL swift-tars uses by default.

Usage: python benchmarks/bench_cord.py [--steps 4] [--vocab 151936 --hidden 1024 --tokens 512 --batch 2]
       (--skip-train / --skip-memory to run one part)
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path


def memory_child(args) -> None:
    """Runs one method and prints its peak RSS growth (MiB) as JSON."""
    import torch
    from torch import nn

    from swift_tars.grpo.distill import cord_weights, reverse_kl, token_reverse_kl, weighted_token_mean
    torch.manual_seed(0)
    head = nn.Linear(args.hidden, args.vocab, bias=False)
    for p in head.parameters():
        p.requires_grad_(False)
    hs = torch.randn(args.batch, args.tokens, args.hidden, requires_grad=True)
    ht = torch.randn(args.batch, args.tokens, args.hidden)
    mask = torch.ones(args.batch, args.tokens, dtype=torch.bool)
    student = head(hs)  # [B, K, V] with grad: exists in GRPO's loss forward anyway
    student.retain_grad()
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if args.method == 'naive':
        kl = reverse_kl(student, head(ht).detach())  # teacher logits for every position at once
    else:
        kl = token_reverse_kl(student, ht, head, topk=0 if args.method == 'exact' else 20, chunk=64)
    weighted_token_mean(kl, cord_weights(kl, mask), mask).backward()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({'method': args.method, 'extra_mib': (peak - base) / 1024}))


def bench_memory(args) -> None:
    rows = {}
    for method in ('naive', 'exact', 'topk'):
        cmd = [sys.executable, __file__, '--memory-child', method, '--vocab', str(args.vocab), '--hidden',
               str(args.hidden), '--tokens', str(args.tokens), '--batch', str(args.batch)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        rows[method] = json.loads(out)['extra_mib']
    logits_mib = args.batch * args.tokens * args.vocab * 4 / 2**20
    print(f'(2) peak memory of the term (forward + backward), vocab {args.vocab}, batch {args.batch} x '
          f'{args.tokens} completion tokens, hidden {args.hidden}; one [B, K, V] fp32 tensor = {logits_mib:.0f} MiB')
    for method, label in (('naive', 'exact, teacher logits at once'), ('exact', 'exact, chunked (64 positions)'),
                          ('topk', 'top-20 (default)')):
        print(f'    {label:<32} +{rows[method]:8.0f} MiB   {rows[method] / rows["naive"]:.2f}x of naive')


def bench_train(args) -> None:
    from swift_tars.commands.demo import build_demo_dataset
    from swift_tars.testing.models import build_tiny_embedder, build_tiny_omni
    from swift_tars.testing.runs import OFFLINE_ENV, offline_env, read_logging, tiny_rlhf_command
    from swift_tars.testing.warm_start import gap_warm_start
    os.environ.update(OFFLINE_ENV)
    work = Path(tempfile.mkdtemp(prefix='bench-cord-'))
    dataset = build_demo_dataset(work / 'data')
    rows = [json.loads(line) for line in dataset.read_text().splitlines()]
    model = build_tiny_omni(work / 'omni', warm_start=gap_warm_start(rows))
    embedder = build_tiny_embedder(work / 'embedder')
    rewards = ['tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior']
    times = {}
    for name, coef in (('off', '0'), ('on', '0.1'), ('off2', '0'), ('on2', '0.1')):  # interleaved for drift
        out = work / name
        cmd = tiny_rlhf_command(model, dataset, out, rewards, '--max_steps', str(args.steps), '--num_generations', '4',
                                '--per_device_train_batch_size', '4', '--gradient_accumulation_steps', '2')
        env = offline_env(TARS_EMBEDDING_MODEL=str(embedder), TARS_DISTILL_COEF=coef)
        with open(work / f'{name}.log', 'w') as log:
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        steps = [r['step_time'] for r in read_logging(out)][1:]
        times.setdefault(name.rstrip('2'), []).extend(steps)
    off, on = (sum(times[k]) / len(times[k]) for k in ('off', 'on'))
    print(f'(1) GRPO step on the tiny Qwen2.5-Omni (CPU), 2 micro-batches of 4 rollouts, {len(times["off"])} timed '
          f'steps each (2 runs, step 1 excluded)')
    print(f'    term off   {off:7.3f} s/step')
    print(f'    term on    {on:7.3f} s/step   {on / off:.3f}x')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=4)
    parser.add_argument('--vocab', type=int, default=151936)
    parser.add_argument('--hidden', type=int, default=1024)
    parser.add_argument('--tokens', type=int, default=512)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--skip-train', action='store_true')
    parser.add_argument('--skip-memory', action='store_true')
    parser.add_argument('--memory-child', dest='method', default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.method:
        return memory_child(args)
    if not args.skip_train:
        bench_train(args)
    if not args.skip_memory:
        bench_memory(args)


if __name__ == '__main__':
    main()
