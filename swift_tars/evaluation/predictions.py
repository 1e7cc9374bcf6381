"""The append-only predictions file that makes ``swift-tars eval`` resumable.

One JSON line per (set, question_id, mode), appended and flushed (``fsync``) after every batch. A kill
loses at most the batch in flight; a half-written last line is cut off on the next open, and rows already
present are never run again, so the file never holds a duplicate. The file handling is
:class:`swift_tars.data.jsonl_log.JsonlLog` (strict: a damaged line before the end is an error). When the eval
file changed, :meth:`PredictionStore.rewrite` replaces the file atomically with the records still valid.
"""
import json
import os
from typing import Dict, Iterable, Tuple

from swift_tars.data.jsonl_log import JsonlLog

Key = Tuple[str, str, str]  # (set, question_id, mode)


def record_key(record: dict) -> Key:
    return str(record['set']), str(record['question_id']), str(record['mode'])


class PredictionStore(JsonlLog):
    """Reads the finished records of ``path`` (repairing a torn last line) and appends new ones."""

    def __init__(self, path) -> None:
        super().__init__(path, record_key, strict=True, what='predictions file', writer='swift-tars eval')
        self.load()

    @property
    def records(self) -> Dict[Key, dict]:
        """(set, question_id, mode) -> its record, for every finished record."""
        return self.entries

    def append(self, records: Iterable[dict]) -> None:
        """Appends ``records`` (new keys only) and makes them durable before returning."""
        super().append(records)
        self.close()

    def rewrite(self, records: Iterable[dict]) -> None:
        """Replaces the whole file with ``records`` (written to a temporary file, then renamed over it)."""
        records = list(records)
        self.close()
        tmp = self.path.with_name(self.path.name + '.tmp')
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(''.join(json.dumps(r, ensure_ascii=False) + '\n' for r in records))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self.entries = {record_key(r): r for r in records}
