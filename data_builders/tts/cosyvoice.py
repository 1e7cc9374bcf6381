"""CosyVoice2 zero-shot TTS (as upstream, docs/method.md §2.2 step 4): through its Python package or a server.

Speaker prompts: a folder of short reference clips (``*.wav``/``*.flac``/``*.mp3``, ≤ 5 s is best), each
with its transcript in a ``.txt`` file of the same name beside it; speaker ``i`` uses clip
``i mod n`` of the sorted list, so a rerun gives every row the same voice.

* Package: ``cosyvoice.cli.cosyvoice.CosyVoice2(model_dir)`` when the ``cosyvoice`` package is
  importable (it is not on PyPI: install the CosyVoice repository) and ``model_dir`` is given.
* Server: ``server_url`` of CosyVoice's FastAPI server (``runtime/python/fastapi/server.py``): POST
  ``/inference_zero_shot`` with form fields ``tts_text``, ``prompt_text`` and file ``prompt_wav``;
  the reply is a wav, or raw 16-bit PCM at ``server_sample_rate`` (that server's default).
"""
import collections
import io
import threading
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Tuple

import numpy as np

from data_builders.tts.base import TTSBackend, TTSError
from swift_tars.data.audio import to_16k_mono, write_wav_atomic

CLIP_SUFFIXES = ('.wav', '.flac', '.mp3', '.ogg')
# CosyVoice2's languages: Chinese (Mandarin and dialects), English, Japanese, Korean; every voice speaks them all
SCRIPTS = frozenset({'Han', 'Latin', 'Hiragana', 'Katakana', 'Hangul'})


def load_prompts(prompts_dir) -> List[Tuple[Path, str]]:
    """Sorted ``(clip, transcript)`` pairs of a speaker-prompt folder; a clear error if unusable."""
    if not prompts_dir:
        raise TTSError('cosyvoice: zero-shot synthesis needs --speaker-prompts DIR, a folder of short reference '
                       'clips with a .txt transcript beside each')
    folder = Path(prompts_dir).expanduser()
    if not folder.is_dir():
        raise TTSError(f'cosyvoice: speaker-prompt folder {folder} does not exist')
    clips = sorted(p for p in folder.iterdir() if p.suffix.lower() in CLIP_SUFFIXES)
    if not clips:
        raise TTSError(f'cosyvoice: no reference clips ({", ".join(CLIP_SUFFIXES)}) in {folder}')
    prompts = []
    for clip in clips:
        transcript = clip.with_suffix('.txt')
        if not transcript.is_file():
            raise TTSError(f'cosyvoice: reference clip {clip} has no transcript {transcript.name} beside it')
        text = transcript.read_text(encoding='utf-8').strip()
        if not text:
            raise TTSError(f'cosyvoice: transcript {transcript} is empty')
        prompts.append((clip.resolve(), text))
    return prompts


def _package_available() -> bool:
    import importlib.util

    try:
        return importlib.util.find_spec('cosyvoice') is not None
    except (ImportError, ValueError):
        return False


class CosyVoiceBackend(TTSBackend):
    """CosyVoice2 zero-shot voice cloning from a folder of reference clips (see the module docstring)."""
    name = 'cosyvoice'
    stochastic = True  # sampling: a retry of the same text and speaker gives another take

    def __init__(self, prompts_dir: Optional[str] = None, model_dir: Optional[str] = None,
                 server_url: Optional[str] = None, server_sample_rate: int = 24000, speed: float = 1.0,
                 seed: int = 0, timeout: float = 600.0):
        if not server_url and not model_dir:
            where = ('the cosyvoice package is installed, so pass --cosyvoice-model DIR (e.g. '
                     'pretrained_models/CosyVoice2-0.5B)' if _package_available() else
                     'the cosyvoice package is not installed (install the CosyVoice repository, '
                     'https://github.com/FunAudioLLM/CosyVoice, and pass --cosyvoice-model DIR)')
            raise TTSError(f'cosyvoice needs a model or a server: pass --cosyvoice-url URL of a running CosyVoice '
                           f'server, or use the Python package; {where}')
        if model_dir and not server_url and not _package_available():
            raise TTSError('cosyvoice: --cosyvoice-model was given but the cosyvoice package is not importable; '
                           'install the CosyVoice repository (https://github.com/FunAudioLLM/CosyVoice) or pass '
                           '--cosyvoice-url URL of a running server')
        self.prompts = load_prompts(prompts_dir)
        self.prompts_dir = str(Path(prompts_dir).expanduser().resolve())
        self.model_dir, self.server_url = model_dir, server_url.rstrip('/') if server_url else None
        self.server_sample_rate, self.speed = int(server_sample_rate), float(speed)
        self.seed, self.timeout = int(seed), float(timeout)
        self._model = None
        self._lock = threading.Lock()
        self._calls: collections.Counter = collections.Counter()

    def prompt_for(self, speaker: int) -> Tuple[Path, str]:
        return self.prompts[abs(int(speaker)) % len(self.prompts)]

    def voice_for(self, speaker: int, text: str = '') -> Dict[str, Any]:
        return {'voice': self.prompt_for(speaker)[0].name}

    def reads(self, voice: Dict[str, Any]) -> FrozenSet[str]:
        return SCRIPTS

    def fix_for(self, scripts: Iterable[str]) -> str:
        return (f'CosyVoice2 speaks Chinese, English, Japanese and Korean, not {"+".join(sorted(scripts))}: use '
                '--tts espeak --language auto (an espeak-ng voice per row)')

    def synthesize(self, text: str, out_path: Path, speaker: int = 0) -> Dict[str, Any]:
        if not text or not text.strip():
            raise TTSError('cosyvoice: refusing to synthesise an empty text')
        clip, prompt_text = self.prompt_for(speaker)
        with self._lock:
            self._calls[(speaker, text)] += 1
            take = self._calls[(speaker, text)]
        if self.server_url:
            audio, sr = self._from_server(text, clip, prompt_text)
        else:
            audio, sr = self._from_package(text, clip, prompt_text, seed=self.seed + 1000 * (take - 1) + speaker % 1000)
        if audio.size == 0:
            raise TTSError(f'cosyvoice returned no audio for {text[:60]!r}')
        audio = to_16k_mono(audio, sr)
        write_wav_atomic(out_path, audio)
        return {'voice': clip.name, 'take': take, 'duration_s': round(len(audio) / 16000, 3)}

    def _endpoint(self) -> str:
        return self.server_url if self.server_url.endswith('/inference_zero_shot') else \
            self.server_url + '/inference_zero_shot'

    def _from_server(self, text: str, clip: Path, prompt_text: str) -> Tuple[np.ndarray, int]:
        import requests
        import soundfile as sf

        url = self._endpoint()
        try:
            with open(clip, 'rb') as f:
                reply = requests.post(url, data={'tts_text': text, 'prompt_text': prompt_text},
                                      files={'prompt_wav': (clip.name, f, 'application/octet-stream')},
                                      timeout=self.timeout)
        except requests.RequestException as e:
            raise TTSError(f'cosyvoice server {url} unreachable: {e}') from e
        if reply.status_code != 200:
            raise TTSError(f'cosyvoice server {url} answered HTTP {reply.status_code}: {reply.text[:200]!r}')
        body = reply.content
        if body[:4] in (b'RIFF', b'fLaC', b'OggS'):
            audio, sr = sf.read(io.BytesIO(body), dtype='float32')
            return audio, sr
        if len(body) % 2:
            raise TTSError(f'cosyvoice server {url} sent {len(body)} bytes: neither a wav nor 16-bit PCM')
        return np.frombuffer(body, dtype='<i2').astype(np.float32) / 32768.0, self.server_sample_rate

    def _from_package(self, text: str, clip: Path, prompt_text: str, seed: int) -> Tuple[np.ndarray, int]:
        import torch

        with self._lock:  # one model, not thread-safe: serialise inference
            if self._model is None:
                from cosyvoice.cli.cosyvoice import CosyVoice2

                self._model = CosyVoice2(self.model_dir, load_jit=False, load_trt=False, fp16=False)
            try:
                from cosyvoice.utils.file_utils import load_wav
                prompt = load_wav(str(clip), 16000)
            except ImportError:  # newer releases take the clip path directly
                prompt = str(clip)
            try:
                from cosyvoice.utils.common import set_all_random_seed
                set_all_random_seed(seed)
            except ImportError:
                torch.manual_seed(seed)
            chunks = [out['tts_speech'] for out in
                      self._model.inference_zero_shot(text, prompt_text, prompt, stream=False, speed=self.speed)]
        if not chunks:
            return np.zeros(0, dtype=np.float32), 16000
        audio = torch.cat(chunks, dim=-1).squeeze(0).float().cpu().numpy()
        return audio, int(self._model.sample_rate)

    def describe(self) -> Dict[str, Any]:
        return {'backend': self.name, 'mode': 'server' if self.server_url else 'package',
                'model_dir': self.model_dir, 'server_url': self.server_url, 'prompts_dir': self.prompts_dir,
                'prompts': len(self.prompts), 'speed': self.speed, 'seed': self.seed}
