"""The resumable, parallel build loop shared by every builder.

A builder supplies source :class:`~data_builders.sources.Record` s and two functions: ``prepare``
(main thread, cheap: parse, filter, raise :class:`SkipRow` or ``RowError``) and ``work`` (worker
threads, expensive: audio). Finished rows are appended to ``.<name>.partial.jsonl`` (flushed per row),
so a build killed at any moment and rerun skips what is done and loses nothing; wavs are written
atomically under content-derived names, so a wav under its final name is always complete and a
rerun reuses it. On completion the rows are written, in source order, to ``<name>.jsonl``
(atomically) with ``<name>.manifest.json`` and a dataset card that makes ``load_dataset(<out>)`` read
only the jsonl.
"""
import collections
import datetime
import hashlib
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple

from data_builders.sources import Record
from swift_tars.data.rows import AUDIOS, QUESTION_ID, RowError
from swift_tars.data.wavcache import existing_duration

MAX_EXAMPLES = 20  # skipped rows quoted in the manifest


class SkipRow(Exception):
    """A row deliberately left out (too long, contaminated, rejected by ASR): counted, not an error."""

    def __init__(self, reason: str, detail: str = ''):
        super().__init__(f'{reason}: {detail}' if detail else reason)
        self.reason, self.detail = reason, detail


class BuildError(RuntimeError):
    """The build stopped; the message names the row and the file, and says how to go on."""


@dataclass
class Task:
    """One row to produce: ``payload`` is whatever the builder's ``work`` needs."""
    question_id: str
    where: str
    payload: Any = None


@dataclass
class BuildResult:
    path: Path
    manifest: Dict[str, Any]
    rows: int
    new_rows: int
    rows_per_s: Optional[float]


@dataclass
class BuildSpec:
    """What a builder hands to :func:`run_build`."""
    builder: str
    out_dir: Path
    name: str
    settings: Dict[str, Any]
    records: Iterable[Record]
    prepare: Callable[[Record], Task]
    work: Callable[[Task], Tuple[dict, dict]]
    total: Optional[int] = None
    workers: int = 2
    skip_invalid: bool = False
    overwrite: bool = False
    progress: bool = True
    report: Callable[[], Dict[str, Any]] = field(default=lambda: {})


def write_text_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file, fsync and ``os.replace``."""
    tmp = path.with_name(f'.{path.name}.tmp.{os.getpid()}')
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class PartialLog:
    """The append-only log of finished rows (``{"row", "meta"}``) and work-stage skips (``{"skip"}``)."""

    def __init__(self, path: Path):
        self.path = path
        self.entries: Dict[str, dict] = {}
        self._file = None
        self._last_sync = 0.0

    def load(self) -> int:
        """Reads finished entries; a torn last line (killed mid-write) is cut off. Returns the count."""
        if not self.path.exists():
            return 0
        data = self.path.read_bytes()
        good = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b'\n'):
                break
            try:
                entry = json.loads(line)
                qid = entry[QUESTION_ID] if 'skip' in entry else entry['row'][QUESTION_ID]
            except (ValueError, KeyError, TypeError):
                break
            self.entries[qid] = entry
            good += len(line)
        if good != len(data):
            with open(self.path, 'r+b') as f:
                f.truncate(good)
        return len(self.entries)

    def seed(self, rows: List[dict]) -> None:
        """Starts the log from a finished output (a rerun after completion)."""
        for row in rows:
            self.append({'row': row, 'meta': {}})

    def append(self, entry: dict) -> None:
        if self._file is None:
            self._file = open(self.path, 'a', encoding='utf-8')
        self._file.write(json.dumps(entry, ensure_ascii=False) + '\n')
        self._file.flush()  # in the OS after each row: survives the process being killed
        if time.monotonic() - self._last_sync > 1.0:
            os.fsync(self._file.fileno())
            self._last_sync = time.monotonic()
        qid = entry[QUESTION_ID] if 'skip' in entry else entry['row'][QUESTION_ID]
        self.entries[qid] = entry

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None


RUN_ONLY_SETTINGS = ('limit', )  # may change between runs: a --limit run is a prefix of the full build


def _fingerprint(settings: Dict[str, Any]) -> str:
    kept = {k: v for k, v in settings.items() if k not in RUN_ONLY_SETTINGS}
    return hashlib.sha256(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _check_state(spec: BuildSpec, paths: Dict[str, Path]) -> None:
    """Refuses to resume a build made with other settings unless ``overwrite``; then records the settings."""
    state = {'builder': spec.builder, 'fingerprint': _fingerprint(spec.settings), 'settings': spec.settings}
    if spec.overwrite:
        for key in ('final', 'partial', 'manifest'):
            if paths[key].exists():
                paths[key].unlink()
    elif paths['state'].exists():
        old = json.loads(paths['state'].read_text())
        if old.get('fingerprint') != state['fingerprint']:
            changed = sorted(k for k in set(old.get('settings', {})) | set(spec.settings)
                             if old.get('settings', {}).get(k) != spec.settings.get(k) and k not in RUN_ONLY_SETTINGS)
            raise BuildError(f'{paths["final"]} was built with other settings (changed: {", ".join(changed)}); '
                             'pass --overwrite to rebuild it (cached wavs are reused) or choose another --out/--name')
    write_text_atomic(paths['state'], json.dumps(state, indent=2, default=str) + '\n')


def _remove_scratch(out: Path) -> None:
    """Deletes temporary files a killed build left behind (hidden files under ``wav/``, ``.*.tmp.*`` beside
    the outputs); they are never used."""
    scratch = list(out.glob('.*.tmp.*'))
    if (out / 'wav').is_dir():
        scratch += [p for p in (out / 'wav').rglob('.*') if p.is_file()]
    for path in scratch:
        path.unlink(missing_ok=True)


def _dataset_card(out_dir: Path) -> None:
    """A README whose ``configs`` make ``datasets.load_dataset(out_dir)`` (hence ``--dataset out_dir``) read
    the row jsonl files only, never the wavs or manifests beside them."""
    names = sorted(p.name[:-len('.manifest.json')] for p in out_dir.glob('*.manifest.json'))
    names = [n for n in names if (out_dir / f'{n}.jsonl').exists()]
    if not names:
        return
    default = 'train' if 'train' in names else names[0]
    lines = ['---', 'configs:']
    for config in ['default'] + names:
        target = default if config == 'default' else config
        lines += [f'- config_name: {config}', '  data_files:', '  - split: train', f'    path: {target}.jsonl']
    lines += ['---', '', '# swift-tars dataset', '',
              'Rows in the swift-tars row format (see the swift-tars README), 16 kHz mono wavs under `wav/`.',
              f'Files: {", ".join(n + ".jsonl" for n in names)}; build settings and counts in `*.manifest.json`.', '']
    write_text_atomic(out_dir / 'README.md', '\n'.join(lines))


def _durations(rows_meta: List[Tuple[dict, dict]]) -> List[float]:

    out = []
    for row, meta in rows_meta:
        d = meta.get('duration_s')
        if d is None:
            d = existing_duration(row[AUDIOS][0])
        if d is not None:
            out.append(float(d))
    return out


def _audio_stats(durations: List[float]) -> Dict[str, Any]:
    if not durations:
        return {'sample_rate': 16000, 'files': 0}
    return {
        'sample_rate': 16000, 'channels': 1, 'files': len(durations),
        'total_hours': round(sum(durations) / 3600, 4), 'mean_s': round(sum(durations) / len(durations), 3),
        'min_s': round(min(durations), 3), 'max_s': round(max(durations), 3),
        'over_30s': sum(d > 30 for d in durations),
    }


def run_build(spec: BuildSpec, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)
              ) -> BuildResult:
    """Runs one build to completion (or resumes it); see the module docstring."""
    from tqdm import tqdm

    out = Path(spec.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        'final': out / f'{spec.name}.jsonl',
        'partial': out / f'.{spec.name}.partial.jsonl',
        'state': out / f'.{spec.name}.state.json',
        'manifest': out / f'{spec.name}.manifest.json',
    }
    _check_state(spec, paths)
    _remove_scratch(out)
    partial = PartialLog(paths['partial'])
    if partial.load() == 0 and paths['final'].exists():
        partial.seed([json.loads(line) for line in paths['final'].read_text(encoding='utf-8').splitlines() if line])
    resumed_before = {q for q, e in partial.entries.items() if 'row' in e}
    skipped: collections.Counter = collections.Counter()
    examples: List[str] = []
    order: List[str] = []
    seen: Dict[str, str] = {}
    window: collections.deque = collections.deque()
    new_rows, records_seen = 0, 0
    workers = max(1, int(spec.workers))
    t0 = time.monotonic()

    def skip(reason: str, message: str) -> None:
        skipped[reason] += 1
        if len(examples) < MAX_EXAMPLES:
            examples.append(f'[{reason}] {message}')

    def fail(error: Exception) -> None:
        for _, future in window:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
        partial.close()
        kept = (f'the {len(partial.entries)} finished row(s) are kept in {paths["partial"]}' if partial.entries
                else 'no row was finished')
        raise BuildError(f'{error}\nThe build stopped; {kept}. Fix the source, or pass --skip-invalid to count and '
                         'skip such rows, and rerun the same command to resume.') from error

    def drain_one() -> None:
        nonlocal new_rows
        task, future = window.popleft()
        bar.update(1)
        try:
            row, meta = future.result()
        except SkipRow as s:
            partial.append({QUESTION_ID: task.question_id, 'skip': s.reason, 'detail': s.detail})
            return
        except RowError as e:
            if not spec.skip_invalid:
                fail(e)
            partial.append({QUESTION_ID: task.question_id, 'skip': 'invalid', 'detail': str(e)})
            return
        except Exception as e:  # TTS/ASR/IO failure: stop, naming the row
            fail(RuntimeError(f'{task.where} (question_id={task.question_id!r}): {type(e).__name__}: {e}'))
        partial.append({'row': row, 'meta': meta})
        new_rows += 1

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f'build-{spec.builder}')
    bar = tqdm(total=spec.total, disable=not spec.progress, desc=f'build-data {spec.builder}', unit='row',
               dynamic_ncols=True, mininterval=0.5)
    try:
        for record in spec.records:
            records_seen += 1
            try:
                if isinstance(record.data, Exception):
                    raise record.data
                task = spec.prepare(record)
                if task.question_id in seen:
                    raise RowError(f'{record.where}: duplicate question_id {task.question_id!r} '
                                   f'(first at {seen[task.question_id]})')
            except SkipRow as s:
                skip(s.reason, f'{record.where}: {s.detail}')
                bar.update(1)
                continue
            except RowError as e:
                if not spec.skip_invalid:
                    fail(e)
                skip('invalid', str(e))
                bar.update(1)
                continue
            seen[task.question_id] = record.where
            order.append(task.question_id)
            if task.question_id in partial.entries:  # finished by an earlier run
                bar.update(1)
                continue
            window.append((task, pool.submit(spec.work, task)))
            while len(window) >= 2 * workers:
                drain_one()
            bar.set_postfix(new=new_rows, skipped=sum(skipped.values()), refresh=False)
        while window:
            drain_one()
    finally:
        bar.close()
        pool.shutdown(wait=True, cancel_futures=True)
        partial.close()
    elapsed = time.monotonic() - t0

    rows_meta, in_order = [], set()
    for qid in order:
        entry = partial.entries.get(qid)
        if entry is None or qid in in_order:
            continue
        in_order.add(qid)
        if 'skip' in entry:
            skip(entry['skip'], f'question_id={qid!r}: {entry.get("detail", "")}')
        else:
            rows_meta.append((entry['row'], entry.get('meta') or {}))
    write_text_atomic(paths['final'], ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r, _ in rows_meta))
    voices = collections.Counter(str(m['voice']) for _, m in rows_meta if m.get('voice'))
    wers = [m['wer'] for _, m in rows_meta if m.get('wer') is not None]
    rate = round(new_rows / elapsed, 3) if new_rows and elapsed > 0 else None
    manifest = {
        'builder': spec.builder,
        'output': paths['final'].name,
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'settings': spec.settings,
        'counts': {
            'source_records': records_seen,
            'rows': len(rows_meta),
            'resumed': len(resumed_before & {r[QUESTION_ID] for r, _ in rows_meta}),
            'new': new_rows,
            'skipped': dict(sorted(skipped.items())),
        },
        'skipped_examples': examples,
        'audio': _audio_stats(_durations(rows_meta)),
        **spec.report(),
        'this_run': {'seconds': round(elapsed, 3), 'new_rows': new_rows, 'rows_per_s': rate, 'workers': workers},
    }
    if voices:
        manifest['voices'] = {'distinct': len(voices), 'most_common': voices.most_common(10)}
    if wers:
        manifest['asr_wer'] = {'mean': round(sum(wers) / len(wers), 4), 'max': round(max(wers), 4)}
    write_text_atomic(paths['manifest'], json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + '\n')
    _dataset_card(out)
    if paths['partial'].exists():
        paths['partial'].unlink()
    skipped_text = ', '.join(f'{k} {v}' for k, v in sorted(skipped.items())) or 'none'
    log(f'[build-data {spec.builder}] {len(rows_meta)} rows -> {paths["final"]} '
        f'({manifest["counts"]["resumed"]} resumed, {new_rows} new; skipped: {skipped_text}); '
        f'audio {manifest["audio"].get("total_hours", 0) * 60:.1f} min; '
        f'{new_rows} rows in {elapsed:.1f} s = {rate if rate is not None else "n/a"} rows/s with {workers} worker(s); '
        f'manifest {paths["manifest"]}')
    return BuildResult(paths['final'], manifest, len(rows_meta), new_rows, rate)
