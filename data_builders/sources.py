"""Reading sources row by row: local jsonl files, local ``save_to_disk`` folders, data files, hub ids.

Every row comes as a :class:`Record` that knows where it came from (file and line, or dataset, split
and row), so errors can name it. Audio columns are read undecoded
(:func:`~swift_tars.data.wavcache.undecoded_audio`: bytes and path), which needs no audio decoder in
``datasets`` and lets the wav cache hash the source bytes.
"""
import json
import os
from pathlib import Path
from typing import Any, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from swift_tars.data.rows import RowError
from swift_tars.data.wavcache import undecoded_audio


class Record(NamedTuple):
    """One source row: ``where`` names it in messages; ``index`` counts rows within ``split`` from 0."""
    where: str
    data: Any
    index: int
    split: Optional[str] = None


def count_lines(path: Path) -> int:
    with open(path, 'rb') as f:
        return sum(1 for line in f if line.strip())


def iter_jsonl(path) -> Iterator[Record]:
    """The non-blank lines of a jsonl file; a malformed line yields a :class:`RowError` as its data."""
    path = Path(path)
    index = 0
    with open(path, encoding='utf-8') as f:
        for line_no, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f'{path} line {line_no}'
            try:
                data = json.loads(line)
            except json.JSONDecodeError as e:
                data = RowError(f'{where}: not valid JSON ({e.msg} at column {e.colno})')
            yield Record(where, data, index)
            index += 1


def is_local(source: str) -> bool:
    return os.path.exists(os.path.expanduser(str(source)))


def load_hf(source: str, *, config: Optional[str] = None, splits: Optional[Sequence[str]] = None
            ) -> List[Tuple[str, Any]]:
    """``[(split, Dataset)]`` from a hub id, a local ``save_to_disk`` folder, a data folder or a data file."""
    path = Path(os.path.expanduser(str(source)))
    if not path.exists() and (str(source).startswith(('/', '.', '~')) or str(source).count('/') != 1):
        raise RowError(f'source {source!r} does not exist (neither a local file or folder nor a hub id owner/name)')
    import datasets

    if path.is_dir() and ((path / 'dataset_dict.json').exists() or (path / 'state.json').exists()):
        loaded = datasets.load_from_disk(str(path))
    elif path.is_file():
        ext = path.suffix.lstrip('.')
        loaded = datasets.load_dataset({'jsonl': 'json'}.get(ext, ext), data_files=str(path))
    elif path.is_dir():
        loaded = datasets.load_dataset(str(path), config)
    else:
        try:
            if splits:
                loaded = {s: datasets.load_dataset(str(source), config, split=s) for s in splits}
            else:
                loaded = datasets.load_dataset(str(source), config)
        except Exception as e:
            raise RowError(f'could not load {source!r} (config {config!r}) from the Hugging Face hub: {e}. '
                           'Without network access, download it elsewhere (`datasets.load_dataset(...)'
                           '.save_to_disk(DIR)`) and pass --source DIR.') from e
    if isinstance(loaded, datasets.Dataset):
        loaded = {'train': loaded}
    names = list(loaded.keys())
    if splits:
        missing = [s for s in splits if s not in loaded]
        if missing:
            raise RowError(f'{source}: split(s) {missing} not found; available: {names}')
        names = list(splits)
    return [(name, undecoded_audio(loaded[name])) for name in names]


def iter_hf(parts: List[Tuple[str, Any]], label: str) -> Iterator[Record]:
    """The rows of each ``(split, Dataset)`` in order."""
    for split, ds in parts:
        for i, row in enumerate(ds):
            yield Record(f'{label} [{split}] row {i}', row, i, split)
