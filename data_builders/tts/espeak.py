"""espeak-ng: the offline default. Varied voices, speaking rates and pitch give speaker diversity."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, Sequence

from data_builders.tts.base import TTSBackend, TTSError
from swift_tars.data.audio import to_16k_mono, write_wav_atomic

DEFAULT_VOICES = ('en-us', 'en-gb', 'en-gb-scotland', 'en-gb-x-rp', 'en-029', 'en-gb-x-gbclan')
DEFAULT_VARIANTS = ('m1', 'm3', 'm7', 'f1', 'f2', 'f4')


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
                 executable: str = 'espeak-ng'):
        self.executable = shutil.which(executable)
        if not self.executable:
            raise TTSError(f'{executable!r} is not installed; install it (apt-get install espeak-ng) or choose '
                           'another --tts backend')
        self.voices, self.variants = list(voices), list(variants)
        self.rates, self.pitches = list(rates), list(pitches)

    def voice_for(self, speaker: int) -> Dict[str, Any]:
        """The voice settings of speaker ``speaker`` (mixed radix over the four pools)."""
        s = abs(int(speaker))
        voice = self.voices[s % len(self.voices)]
        s //= len(self.voices)
        variant = self.variants[s % len(self.variants)]
        s //= len(self.variants)
        rate = self.rates[s % len(self.rates)]
        pitch = self.pitches[(s // len(self.rates)) % len(self.pitches)]
        return {'voice': f'{voice}+{variant}', 'rate': rate, 'pitch': pitch}

    def synthesize(self, text: str, out_path: Path, speaker: int = 0) -> Dict[str, Any]:
        import soundfile as sf

        if not text or not text.strip():
            raise TTSError('espeak: refusing to synthesise an empty text')
        voice = self.voice_for(speaker)
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
        return {'backend': self.name, 'voices': self.voices, 'variants': self.variants, 'rates': self.rates,
                'pitches': self.pitches}
