"""Text-to-speech backends behind one small interface (:class:`TTSBackend`); adding one = one class.

``get_backend(name, **options)`` builds a backend by its registered name.
"""
from typing import Dict, Type

from data_builders.tts.base import ScriptError, TTSBackend, TTSError
from data_builders.tts.cosyvoice import CosyVoiceBackend
from data_builders.tts.espeak import EspeakBackend

BACKENDS: Dict[str, Type[TTSBackend]] = {EspeakBackend.name: EspeakBackend, CosyVoiceBackend.name: CosyVoiceBackend}


def get_backend(name: str, **options) -> TTSBackend:
    """The backend registered as ``name``, constructed with ``options``."""
    if name not in BACKENDS:
        raise ValueError(f'unknown TTS backend {name!r}; available: {", ".join(sorted(BACKENDS))}')
    return BACKENDS[name](**options)


__all__ = ['BACKENDS', 'ScriptError', 'TTSBackend', 'TTSError', 'get_backend']
