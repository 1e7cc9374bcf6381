"""Optional ASR quality control of synthesised speech: transcribe, word error rate against the script.

Off by default. The upstream pipeline used faster-whisper "medium" and a jiwer-normalised WER, and
counted a transcript without "option d" as WER 1.0 (the last option was cut off); both are kept here.
Backends: ``faster-whisper`` and ``transformers`` (an ASR pipeline); adding one = one class.
"""
import abc
import re
from typing import Any, Dict, List, Type

_CONTRACTIONS = {"n't": ' not', "'re": ' are', "'s": ' is', "'d": ' would', "'ll": ' will', "'ve": ' have',
                 "'m": ' am'}
_PUNCT = re.compile(r"[^\w\s']+", re.UNICODE)


def normalize_transcript(text: str) -> str:
    """Lower case, common English contractions expanded, punctuation removed, spaces collapsed."""
    text = (text or '').lower().replace('’', "'")
    text = text.replace("won't", 'will not').replace("can't", 'can not')
    for short, full in _CONTRACTIONS.items():
        text = text.replace(short, full)
    text = _PUNCT.sub(' ', text).replace("'", ' ')
    return ' '.join(text.split())


def word_errors(reference: List[str], hypothesis: List[str]) -> int:
    """Word-level Levenshtein distance (substitutions + deletions + insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_word in enumerate(reference, 1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_word in enumerate(hypothesis, 1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word))
        previous = current
    return previous[-1]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """WER of ``hypothesis`` against ``reference`` after :func:`normalize_transcript` (1.0 for an empty
    reference with a non-empty hypothesis, 0.0 when both are empty)."""
    ref, hyp = normalize_transcript(reference).split(), normalize_transcript(hypothesis).split()
    if not ref:
        return 0.0 if not hyp else 1.0
    return word_errors(ref, hyp) / len(ref)


def script_wer(script: str, transcript: str, num_options: int = 4) -> float:
    """WER of a spoken question; 1.0 when the transcript lacks the last ``option X`` (speech cut off)."""
    last = f'option {chr(96 + num_options)}' if num_options else ''
    if last and last in normalize_transcript(script) and last not in normalize_transcript(transcript):
        return 1.0
    return word_error_rate(script, transcript)


class ASRBackend(abc.ABC):
    """One speech recogniser: a 16 kHz wav file in, its transcript out."""
    name = ''

    @abc.abstractmethod
    def transcribe(self, wav_path: str) -> str:
        """The transcript of ``wav_path``."""

    def describe(self) -> Dict[str, Any]:
        return {'backend': self.name}


class FasterWhisperASR(ASRBackend):
    """faster-whisper (``pip install faster-whisper``); ``model`` is a size ("medium") or a local folder."""
    name = 'faster-whisper'

    def __init__(self, model: str = 'medium', device: str = 'auto', compute_type: str = 'default', beam_size: int = 5):
        try:
            from faster_whisper import WhisperModel
        except ImportError as e:
            raise RuntimeError('--asr faster-whisper needs the faster-whisper package (pip install faster-whisper)'
                               ) from e
        self.model_name, self.beam_size = model, beam_size
        self.model = WhisperModel(model, device=device, compute_type=compute_type)

    def transcribe(self, wav_path: str) -> str:
        segments, _ = self.model.transcribe(wav_path, beam_size=self.beam_size, language='en')
        return ''.join(s.text for s in segments)

    def describe(self) -> Dict[str, Any]:
        return {'backend': self.name, 'model': self.model_name, 'beam_size': self.beam_size}


class TransformersASR(ASRBackend):
    """A transformers ``automatic-speech-recognition`` pipeline (e.g. a local Whisper checkpoint)."""
    name = 'transformers'

    def __init__(self, model: str = 'openai/whisper-medium', device: str = 'cpu'):
        from transformers import pipeline

        self.model_name = model
        self.pipe = pipeline('automatic-speech-recognition', model=model, device=device, chunk_length_s=30)

    def transcribe(self, wav_path: str) -> str:
        import soundfile as sf

        audio, sr = sf.read(wav_path, dtype='float32')
        return self.pipe({'raw': audio, 'sampling_rate': sr}, return_timestamps=True)['text']

    def describe(self) -> Dict[str, Any]:
        return {'backend': self.name, 'model': self.model_name}


ASR_BACKENDS: Dict[str, Type[ASRBackend]] = {FasterWhisperASR.name: FasterWhisperASR,
                                             TransformersASR.name: TransformersASR}


def get_asr(name: str, **options) -> ASRBackend:
    """The ASR backend registered as ``name``, constructed with ``options``."""
    if name not in ASR_BACKENDS:
        raise ValueError(f'unknown ASR backend {name!r}; available: {", ".join(sorted(ASR_BACKENDS))}')
    return ASR_BACKENDS[name](**options)
