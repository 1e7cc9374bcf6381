"""Pieces every builder shares: the system prompt option, opening a source, running the build spec."""
import itertools
from pathlib import Path
from typing import Callable, Iterator, Optional, Sequence, Tuple

from data_builders.pipeline import Task, run_build
from data_builders.sources import Record, count_lines, is_local, iter_hf, iter_jsonl, load_hf
from swift_tars.data.wavcache import store_audio


def resolve_system(args) -> Optional[str]:
    """``--system`` text or ``--system-file`` contents; None means the TARS think prompt."""
    if getattr(args, 'system_file', None):
        return Path(args.system_file).read_text(encoding='utf-8').rstrip('\n')
    return getattr(args, 'system', None)


def read_source(source: str, *, config: Optional[str] = None, splits: Optional[Sequence[str]] = None,
                limit: Optional[int] = None) -> Tuple[Iterator[Record], Optional[int], bool]:
    """(records, their number, whether ``source`` is local) for a jsonl file, a data file or folder, a
    ``save_to_disk`` folder or a hub id; ``limit`` keeps the first rows only."""
    local = is_local(source)
    path = Path(source).expanduser()
    if local and path.is_file() and path.suffix in ('.jsonl', '.json'):
        records, total = iter_jsonl(path), count_lines(path)
    else:
        parts = load_hf(str(source), config=config, splits=splits)
        records, total = iter_hf(parts, str(source)), sum(len(ds) for _, ds in parts)
    if limit:
        records, total = itertools.islice(records, limit), min(total, limit)
    return records, total, local


def finish_spec(spec, args, log=None):
    """Applies the common options (workers, skip-invalid, overwrite, progress) and runs the build."""

    spec.workers = args.workers
    spec.skip_invalid = args.skip_invalid
    spec.overwrite = args.overwrite
    spec.progress = not args.no_progress
    return run_build(spec, log) if log else run_build(spec)


def wav_row_work(wav_dir: Path, base_dir: Optional[Path], make_row: Callable[..., dict],
                 validate: Callable[[dict, str], object]) -> Callable[[Task], tuple]:
    """The ``work`` of a build whose tasks carry ``(fields, audio)``: the audio becomes a content-addressed 16 kHz
    wav under ``wav_dir``, the row ``make_row(audio=path, **fields)`` is validated; returns (row, its duration)."""
    def work(task: Task):
        fields, audio = task.payload
        path, duration = store_audio(audio, wav_dir, where=f'{task.where} (question_id={task.question_id!r})',
                                     base_dir=base_dir)
        row = make_row(audio=path, **fields)
        validate(row, task.where)
        return row, {'duration_s': duration}

    return work
