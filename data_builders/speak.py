"""Turning one text query into one cached 16 kHz wav, with optional ASR quality control and retries.

The wav is named after its inputs (backend settings, speaker, script, QC settings), so a rerun reuses
it. With ASR on, up to ``takes`` takes are synthesised (stopping at the first with WER <= ``target_wer``)
and the best is kept, together with *its* transcript (the reference kept the last one: docs/method.md §13
item 22). Deterministic backends get another voice per retry; stochastic ones another sample.
:func:`speech_report` summarises the voices, scripts and WERs of a finished build for its manifest.
:meth:`Speaker.check_scripts` refuses, before any audio is made, rows in a script their voice cannot read.
"""
import collections
import json
import os
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from data_builders.asr import ASRBackend, script_wer
from data_builders.pipeline import SkipRow, write_text_atomic
from data_builders.tts import ScriptError, TTSBackend, TTSError
from data_builders.tts.scripts import needed_scripts, script_label
from swift_tars.data.wavcache import cache_path, existing_duration, text_digest

RETRY_SPEAKER_STRIDE = 7919  # a prime: successive retries of a deterministic backend get unrelated voices
MAX_LISTED = 20  # rows quoted in a ScriptError


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
    most used ones), rows per script and per voice (espeak-ng: its language, ``cmn``, ``en-us``; CosyVoice:
    the reference clip) and, with ASR quality control, the mean and worst WER."""
    voices = collections.Counter(str(m['voice']) for m in metas if m.get('voice'))
    wers = [m['wer'] for m in metas if m.get('wer') is not None]
    report: Dict[str, Any] = {}
    if voices:
        report['voices'] = {'distinct': len(voices), 'most_common': voices.most_common(10)}
    if metas:  # 'unrecorded': rows resumed without metadata (Speaker.report fills it in)
        scripts = collections.Counter(m.get('script', 'unrecorded') for m in metas)
        languages = collections.Counter(str(m['voice']).split('+')[0] if m.get('voice') else 'unrecorded'
                                        for m in metas)
        report['languages'] = {'rows_per_script': dict(scripts.most_common()),
                               'rows_per_voice': dict(languages.most_common())}
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

    def _voice(self, speaker: int, script: str) -> Dict[str, Any]:
        return self.tts.voice_for(speaker, script)

    def report(self, rows_meta: List[Tuple[dict, dict]]) -> Dict[str, Any]:
        """:func:`speech_report` of finished ``(row, meta)`` pairs; the voice and script of a row resumed without
        metadata are worked out again from its question id and text (with ASR retries: the first take's voice).
        Pass as ``BuildSpec.row_report``."""
        metas = []
        for row, meta in rows_meta:
            if not meta.get('voice') or not meta.get('script'):
                script = speech_script(row.get('text_query') or '')
                voice = self._voice(speaker_index(str(row.get('question_id'))), script).get('voice')
                meta = {'voice': voice, 'script': script_label(needed_scripts(script)), **meta}
            metas.append(meta)
        return speech_report(metas)

    def script_problem(self, question_id: str, text_query: str) -> Optional[Tuple[str, List[str]]]:
        """(what is wrong, the scripts its voice lacks) when the voice of this row cannot read its text, else None."""
        script = speech_script(text_query)
        voice = self._voice(speaker_index(question_id), script)
        readable = self.tts.reads(voice)
        needed = needed_scripts(script)
        missing = [s for s in needed if readable is not None and s not in readable]
        if not missing:
            return None
        found = ', '.join(f'{s} {share:.0%}' for s, share in needed.items())
        return (f'script {"+".join(missing)} (letters: {found}); voice {voice.get("voice", "?")} ({self.tts.name}) '
                f'reads {"+".join(sorted(readable))} only'), missing

    def check_scripts(self, rows: Iterable[Tuple[str, str, str]]) -> Dict[str, int]:
        """Checks ``(question_id, where, text_query)`` rows before any audio is made: a row whose voice cannot read
        the script of its text stops the build with one :class:`ScriptError` listing every such row (the first
        20, then a count) and the fix. Returns the rows per script."""
        counts: collections.Counter = collections.Counter()
        bad: List[str] = []
        missing: set = set()
        for question_id, where, text_query in rows:
            counts[script_label(needed_scripts(text_query))] += 1
            problem = self.script_problem(question_id, text_query)
            if problem:
                bad.append(f'  {where} (question_id={question_id!r}): {problem[0]}')
                missing.update(problem[1])
        if bad:
            more = [f'  … and {len(bad) - MAX_LISTED} more'] if len(bad) > MAX_LISTED else []
            raise ScriptError('\n'.join(
                [f'{len(bad)} row(s) are in a script their voice cannot read (it would speak every such character '
                 'as a name like "Chinese letter", or spell it); no audio was made:', *bad[:MAX_LISTED], *more,
                 f'Fix: {self.tts.fix_for(missing)}.']))
        return dict(counts)

    def speak(self, question_id: str, text_query: str) -> Tuple[str, Dict[str, Any]]:
        """(absolute wav path, metadata: duration, voice, WER and transcript when checked)."""
        problem = self.script_problem(question_id, text_query)
        if problem:  # check_scripts refuses such rows before the build; this guards other callers
            raise TTSError(f'question_id={question_id!r}: {problem[0]}; {self.tts.fix_for(problem[1])}')
        script = speech_script(text_query)
        speaker = speaker_index(question_id)
        label = script_label(needed_scripts(script))
        key = text_digest('tts', self.settings(), speaker, script)
        final = cache_path(self.wav_dir, key).resolve()
        sidecar = final.with_suffix('.json')
        duration = existing_duration(final)
        if duration is not None:
            meta = json.loads(sidecar.read_text()) if sidecar.exists() else {}
            if meta.get('rejected'):
                raise SkipRow('asr_rejected', meta['rejected'])
            return str(final), {'voice': self._voice(speaker, script).get('voice'), **meta, 'script': label,
                                'duration_s': duration}
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
        return str(final), {**meta, 'script': label}
