"""Cost of the dataset checks that ``swift rlhf`` runs before its first generation, per 10k rows.

Run: ``python benchmarks/bench_row_checks.py [--rows 10000] [--repeats 3] [--seconds 2.0]``.
Writes ``--rows`` row-format lines, each with its own real 16 kHz mono wav (a tone of ``--seconds``; distinct
files, so every row costs one ``soundfile.info`` header read), then times
:func:`swift_tars.data.row_checks.check_specs` on the file: reading and parsing every line, every row check
(columns, messages, options against ``text_query``, gold, audio header) and the duplicate-id check. Reports the
best of ``--repeats`` runs (the wavs are in the page cache after the first; the first, colder run is printed too)
and the structural checks alone (``check_audio=False``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..'))
import soundfile as sf  # noqa: E402

from swift_tars.data.row_checks import check_specs  # noqa: E402
from swift_tars.data.rows import make_row  # noqa: E402
from swift_tars.testing.data import tone  # noqa: E402


def build(folder: str, n: int, seconds: float) -> str:
    """``n`` rows with ``n`` distinct wavs under ``folder``; the jsonl path."""
    base = tone(16000, seconds)
    path = os.path.join(folder, 'train.jsonl')
    with open(path, 'w', encoding='utf-8') as f:
        for i in range(n):
            wav = os.path.join(folder, 'wav', f'{i % 256:02x}', f'q{i}.wav')
            os.makedirs(os.path.dirname(wav), exist_ok=True)
            sf.write(wav, base * (0.5 + (i % 7) / 14), 16000, subtype='PCM_16')
            query = (f'Question {i}: which option is right?\n\nOption A: alpha {i}\nOption B: beta {i}\n'
                     f'Option C: gamma {i}\nOption D: delta {i}')
            row = make_row(audio=wav, text_query=query, solution='ABCD'[i % 4], question_id=f'bench@{i}',
                           options=[f'alpha {i}', f'beta {i}', f'gamma {i}', f'delta {i}'], subject='bench')
            f.write(json.dumps(row) + '\n')
    return path


def timed(path: str, check_audio: bool) -> float:
    start = time.perf_counter()
    problems, rows = check_specs([path], check_audio=check_audio)
    elapsed = time.perf_counter() - start
    assert not problems and rows > 0, problems[:3]
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--rows', type=int, default=10_000)
    parser.add_argument('--repeats', type=int, default=3)
    parser.add_argument('--seconds', type=float, default=2.0, help='length of each wav (the header read does not '
                        'depend on it)')
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix='tars-bench-rows-') as folder:
        t0 = time.perf_counter()
        path = build(folder, args.rows, args.seconds)
        print(f'wrote {args.rows} rows and {args.rows} wavs of {args.seconds:g} s in {time.perf_counter() - t0:.1f} s')
        full = [timed(path, True) for _ in range(args.repeats)]
        structure = min(timed(path, False) for _ in range(args.repeats))
    per10k = 10_000 / args.rows
    print(f'row checks with audio headers: {min(full) * per10k:.2f} s per 10k rows (best of {args.repeats}; first '
          f'run {full[0] * per10k:.2f} s)')
    print(f'row checks without audio:      {structure * per10k:.2f} s per 10k rows')


if __name__ == '__main__':
    main()
