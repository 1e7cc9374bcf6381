"""Audio I/O shared by the builders: everything becomes 16 kHz mono float wav, written atomically."""
import os
import tempfile
from pathlib import Path
from typing import Union

import numpy as np

TARGET_SR = 16000


def to_16k_mono(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 at 16 kHz (librosa resampling); ``audio`` is ``[samples]`` or ``[samples, channels]``."""
    import librosa

    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2:
        audio = audio.mean(axis=1)
    if audio.ndim != 1:
        raise ValueError(f'expected a 1-D or [samples, channels] waveform, got shape {audio.shape}')
    if sample_rate != TARGET_SR:
        audio = librosa.resample(audio, orig_sr=sample_rate, target_sr=TARGET_SR)
    return audio.astype(np.float32)


def write_wav_atomic(path: Union[str, os.PathLike], audio: np.ndarray, sample_rate: int = TARGET_SR) -> Path:
    """Writes ``audio`` to ``path`` through a temporary file and ``os.replace``: a killed writer never
    leaves a half-written wav under the final name."""
    import soundfile as sf

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix='.' + path.stem + '.', suffix='.wav.tmp', dir=path.parent)
    os.close(fd)
    try:
        sf.write(tmp, audio, sample_rate, subtype='PCM_16', format='WAV')
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path
