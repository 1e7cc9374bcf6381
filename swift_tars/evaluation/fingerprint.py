"""Content fingerprints that key ``swift-tars eval``'s resuming: of each eval item's prompt, and of the run.

An item's fingerprint hashes exactly what the model is asked (the chat request of that mode, with every
audio file replaced by the SHA-256 of its bytes), so an edited question or re-synthesised audio is
regenerated while a moved data folder or a touched file is not. The gold letter and options only change
the score and are re-checked on every run instead. The run fingerprint hashes the model, adapters and
decoding settings (``run_config.json``), so a stored answer always says which run produced it.
"""
import hashlib
import json
import os
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, Tuple

from swift_tars.data.rows import QUESTION_ID
from swift_tars.evaluation.eval_sets import EvalSet, build_request

WEIGHT_SUFFIXES = ('.safetensors', '.bin', '.pt', '.pth')
CONFIG_FILES = ('config.json', 'adapter_config.json')
_DIGESTS: Dict[Tuple[str, int, int], str] = {}  # (absolute path, size, mtime_ns) -> sha256 of the bytes


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode('utf-8')).hexdigest()[:20]


def file_digest(path: str) -> str:
    """SHA-256 of a file's bytes (cached per path, size and mtime); a URL stands for itself."""
    if '://' in path or not os.path.isfile(path):
        return path
    st = os.stat(path)
    key = (os.path.abspath(path), st.st_size, st.st_mtime_ns)
    if key not in _DIGESTS:
        h = hashlib.sha256()
        with open(path, 'rb') as f:
            for chunk in iter(lambda: f.read(1 << 20), b''):
                h.update(chunk)
        _DIGESTS[key] = h.hexdigest()
    return _DIGESTS[key]


def item_fingerprint(row: dict, mode: str, request_of: Callable[[dict, str], dict] = build_request) -> str:
    """Hash of the ``mode`` request of ``row`` (``request_of``: the task's): messages, and the audio files by
    content (not by path)."""
    request = request_of(row, mode)
    request['audios'] = [file_digest(a) for a in request.get('audios', [])]
    return _sha(request)


def item_fingerprints(sets: Sequence[EvalSet], modes: Sequence[str],
                      request_of: Callable[[dict, str], dict] = build_request) -> Dict[tuple, str]:
    """(set, question_id, mode) -> :func:`item_fingerprint` of every selected row."""
    return {(s.name, str(row[QUESTION_ID]), mode): item_fingerprint(row, mode, request_of)
            for s in sets for row in s.rows for mode in modes}


def weights_signature(path: str) -> Optional[str]:
    """Hash of the names, sizes and mtimes of a local model/adapter's weight and config files (None for a hub
    id), so a checkpoint overwritten in place is a different run."""
    p = Path(path)
    if not p.exists():
        return None
    files = [p] if p.is_file() else sorted(f for f in p.iterdir() if f.is_file() and (
        f.suffix in WEIGHT_SUFFIXES or f.name in CONFIG_FILES))
    return _sha([[f.name, f.stat().st_size, f.stat().st_mtime_ns] for f in files])


def run_fingerprint(identity: dict) -> str:
    """Hash of the run identity (model, adapters, their weights, decoding settings)."""
    return _sha(identity)
