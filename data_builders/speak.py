"""Turning one text query into one cached 16 kHz wav, with optional ASR quality control and retries.

The wav is named after its inputs (backend settings, speaker, script, QC settings), so a rerun reuses
it. With ASR on, up to ``takes`` takes are synthesised (stopping at the first with WER <= ``target_wer``)
and the best is kept, together with *its* transcript (the reference kept the last one: docs/method.md §13
item 22). Deterministic backends get another voice per retry; stochastic ones another sample.
:func:`speech_report` summarises the voices and WERs of a finished build for its manifest.
"""
import collections
import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from data_builders.asr import ASRBackend, script_wer
from data_builders.pipeline import SkipRow, write_text_atomic
from data_builders.tts import TTSBackend
from swift_tars.data.wavcache import cache_path, existing_duration, text_digest

RETRY_SPEAKER_STRIDE = 7919  # a prime: successive retries of a deterministic backend get unrelated voices


def speech_script(text_query: str) -> str:
    """The text read aloud: the text query with a full stop after every line that lacks end punctuation,
    so synthesisers pause between the question and each option."""
    lines = [line.strip() for line in text_query.splitlines()]
    return '\n'.join(line if line[-1] in '.?!:;,' else line + '.' for line in lines if line)


def speaker_index(question_id: str) -> int:
    """A stable speaker number per question (the backend maps it to a voice)."""
    return int(text_digest('speaker', question_id)[:8], 16)


def speech_report(metas: List[dict]) -> Dict[str, Any]:
    """Manifest entries from the metadata of :meth:`Speaker.speak` for every row: distinct voices (with the
    most used ones) and, with ASR quality control, the mean and worst WER. Pass as ``BuildSpec.row_report``."""
    voices = collections.Counter(str(m['voice']) for m in metas if m.get('voice'))
    wers = [m['wer'] for m in metas if m.get('wer') is not None]
    report: Dict[str, Any] = {}
    if voices:
        report['voices'] = {'distinct': len(voices), 'most_common': voices.most_common(10)}
    if wers:
        report['asr_wer'] = {'mean': round(sum(wers) / len(wers), 4), 'max': round(max(wers), 4)}
    return report


class Speaker:
    """Synthesises text queries into ``wav_dir`` with ``tts``; checks them with ``asr`` when given."""

    def __init__(self, tts: TTSBackend, wav_dir: Path, *, asr: Optional[ASRBackend] = None, max_wer: float = 0.10,
                 target_wer: float = 0.05, takes: int = 3, num_options: int = 4):
        self.tts, self.asr, self.wav_dir = tts, asr, Path(wav_dir)
        self.max_wer, self.target_wer, self.takes, self.num_options = max_wer, target_wer, max(1, takes), num_options

    def settings(self) -> Dict[str, Any]:
        qc = None
        if self.asr is not None:
            qc = {'asr': self.asr.describe(), 'max_wer': self.max_wer, 'target_wer': self.target_wer,
                  'takes': self.takes}
        return {'tts': self.tts.describe(), 'asr_qc': qc}

    def _voice(self, speaker: int) -> Dict[str, Any]:
        voice_for = getattr(self.tts, 'voice_for', None)
        return voice_for(speaker) if callable(voice_for) else {'speaker': speaker}

    def speak(self, question_id: str, text_query: str) -> Tuple[str, Dict[str, Any]]:
        """(absolute wav path, metadata: duration, voice, WER and transcript when checked)."""
        script = speech_script(text_query)
        speaker = speaker_index(question_id)
        key = text_digest('tts', self.settings(), speaker, script)
        final = cache_path(self.wav_dir, key).resolve()
        sidecar = final.with_suffix('.json')
        duration = existing_duration(final)
        if duration is not None:
            meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            if meta.get('rejected'):
                raise SkipRow('asr_rejected', meta['rejected'])
            return str(final), {'voice': self._voice(speaker).get('voice'), **meta, 'duration_s': duration}
        if sidecar.exists():  # a rejection recorded earlier (no wav kept)
            meta = json.loads(sidecar.read_text())
            if meta.get('rejected'):
                raise SkipRow('asr_rejected', meta['rejected'])
        final.parent.mkdir(parents=True, exist_ok=True)
        best: Optional[Tuple[float, Path, Dict[str, Any]]] = None
        takes = []
        for attempt in range(self.takes if self.asr is not None else 1):
            voice = speaker if getattr(self.tts, 'stochastic', False) else speaker + attempt * RETRY_SPEAKER_STRIDE
            take = final.with_name(f'.{key}.take{attempt}.{os.getpid()}.wav')
            meta = dict(self.tts.synthesize(script, take, speaker=voice))
            if self.asr is None:
                best = (0.0, take, meta)
                break
            transcript = self.asr.transcribe(str(take))
            wer = script_wer(script, transcript, self.num_options)
            meta.update(wer=round(wer, 4), transcript=transcript)
            takes.append(round(wer, 4))
            if best is None or wer < best[0]:
                if best is not None:
                    best[1].unlink(missing_ok=True)
                best = (wer, take, meta)
            else:
                take.unlink(missing_ok=True)
            if wer <= self.target_wer:
                break
        wer, take, meta = best
        if self.asr is not None:
            meta['takes'] = takes
            if wer > self.max_wer:
                take.unlink(missing_ok=True)
                reason = f'best WER {wer:.3f} > {self.max_wer} after {len(takes)} take(s)'
                write_text_atomic(sidecar, json.dumps({**meta, 'rejected': reason}) + '\n')
                raise SkipRow('asr_rejected', reason)
            write_text_atomic(sidecar, json.dumps(meta, ensure_ascii=False) + '\n')
        os.replace(take, final)
        return str(final), meta
