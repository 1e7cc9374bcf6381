"""Tiny offline fixtures in the source schemas (tests and smoke runs): tones as wavs, multiple-choice
jsonl, the upstream release layout and VoiceBench layouts as local ``save_to_disk`` datasets."""
import io
import json
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from swift_tars.prompts import rewrite_blanks, tars_text_prompt

VOICEBENCH_INSTRUCTION = ('What is the answer to the above multiple choice question? '
                          'Select one of the following: A, B, C, or D.')


def tone(sample_rate: int, seconds: float, freq: float = 220.0, channels: int = 1) -> np.ndarray:
    """A sine tone of ``seconds`` at ``sample_rate`` (``[samples]`` or ``[samples, channels]``)."""
    t = np.arange(int(round(sample_rate * seconds))) / sample_rate
    wave = (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return wave if channels == 1 else np.stack([wave] * channels, axis=1)


def wav_bytes(sample_rate: int, seconds: float, freq: float = 220.0, channels: int = 1, fmt: str = 'WAV') -> bytes:
    """An encoded audio file (16-bit wav by default) of a tone."""
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, tone(sample_rate, seconds, freq, channels), sample_rate, format=fmt,
             subtype='PCM_16' if fmt == 'WAV' else None)
    return buf.getvalue()


def write_jsonl(path, rows: Sequence[dict]) -> Path:
    """Writes ``rows`` as UTF-8 JSON lines; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in rows), encoding='utf-8')
    return path


def mc_questions(n: int, prefix: str = 'q') -> List[dict]:
    """``n`` distinct local multiple-choice records (question, options, answer letter, id, subject)."""
    words = ['apple', 'river', 'engine', 'violin', 'planet', 'garden', 'copper', 'window', 'forest', 'lantern']
    rows = []
    for i in range(n):
        w = words[i % len(words)]
        rows.append({
            'question_id': f'{prefix}{i:03d}',
            'question': f'Question number {i}: which word names the {w} in this sentence?',
            'options': [f'{w}', f'not {w}', f'maybe {w}', f'never {w}'],
            'answer': 'ABCD'[i % 4],
            'subject': ['biology', 'physics', 'history'][i % 3],
        })
    return rows


def upstream_rows(audio: Sequence[dict]) -> Dict[str, list]:
    """Columns of the upstream release for ``len(audio)`` questions (keys ``mmlu@1``…)."""
    n = len(audio)
    questions = [f'Upstream question {i + 1} asks about the ___.' for i in range(n)]
    options = [[f'east {i}', f'west {i}', f'north {i}', f'south {i}'] for i in range(n)]

    return {
        'key': [f'mmlu@{i + 1}' for i in range(n)],
        'question_id': list(range(1, n + 1)),
        'question': questions,
        'options': options,
        'answer_index': [i % 4 for i in range(n)],
        'question_for_tts': [rewrite_blanks(q) for q in questions],
        'prompt_for_tts': [tars_text_prompt(rewrite_blanks(q), opts) for q, opts in zip(questions, options)],
        'audio': list(audio),
        'tts_wer': [0.0] * n,
    }


def voicebench_prompt(question: str, options: Sequence[str]) -> str:
    lines = [question] + [f'{"ABCD"[i]}. {o}' for i, o in enumerate(options)] + [VOICEBENCH_INSTRUCTION]
    return '\n'.join(lines)


def save_dataset(columns: Dict[str, list], out_dir, *, split: Optional[str] = None, audio_column: str = 'audio'):
    """A local ``save_to_disk`` dataset with an HF ``Audio`` column (a DatasetDict when ``split`` is given)."""
    import datasets

    ds = datasets.Dataset.from_dict(columns)
    if audio_column in columns:
        ds = ds.cast_column(audio_column, datasets.Audio())
    if split:
        ds = datasets.DatasetDict({split: ds})
    ds.save_to_disk(str(out_dir))
    return Path(out_dir)


def save_splits(splits: Dict[str, Dict[str, list]], out_dir, audio_column: str = 'audio') -> Path:
    """A local ``save_to_disk`` DatasetDict, one split per entry of ``splits``."""
    import datasets

    parts = {}
    for name, columns in splits.items():
        ds = datasets.Dataset.from_dict(columns)
        parts[name] = ds.cast_column(audio_column, datasets.Audio()) if audio_column in columns else ds
    datasets.DatasetDict(parts).save_to_disk(str(out_dir))
    return Path(out_dir)
