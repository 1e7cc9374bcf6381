"""Throughput of ``swift_tars.answers.extract_choice`` on a realistic, seeded corpus.

Run: ``python benchmarks/bench_extract_choice.py [--n 20000] [--seed 0] [--repeats 7]``.
The corpus mixes TARS-format completions (500-1500 characters of thinking), free-form
English and Chinese answers, ambiguous and truncated outputs.  The target is at least
50,000 completions/s on one core of a slow CI machine.
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
from swift_tars.answers import extract_choice  # noqa: E402

LETTERS = 'ABCD'
TARGET = 50_000  # completions/s on one core of a slow CI machine
OPTION_SETS = [
    ['happy', 'sad', 'angry', 'neutral'],
    ['a dog barking', 'a car horn', 'rain falling', 'people talking'],
    ['Paris', 'London', 'Berlin', 'Rome'],
    ['male, about 20', 'female, about 30', 'male, about 60', 'female, about 70'],
    ['yes', 'no'],
]
THINK_SENTENCES = [
    'The audio starts with a short pause and then a voice speaks quickly.',
    'Option {x} mentions {t}, which does not fit the pitch contour I hear.',
    'Let me compare option {x} and option {y} more carefully.',
    'The background contains some noise, possibly traffic or wind.',
    'If the answer were {x}, the energy would be much higher in the second half.',
    'A possible interpretation is that the speaker is reading a text aloud.',
    'The speaking rate is about four syllables per second, fairly normal.',
    'So {x} seems unlikely, and {y} is still possible.',
    'Hmm, wait. I should re-check the last two seconds of the clip.',
    'The question asks which description matches the recording best.',
    'I think {x} is not right because the tone does not rise at the end.',
    'Overall the prosody points towards {t}.',
]
ANSWER_FORMS = [
    'The answer is {x}.', '{x}', '{x}. {t}', '({x})', 'The correct answer is: {x}', 'Answer: ({x})',
    '**{x}**', '\\boxed{{{x}}}', 'Option {x}: {t}', '{t}', 'The answer is {t}.', '答案是{x}', '{lx}',
]
FREE_FORMS = [
    'Based on the recording, the speaker sounds {t}. Therefore, the answer is {x}.',
    'Looking at the options, {y} does not match. The correct answer is ({x}) {t}.',
    'I first thought {y}, but after listening again the answer is {x}.',
    'The answer is {y}. Wait, actually the answer is {x}.',
    '**Answer: {x}**\n\nThe pitch and energy both indicate {t}.',
    '{x}',
    "It's {x}, not {y}.",
    'A recording like this usually has a calm voice. I would choose {x}.',
    '根据音频中的语气和语速，说话人的情绪是{t}，所以答案是{x}。',
    '说话人语速较快，排除{y}，故选{x}。',
    'the answer is {lx}',
]
AMBIGUOUS_FORMS = [
    'The answer is {x} or {y}.', 'Both {x} and {y} seem plausible.', '{x} and {y}', 'The answer is not {x}.',
    'A cat sat on the mat, and I cannot tell.', 'The answer is E.', 'I am not sure.',
]


def _fill(form: str, rng: random.Random, options: list) -> str:
    n = len(options)
    i, j = rng.sample(range(n), 2)
    return form.format(x=LETTERS[i], y=LETTERS[j], t=options[i], lx=LETTERS[i].lower())


def _think(rng: random.Random, options: list, low: int = 500, high: int = 1500) -> str:
    """Whole reasoning sentences, about ``low``-``high`` characters in all."""
    parts, target = [], rng.randint(low, high)
    while sum(map(len, parts)) < target:
        parts.append(_fill(rng.choice(THINK_SENTENCES), rng, options))
    return ' '.join(parts)


def make_corpus(n: int, seed: int) -> list:
    """``n`` (completion, options) pairs; deterministic for a given seed."""
    rng = random.Random(seed)
    corpus = []
    for _ in range(n):
        options = rng.choice(OPTION_SETS)
        kind = rng.random()
        if kind < 0.55:  # TARS format
            answer = _fill(rng.choice(ANSWER_FORMS), rng, options)
            text = f'<think>{_think(rng, options)}</think>\n<answer>{answer}</answer>'
        elif kind < 0.65:  # truncated: inside <answer> or inside <think>
            think = _think(rng, options)
            text = (f'<think>{think}</think><answer>The answer is {rng.choice(LETTERS[:len(options)])}'
                    if rng.random() < 0.5 else f'<think>{think[:rng.randint(100, len(think))]}')
        elif kind < 0.88:  # free-form, sometimes after a short reasoning paragraph
            prefix = _think(rng, options, 0, 600)
            text = (prefix + '\n\n' if prefix else '') + _fill(rng.choice(FREE_FORMS), rng, options)
        else:  # ambiguous / no answer, with or without tags
            answer = _fill(rng.choice(AMBIGUOUS_FORMS), rng, options)
            text = f'<think>{_think(rng, options)}</think><answer>{answer}</answer>' if rng.random() < 0.5 else answer
        corpus.append((text, options if rng.random() < 0.8 else None))
    return corpus


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--n', type=int, default=20000, help='number of completions')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--repeats', type=int, default=7, help='timed runs; the best is reported')
    args = parser.parse_args(argv)

    corpus = make_corpus(args.n, args.seed)
    chars = sum(len(t) for t, _ in corpus)
    best = float('inf')
    for _ in range(args.repeats):
        start = time.perf_counter()
        results = [extract_choice(t, o) for t, o in corpus]
        best = min(best, time.perf_counter() - start)
    found = sum(r is not None for r in results)
    print(f'corpus: {len(corpus)} completions, {chars / len(corpus):.0f} chars on average, seed {args.seed}')
    print(f'answers found: {found} ({100 * found / len(corpus):.1f}%), None: {len(corpus) - found}')
    rate = len(corpus) / best
    print(f'best of {args.repeats}: {best:.3f} s = {rate:,.0f} completions/s, {1e6 / rate:.1f} us/completion '
          f'(target {TARGET:,}/s: {"ok" if rate >= TARGET else "BELOW"})')


if __name__ == '__main__':
    main()
