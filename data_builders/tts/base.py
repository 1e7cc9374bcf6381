"""The TTS interface: text in, a 16 kHz mono wav file out, plus a description of the voice used."""
import abc
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, Optional


class TTSError(RuntimeError):
    """Synthesis failed for one text (the message names the backend and the text)."""


class ScriptError(TTSError):
    """Rows in a script their voice cannot read (the message lists them and says how to fix it)."""


class TTSBackend(abc.ABC):
    """One speech synthesiser. ``speaker`` is an integer the backend maps to a voice deterministically,
    so a rerun of a build gives every row the same voice (speaker diversity without randomness)."""

    name: str = ''

    @abc.abstractmethod
    def synthesize(self, text: str, out_path: Path, speaker: int = 0) -> Dict[str, Any]:
        """Writes a 16 kHz mono wav of ``text`` to ``out_path`` (atomically); returns voice metadata."""

    def voice_for(self, speaker: int, text: str = '') -> Dict[str, Any]:
        """The voice that speaks ``text`` as speaker ``speaker`` (``{'voice': …}`` and its settings)."""
        return {'speaker': speaker}

    def reads(self, voice: Dict[str, Any]) -> Optional[FrozenSet[str]]:
        """The Unicode scripts ``voice`` reads (``{'Latin', 'Han'}``); None: unknown, rows are not checked."""
        return None

    def fix_for(self, scripts: Iterable[str]) -> str:
        """How to get texts in ``scripts`` spoken (the end of a :class:`ScriptError`)."""
        return f'use a TTS backend that reads {"+".join(sorted(scripts))}'

    def describe(self) -> Dict[str, Any]:
        """Backend-level settings for a build manifest."""
        return {'backend': self.name}
