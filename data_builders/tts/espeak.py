"""espeak-ng: the offline default. Varied voices, speaking rates and pitch give speaker diversity.

Every voice reads one script besides Latin (:mod:`data_builders.tts.scripts`). With ``language='auto'``
(``--language auto``) a text that the configured voices cannot read is spoken by the espeak-ng voice of
its script (Han -> ``cmn``, Cyrillic -> ``ru``, kana -> ``ja``, …), with the same variants, rates and pitches.
"""
import functools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Sequence

from data_builders.tts.base import TTSBackend, TTSError
from data_builders.tts.scripts import auto_language, espeak_scripts, installed_languages, needed_scripts
from swift_tars.data.audio import to_16k_mono, write_wav_atomic

DEFAULT_VOICES = ('en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan')
DEFAULT_VARIANTS = ('m1', 'm3', 'm7', 'f1', 'f2', 'f4')
LANGUAGES = ('auto', )


class EspeakBackend(TTSBackend):
    """``espeak-ng -v <voice>+<variant> -s <rate> -p <pitch>``, resampled to 16 kHz.

    ``speaker`` picks voice, variant, rate (words/min) and pitch (0–99) deterministically from the
    given pools, so the same speaker index always sounds the same.
    """
    name = 'espeak'

    def __init__(self,
                 voices: Sequence[str] = DEFAULT_VOICES,
                 variants: Sequence[str] = DEFAULT_VARIANTS,
                 rates: Sequence[int] = (150, 165, 180),
                 pitches: Sequence[int] = (35, 50, 65),
                 executable: str = 'espeak-ng',
                 language: Optional[str] = None):
        self.executable = shutil.which(executable)
        if not self.executable:
            raise TTSError(f'{executable!r} is not installed; install it (apt-get install espeak-ng) or choose '
                           'another --tts backend')
        if language not in (None, *LANGUAGES):
            raise TTSError(f'espeak: unknown language {language!r}: pass --language auto (a voice per row for its '
                           'script), or choose the voices with --tts-option voices=…')
        self.voices, self.variants = list(voices), list(variants)
        self.rates, self.pitches = list(rates), list(pitches)
        self.language = language

    @functools.cached_property
    def installed(self) -> FrozenSet[str]:
        """The language codes of the installed espeak-ng voices."""
        return installed_languages(self.executable)

    def _pool(self, text: str) -> List[str]:
        """The voices that may speak ``text``: the configured ones, or with ``language='auto'`` those of them
        that read its scripts, else the espeak-ng voice of its script."""
        if self.language != 'auto' or not text:
            return self.voices
        needed = needed_scripts(text)
        matching = [v for v in self.voices if set(needed) <= espeak_scripts(v)]
        auto = None if matching else auto_language(needed, self.installed)
        return matching or ([auto] if auto else self.voices)

    def voice_for(self, speaker: int, text: str = '') -> Dict[str, Any]:
        """The voice settings of speaker ``speaker`` for ``text`` (mixed radix over the four pools)."""
        voices = self._pool(text)
        s = abs(int(speaker))
        voice = voices[s % len(voices)]
        s //= len(voices)
        variant = self.variants[s % len(self.variants)]
        s //= len(self.variants)
        rate = self.rates[s % len(self.rates)]
        pitch = self.pitches[(s // len(self.rates)) % len(self.pitches)]
        return {'voice': f'{voice}+{variant}', 'rate': rate, 'pitch': pitch}

    def reads(self, voice: Dict[str, Any]) -> FrozenSet[str]:
        return espeak_scripts(str(voice['voice']))

    def fix_for(self, scripts: Iterable[str]) -> str:
        scripts = sorted(scripts)
        language = auto_language(scripts, self.installed)
        if language is None:
            return (f'no installed espeak-ng voice reads {"+".join(scripts)} (espeak-ng ja reads kana, not kanji): '
                    'use --tts cosyvoice, or another source')
        return (f'pass --language auto (an espeak-ng voice per row; these rows would get {language}), or choose '
                f'voices that read {"+".join(scripts)}: --tts-option voices={language}')

    def synthesize(self, text: str, out_path: Path, speaker: int = 0) -> Dict[str, Any]:
        import soundfile as sf

        if not text or not text.strip():
            raise TTSError('espeak: refusing to synthesise an empty text')
        voice = self.voice_for(speaker, text)
        fd, raw = tempfile.mkstemp(suffix='.wav')
        os.close(fd)
        try:
            cmd = [self.executable, '-v', voice['voice'], '-s', str(voice['rate']), '-p', str(voice['pitch']),
                   '-w', raw, '--', text]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            if proc.returncode != 0:
                raise TTSError(f'espeak-ng failed ({proc.returncode}) on {text[:60]!r}: {proc.stderr.strip()}')
            audio, sr = sf.read(raw, dtype='float32')
        finally:
            os.unlink(raw)
        if audio.size == 0:
            raise TTSError(f'espeak-ng produced no audio for {text[:60]!r}')
        audio = to_16k_mono(audio, sr)
        write_wav_atomic(out_path, audio)
        return {**voice, 'duration_s': round(len(audio) / 16000, 3)}

    def describe(self) -> Dict[str, Any]:
        described = {'backend': self.name, 'voices': self.voices, 'variants': self.variants, 'rates': self.rates,
                     'pitches': self.pitches}
        if self.language:  # only when set: builds made before the option keep their settings fingerprint
            described['language'] = self.language
        return described
