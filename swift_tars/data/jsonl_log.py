"""The append-only JSON-lines file that makes long jobs resumable: ``swift-tars eval``'s predictions and
``swift-tars build-data``'s finished rows.

One JSON object per line, each under a key (``key(entry)``). Lines are appended and flushed as they finish, so
a job killed at any moment loses at most the line being written: on the next open that torn last line (no
newline yet) is cut off the file before anything is appended, and the entries already there are not redone.
"""
import json
import os
import time
from pathlib import Path
from typing import Callable, Dict, Hashable, Iterable, List, Optional, Tuple

Key = Hashable


class JsonlLog:
    """Reads the finished entries of ``path`` (repairing a torn tail) and appends new ones.

    ``strict`` (results worth keeping): a bad line before the last one, or a key read twice, is an error that
    names the file as damaged. Not strict (a cache of work that can be redone): reading stops at the first bad
    line, which is cut off with everything after it, and a key read twice keeps its last entry.
    ``fsync_interval_s``: appends reach the OS at once and the disk (``fsync``) at most this often; 0 = always.
    """

    def __init__(self, path, key: Callable[[dict], Key], *, strict: bool = True, fsync_interval_s: float = 0.0,
                 what: str = 'file', writer: str = 'swift-tars'):
        self.path = Path(path)
        self.key = key
        self.strict, self.fsync_interval_s = strict, fsync_interval_s
        self.what, self.writer = what, writer
        self.entries: Dict[Key, dict] = {}
        self.repaired_bytes = 0  # cut off the end of the file by load()
        self._file = None
        self._last_sync = float('-inf')
        self._unsynced = False

    def __contains__(self, key: Key) -> bool:
        return key in self.entries

    def __len__(self) -> int:
        return len(self.entries)

    def _read_line(self, raw: bytes) -> Tuple[Optional[dict], str]:
        """(the entry of one complete line, '') or (None, what is wrong with it)."""
        try:
            entry = json.loads(raw)
        except ValueError:
            return None, 'is not valid JSON'
        try:
            self.key(entry)
        except (KeyError, TypeError) as e:
            return None, f'is not an entry of this file (no key: {type(e).__name__}: {e})'
        return entry, ''

    def load(self) -> int:
        """Reads the finished entries and cuts a torn tail off the file; returns how many entries there are."""
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        good_end = offset = 0  # byte offset just after the last complete, valid line
        for raw in data.splitlines(keepends=True):
            offset += len(raw)
            if not raw.endswith(b'\n'):
                break  # torn write: no newline yet
            if raw.strip():
                entry, problem = self._read_line(raw)
                if entry is None:
                    if self.strict and offset < len(data):
                        raise ValueError(f'{self.path}: line at byte {offset - len(raw)} {problem}; the '
                                         f'{self.what} is damaged (move it away to start over)')
                    break  # a torn last line that happens to end in a newline, or (not strict) a bad line
                self._add_read(entry)
            good_end = offset
        if good_end < len(data):
            self.repaired_bytes = len(data) - good_end
            with open(self.path, 'r+b') as f:
                f.truncate(good_end)
        return len(self.entries)

    def _add_read(self, entry: dict) -> None:
        key = self.key(entry)
        if self.strict and key in self.entries:
            raise ValueError(f'{self.path} holds {key} twice; the file was not written by {self.writer}')
        self.entries[key] = entry

    def append(self, entries: Iterable[dict]) -> None:
        """Appends ``entries`` (new keys only) in one write, flushed to the OS before returning."""
        entries = list(entries)
        lines: List[str] = []
        keys = set()
        for entry in entries:
            key = self.key(entry)
            if key in self.entries or key in keys:
                raise ValueError(f'{key} is already in {self.path}')
            keys.add(key)
            lines.append(json.dumps(entry, ensure_ascii=False) + '\n')
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._file = open(self.path, 'a', encoding='utf-8')
        self._file.write(''.join(lines))
        self._file.flush()  # in the OS: survives the process being killed
        self._unsynced = True
        if time.monotonic() - self._last_sync >= self.fsync_interval_s:
            self._sync()
        for entry in entries:
            self.entries[self.key(entry)] = entry

    def _sync(self) -> None:
        os.fsync(self._file.fileno())  # on the disk: survives the machine going down
        self._last_sync = time.monotonic()
        self._unsynced = False

    def close(self) -> None:
        """Makes everything appended durable and closes the file (the next append reopens it)."""
        if self._file is not None:
            self._file.flush()
            if self._unsynced:
                self._sync()
            self._file.close()
            self._file = None
