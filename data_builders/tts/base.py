"""The TTS interface: text in, a 16 kHz mono wav file out, plus a description of the voice used."""
import abc
from pathlib import Path
from typing import Any, Dict


class TTSError(RuntimeError):
    """Synthesis failed for one text (the message names the backend and the text)."""


class TTSBackend(abc.ABC):
    """One speech synthesiser. ``speaker`` is an integer the backend maps to a voice deterministically,
    so a rerun of a build gives every row the same voice (speaker diversity without randomness)."""

    name: str = ''

    @abc.abstractmethod
    def synthesize(self, text: str, out_path: Path, speaker: int = 0) -> Dict[str, Any]:
        """Writes a 16 kHz mono wav of ``text`` to ``out_path`` (atomically); returns voice metadata."""

    def describe(self) -> Dict[str, Any]:
        """Backend-level settings for a build manifest."""
        return {'backend': self.name}
