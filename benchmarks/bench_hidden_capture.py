"""Hidden-state capture cost, measured side by side in one run.

(a) Time of the old-policy forward (no grad) of a random Qwen2 decoder over a long completion:
    plain forward, forward with swift-tars' pooled capture (hooks on every decoder layer), and the
    reference code's approach (the same forward again with ``output_hidden_states=True`` and pooling
    afterwards). Ratios to the plain forward; target: capture <= 1.02x.
(b) Bytes kept per rollout at the Qwen2.5-Omni-7B thinker shape (28 layers, hidden 3584, 1024 completion
    tokens): the pooled ``[layers, hidden]`` fp32 tensor vs the full-sequence hidden states (29 tensors of
    ``[tokens, hidden]`` in bf16) that ``output_hidden_states`` returns. Measured from the tensors produced
    by running both methods over 28 identity-cost layers of the real shape.

Usage: python benchmarks/bench_hidden_capture.py [--hidden 1024 --layers 8 --completion 1024 --prompt 256]
"""
import argparse
import time

import torch
from torch import nn

from swift_tars.grpo.hidden_states import PooledCapture, find_decoder_layers, masked_mean


def decoder(hidden: int, layers: int):
    from transformers import Qwen2Config, Qwen2ForCausalLM
    torch.manual_seed(0)
    config = Qwen2Config(vocab_size=32000, hidden_size=hidden, intermediate_size=hidden * 11 // 4,
                         num_hidden_layers=layers, num_attention_heads=hidden // 128, num_key_value_heads=2,
                         max_position_embeddings=4096)
    return Qwen2ForCausalLM(config).eval()


def interleaved_minimum(fns, rounds):
    """Runs the variants in turn for ``rounds`` rounds (after one warm-up each); the minimum per variant is the
    measurement least disturbed by other load on the machine."""
    for fn in fns.values():
        fn()
    best = {name: float('inf') for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return best


def bench_time(args):
    model = decoder(args.hidden, args.layers)
    layers = list(find_decoder_layers(model))
    seq = args.prompt + args.completion
    input_ids = torch.randint(0, 32000, (args.batch, seq))
    mask = torch.ones(args.batch, args.completion, dtype=torch.bool)
    keep = args.completion

    @torch.no_grad()
    def plain():
        return model(input_ids=input_ids, logits_to_keep=keep + 1).logits

    @torch.no_grad()
    def capture():
        with PooledCapture(layers, mask, keep) as cap:
            model(input_ids=input_ids, logits_to_keep=keep + 1)
        return cap.pooled

    @torch.no_grad()
    def reference():  # old-policy forward + a second forward for the hidden states
        model(input_ids=input_ids, logits_to_keep=keep + 1)
        states = model(input_ids=input_ids, output_hidden_states=True).hidden_states
        return torch.stack([masked_mean(h[:, -keep:], mask) for h in states[1:]], dim=1)

    results = interleaved_minimum({'plain': plain, 'capture': capture, 'reference': reference}, args.repeats)
    print(f'(a) old-policy forward, Qwen2 decoder hidden {args.hidden} x {args.layers} layers, batch {args.batch}, '
          f'{args.prompt} prompt + {args.completion} completion tokens (minimum of {args.repeats} interleaved rounds)')
    for name in ('plain', 'capture', 'reference'):
        print(f'    {name:<10} {results[name] * 1000:9.1f} ms   {results[name] / results["plain"]:.3f}x')


class Scale(nn.Module):

    def forward(self, x):
        return (x * 1.0, )


def bench_memory(args):
    layers_n, hidden, tokens = 28, 3584, args.completion
    stack = nn.ModuleList(Scale() for _ in range(layers_n))
    x = torch.randn(1, tokens, hidden, dtype=torch.bfloat16)
    mask = torch.ones(1, tokens, dtype=torch.bool)
    with PooledCapture(list(stack), mask, tokens) as cap:
        h = x
        for layer in stack:
            h = layer(h)[0]
    pooled_bytes = cap.pooled.numel() * cap.pooled.element_size()
    states, h = [x], x  # what output_hidden_states keeps: embeddings + every layer output
    for layer in stack:
        h = layer(h)[0]
        states.append(h)
    full_bytes = sum(s.numel() * s.element_size() for s in states)
    print(f'(b) kept per rollout at the Qwen2.5-Omni-7B thinker shape ({layers_n} layers, hidden {hidden}, '
          f'{tokens} completion tokens)')
    print(f'    pooled capture   {pooled_bytes / 2**20:8.3f} MiB  ({tuple(cap.pooled.shape)} fp32)')
    print(f'    full states      {full_bytes / 2**20:8.1f} MiB  ({len(states)} x [1, {tokens}, {hidden}] bf16)')
    print(f'    ratio            {full_bytes / pooled_bytes:8.0f}x less memory')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--hidden', type=int, default=768)
    parser.add_argument('--layers', type=int, default=6)
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--prompt', type=int, default=256)
    parser.add_argument('--completion', type=int, default=1024)
    parser.add_argument('--repeats', type=int, default=7)
    args = parser.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    bench_time(args)
    bench_memory(args)


if __name__ == '__main__':
    main()
