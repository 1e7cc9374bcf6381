"""The append-only predictions file that makes ``swift-tars eval`` resumable.

One JSON line per (set, question_id, mode), appended and flushed (``fsync``) after every batch. A kill
loses at most the batch in flight; a half-written last line is cut off on the next open, and rows already
present are never run again, so the file never holds a duplicate.
"""
import json
import os
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

Key = Tuple[str, str, str]  # (set, question_id, mode)


def record_key(record: dict) -> Key:
    return str(record['set']), str(record['question_id']), str(record['mode'])


class PredictionStore:
    """Reads the finished records of ``path`` (repairing a torn last line) and appends new ones."""

    def __init__(self, path) -> None:
        self.path = Path(path)
        self.records: Dict[Key, dict] = {}
        self.repaired_bytes = 0
        if self.path.exists():
            self._load()

    def _load(self) -> None:
        data = self.path.read_bytes()
        good_end = 0  # byte offset just after the last complete, valid line
        offset = 0
        for raw in data.splitlines(keepends=True):
            offset += len(raw)
            if not raw.endswith(b'\n'):
                break  # torn write: no newline yet
            if not raw.strip():
                good_end = offset
                continue
            try:
                record = json.loads(raw)
            except json.JSONDecodeError:
                if offset == len(data):
                    break  # a torn last line that happens to end in a newline
                raise ValueError(f'{self.path}: line at byte {offset - len(raw)} is not valid JSON; '
                                 'the predictions file is damaged (move it away to start over)') from None
            key = record_key(record)
            if key in self.records:
                raise ValueError(f'{self.path} holds {key} twice; the file was not written by swift-tars eval')
            self.records[key] = record
            good_end = offset
        if good_end < len(data):
            self.repaired_bytes = len(data) - good_end
            with open(self.path, 'r+b') as f:
                f.truncate(good_end)

    def __contains__(self, key: Key) -> bool:
        return key in self.records

    def __len__(self) -> int:
        return len(self.records)

    def append(self, records: Iterable[dict]) -> None:
        """Appends ``records`` (new keys only) and makes them durable before returning."""
        records = list(records)
        lines: List[str] = []
        for record in records:
            key = record_key(record)
            if key in self.records:
                raise ValueError(f'{key} is already in {self.path}')
            lines.append(json.dumps(record, ensure_ascii=False) + '\n')
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, 'a', encoding='utf-8') as f:
            f.write(''.join(lines))
            f.flush()
            os.fsync(f.fileno())
        for record in records:
            self.records[record_key(record)] = record
