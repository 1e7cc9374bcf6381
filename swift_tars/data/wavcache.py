"""Content-addressed 16 kHz wav cache: any audio value (HF ``Audio`` dict, array, file path) -> one wav file.

The file name is a hash of the source audio, so converting the same audio twice (a rerun, a second
worker, a second dataset) finds the existing file instead of writing a duplicate. Files are written
atomically, so a file under its final name is always complete. Audio columns of ``datasets`` are read
undecoded (:func:`undecoded_audio`: bytes and path), which needs no audio decoder and lets the cache hash the
source bytes.
"""
import hashlib
import io
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Iterable, Optional, Tuple, Union

import numpy as np

from swift_tars.data.audio import TARGET_SR, to_16k_mono, write_wav_atomic
from swift_tars.data.rows import RowError, check_audio_file

PathLike = Union[str, os.PathLike]


def cache_path(wav_dir: PathLike, digest: str) -> Path:
    """``wav_dir/ab/abcdef….wav`` (256 sub-folders keep directories small for 100k files)."""
    return Path(wav_dir) / digest[:2] / f'{digest}.wav'


def text_digest(*parts: Any) -> str:
    """A 32-hex-digit digest of ``parts`` (used to name synthesised wavs after their inputs)."""
    h = hashlib.sha256()
    for part in parts:
        h.update(repr(part).encode('utf-8'))
        h.update(b'\0')
    return h.hexdigest()[:32]


def existing_duration(path: PathLike) -> Optional[float]:
    """Duration of a complete 16 kHz mono wav at ``path``, or None if it is absent or not such a file (the
    check of :func:`~swift_tars.data.rows.check_audio_file`)."""
    try:
        return check_audio_file(str(path), sample_rate=TARGET_SR)
    except RowError:  # absent, unreadable, empty, not mono or another rate: not cached
        return None


def undecoded_audio(dataset, columns: Optional[Iterable[str]] = None):
    """``dataset`` (a ``datasets`` Dataset) with its decoding ``Audio`` columns (those named in ``columns``, or
    all) cast to ``Audio(decode=False)``: each value is ``{'bytes', 'path'}``, ready for :func:`store_audio`."""
    from datasets import Audio

    features = dataset.features or {}
    for name in list(features) if columns is None else columns:
        feature = features.get(name)
        if isinstance(feature, Audio) and feature.decode:
            dataset = dataset.cast_column(name, Audio(decode=False))
    return dataset


def _source(value: Any, where: str, base_dir: Optional[PathLike]) -> Tuple[str, Any]:
    """('array', (samples, sr)) or ('bytes', encoded file bytes) for one audio value."""
    if isinstance(value, (list, tuple)) and len(value) == 1:
        value = value[0]
    if value is None:
        raise RowError(f'{where}: the row has no audio')
    if isinstance(value, Mapping) and value.get('array') is not None:
        sr = value.get('sampling_rate')
        if not sr:
            raise RowError(f'{where}: audio array without a sampling_rate')
        return 'array', (np.asarray(value['array'], dtype=np.float32), int(sr))
    if isinstance(value, Mapping):
        if value.get('bytes'):
            return 'bytes', bytes(value['bytes'])
        value = value.get('path')
        if not value:
            raise RowError(f'{where}: the audio value has neither bytes, an array nor a path')
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        if not path.is_absolute() and base_dir is not None:
            path = Path(base_dir) / path
        try:
            return 'bytes', path.read_bytes()
        except FileNotFoundError:
            raise RowError(f'{where}: audio file not found: {path}') from None
        except OSError as e:
            raise RowError(f'{where}: audio file {path} cannot be read ({e})') from e
    raise RowError(f'{where}: unsupported audio value of type {type(value).__name__}')


def _decode(data: bytes, where: str) -> Tuple[np.ndarray, int]:
    """Decodes an encoded audio file (wav/flac/ogg/mp3 via libsndfile, else librosa's fallbacks)."""
    import soundfile as sf

    try:
        audio, sr = sf.read(io.BytesIO(data), dtype='float32', always_2d=False)
        return audio, sr
    except Exception as first:  # not a libsndfile format: try librosa (audioread / PyAV) on a temp file
        import tempfile

        import librosa

        fd, tmp = tempfile.mkstemp(suffix='.audio')
        try:
            with os.fdopen(fd, 'wb') as f:
                f.write(data)
            with warnings.catch_warnings():  # librosa warns when it falls back from soundfile to audioread
                warnings.simplefilter('ignore')
                audio, sr = librosa.load(tmp, sr=None, mono=True)
            return audio, int(sr)
        except Exception:
            raise RowError(f'{where}: unreadable audio ({len(data)} bytes; {first})') from first
        finally:
            os.unlink(tmp)


def store_audio(value: Any, wav_dir: PathLike, *, where: str = '', base_dir: Optional[PathLike] = None
                ) -> Tuple[str, float]:
    """Converts ``value`` to a 16 kHz mono wav under ``wav_dir``; returns (absolute path, duration in s).

    ``value``: an HF ``Audio`` value (``{'bytes', 'path'}`` undecoded or ``{'array', 'sampling_rate'}``
    decoded) or a file path (relative paths resolve against ``base_dir``). Reuses the cached file when
    the same audio was converted before. Raises :class:`RowError` naming ``where`` for missing,
    unreadable or empty audio.
    """
    kind, src = _source(value, where, base_dir)
    h = hashlib.sha256()
    if kind == 'array':
        samples, sr = src
        h.update(f'array:{sr}:{samples.shape}:'.encode())
        h.update(np.ascontiguousarray(samples).tobytes())
    else:
        h.update(src)
    path = cache_path(wav_dir, h.hexdigest()[:32]).resolve()
    duration = existing_duration(path)
    if duration is not None:
        return str(path), duration
    samples, sr = src if kind == 'array' else _decode(src, where)
    if samples.size == 0:
        raise RowError(f'{where}: the audio is empty')
    try:
        samples = to_16k_mono(samples, sr)
    except ValueError as e:
        raise RowError(f'{where}: {e}') from e
    write_wav_atomic(path, samples)
    return str(path), len(samples) / TARGET_SR
