"""The resumable, parallel build loop shared by every builder.

A builder supplies source :class:`~data_builders.sources.Record` s and two functions: ``prepare``
(main thread, cheap: parse, filter, raise :class:`SkipRow` or ``RowError``) and ``work`` (worker
threads, expensive: audio). Finished rows are appended to ``.<name>.partial.jsonl`` (flushed per row),
so a build killed at any moment and rerun skips what is done and loses nothing
(:class:`swift_tars.data.jsonl_log.JsonlLog`, not strict: it is a cache); wavs are written
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
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Tuple

from data_builders.sources import Record
from swift_tars.data.jsonl_log import JsonlLog
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
    # manifest entries from every finished (row, metadata ``work`` returned) pair, in source order (e.g.
    # data_builders.speak.Speaker.report); rows resumed from a finished output come with empty metadata
    row_report: Callable[[List[Tuple[dict, dict]]], Dict[str, Any]] = field(default=lambda rows_meta: {})


def write_text_atomic(path: Path, text: str) -> None:
    """Writes ``text`` to ``path`` through a temporary file, fsync and ``os.replace``."""
    tmp = path.with_name(f'.{path.name}.tmp.{os.getpid()}')
    with open(tmp, 'w', encoding='utf-8') as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


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


def _partial_key(entry: dict) -> str:
    """The question a ``.partial.jsonl`` entry is about: a finished ``{"row", "meta"}`` or a ``{"skip"}``."""
    return entry[QUESTION_ID] if 'skip' in entry else entry['row'][QUESTION_ID]


def _output_paths(spec: BuildSpec, out: Path) -> Dict[str, Path]:
    return {
        'final': out / f'{spec.name}.jsonl',
        'partial': out / f'.{spec.name}.partial.jsonl',
        'state': out / f'.{spec.name}.state.json',
        'manifest': out / f'{spec.name}.manifest.json',
    }


def _open_partial(paths: Dict[str, Path]) -> JsonlLog:
    """The log of finished rows, read back (torn tail cut off), or started from a finished output on a rerun."""
    partial = JsonlLog(paths['partial'], _partial_key, strict=False, fsync_interval_s=1.0)
    if partial.load() == 0 and paths['final'].exists():
        rows = [json.loads(line) for line in paths['final'].read_text(encoding='utf-8').splitlines() if line]
        partial.append({'row': row, 'meta': {}} for row in rows)
    return partial


class _BuildLoop:
    """One pass over the source: ``prepare`` in this thread, ``work`` in a bounded window of worker threads,
    every outcome appended to the partial log; what was skipped is counted with a few examples."""

    def __init__(self, spec: BuildSpec, partial: JsonlLog):
        self.spec, self.partial = spec, partial
        self.workers = max(1, int(spec.workers))
        self.skipped: collections.Counter = collections.Counter()
        self.examples: List[str] = []
        self.order: List[str] = []  # question ids in source order
        self.seen: Dict[str, str] = {}  # question id -> where it first appeared
        self.window: Deque[Tuple[Task, Future]] = collections.deque()
        self.new_rows = self.records_seen = 0
        self.pool = self.bar = None

    def skip(self, reason: str, message: str) -> None:
        self.skipped[reason] += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f'[{reason}] {message}')

    def fail(self, error: Exception) -> None:
        """Stops the build, keeping what is finished, with a message that says how to go on."""
        for _, future in self.window:
            future.cancel()
        self.pool.shutdown(wait=True, cancel_futures=True)
        self.partial.close()
        kept = (f'the {len(self.partial)} finished row(s) are kept in {self.partial.path}' if len(self.partial)
                else 'no row was finished')
        raise BuildError(f'{error}\nThe build stopped; {kept}. Fix the source, or pass --skip-invalid to count and '
                         'skip such rows, and rerun the same command to resume.') from error

    def _prepare(self, record: Record) -> Optional[Task]:
        """The task of ``record``, or None when it is skipped (counted) or was finished by an earlier run."""
        try:
            if isinstance(record.data, Exception):
                raise record.data
            task = self.spec.prepare(record)
            if task.question_id in self.seen:
                raise RowError(f'{record.where}: duplicate question_id {task.question_id!r} '
                               f'(first at {self.seen[task.question_id]})')
        except SkipRow as s:
            self.skip(s.reason, f'{record.where}: {s.detail}')
            return None
        except RowError as e:
            if not self.spec.skip_invalid:
                self.fail(e)
            self.skip('invalid', str(e))
            return None
        self.seen[task.question_id] = record.where
        self.order.append(task.question_id)
        return None if task.question_id in self.partial else task

    def _drain_one(self) -> None:
        """Waits for the oldest task in the window and logs its row, or its skip; other errors stop the build."""
        task, future = self.window.popleft()
        self.bar.update(1)
        try:
            row, meta = future.result()
        except SkipRow as s:
            self.partial.append([{QUESTION_ID: task.question_id, 'skip': s.reason, 'detail': s.detail}])
            return
        except RowError as e:
            if not self.spec.skip_invalid:
                self.fail(e)
            self.partial.append([{QUESTION_ID: task.question_id, 'skip': 'invalid', 'detail': str(e)}])
            return
        except Exception as e:  # a failure in work (audio, IO, ...): stop, naming the row
            self.fail(RuntimeError(f'{task.where} (question_id={task.question_id!r}): {type(e).__name__}: {e}'))
        self.partial.append([{'row': row, 'meta': meta}])
        self.new_rows += 1

    def run(self) -> None:
        from tqdm import tqdm

        self.pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=f'build-{self.spec.builder}')
        self.bar = tqdm(total=self.spec.total, disable=not self.spec.progress, desc=f'build-data {self.spec.builder}',
                        unit='row', dynamic_ncols=True, mininterval=0.5)
        try:
            for record in self.spec.records:
                self.records_seen += 1
                task = self._prepare(record)
                if task is None:
                    self.bar.update(1)
                    continue
                self.window.append((task, self.pool.submit(self.spec.work, task)))
                while len(self.window) >= 2 * self.workers:
                    self._drain_one()
                self.bar.set_postfix(new=self.new_rows, skipped=sum(self.skipped.values()), refresh=False)
            while self.window:
                self._drain_one()
        finally:
            self.bar.close()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.partial.close()

    def rows_in_order(self) -> List[Tuple[dict, dict]]:
        """(row, meta) of every finished row in source order; work-stage skips are counted on the way."""
        rows_meta, in_order = [], set()
        for qid in self.order:
            entry = self.partial.entries.get(qid)
            if entry is None or qid in in_order:
                continue
            in_order.add(qid)
            if 'skip' in entry:
                self.skip(entry['skip'], f'question_id={qid!r}: {entry.get("detail", "")}')
            else:
                rows_meta.append((entry['row'], entry.get('meta') or {}))
        return rows_meta


def _manifest(spec: BuildSpec, loop: _BuildLoop, rows_meta: List[Tuple[dict, dict]], output: str, resumed: int,
              elapsed: float) -> Dict[str, Any]:
    """``<name>.manifest.json``: settings, counts, skipped examples, audio statistics, the builder's reports."""
    rate = round(loop.new_rows / elapsed, 3) if loop.new_rows and elapsed > 0 else None
    return {
        'builder': spec.builder,
        'output': output,
        'created': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds'),
        'settings': spec.settings,
        'counts': {
            'source_records': loop.records_seen,
            'rows': len(rows_meta),
            'resumed': resumed,
            'new': loop.new_rows,
            'skipped': dict(sorted(loop.skipped.items())),
        },
        'skipped_examples': loop.examples,
        'audio': _audio_stats(_durations(rows_meta)),
        **spec.report(),
        'this_run': {'seconds': round(elapsed, 3), 'new_rows': loop.new_rows, 'rows_per_s': rate,
                     'workers': loop.workers},
        **spec.row_report(rows_meta),
    }


def run_build(spec: BuildSpec, log: Callable[[str], None] = lambda s: print(s, file=sys.stderr, flush=True)
              ) -> BuildResult:
    """Runs one build to completion (or resumes it); see the module docstring."""
    out = Path(spec.out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    paths = _output_paths(spec, out)
    _check_state(spec, paths)
    _remove_scratch(out)
    partial = _open_partial(paths)
    resumed_before = {q for q, e in partial.entries.items() if 'row' in e}
    loop = _BuildLoop(spec, partial)
    t0 = time.monotonic()
    loop.run()
    elapsed = time.monotonic() - t0

    rows_meta = loop.rows_in_order()
    write_text_atomic(paths['final'], ''.join(json.dumps(r, ensure_ascii=False) + '\n' for r, _ in rows_meta))
    resumed = len(resumed_before & {r[QUESTION_ID] for r, _ in rows_meta})
    manifest = _manifest(spec, loop, rows_meta, paths['final'].name, resumed, elapsed)
    write_text_atomic(paths['manifest'], json.dumps(manifest, indent=2, ensure_ascii=False, default=str) + '\n')
    _dataset_card(out)
    if paths['partial'].exists():
        paths['partial'].unlink()
    rate = manifest['this_run']['rows_per_s']
    skipped_text = ', '.join(f'{k} {v}' for k, v in sorted(loop.skipped.items())) or 'none'
    log(f'[build-data {spec.builder}] {len(rows_meta)} rows -> {paths["final"]} '
        f'({resumed} resumed, {loop.new_rows} new; skipped: {skipped_text}); '
        f'audio {manifest["audio"].get("total_hours", 0) * 60:.1f} min; '
        f'{loop.new_rows} rows in {elapsed:.1f} s = {rate if rate is not None else "n/a"} rows/s with '
        f'{loop.workers} worker(s); manifest {paths["manifest"]}')
    return BuildResult(paths['final'], manifest, len(rows_meta), loop.new_rows, rate)
