"""Dataset checks before the first generation: every row of every dataset, all problems reported at once.

Training (the plugin's hook on ``swift rlhf``'s dataset loading, :func:`swift_tars.data.datasets.install_row_checks`)
and ``swift-tars check-args`` check local row-format files *before* ms-swift reads them, and the loaded rows of
registered or hub datasets right after. Checked: an empty file, a line that is not JSON (named by its line
number), every row's :func:`~swift_tars.data.rows.row_problems` (missing or unreadable audio — a header read,
no decoding —, no ``text_query``, missing or out-of-range gold, option count against ``text_query``, …) and a
``question_id`` reused by a different question (pairing would mix their references).

Problems are collected, not raised one by one: one :class:`InvalidRowsError` lists them (file, line,
question_id, what is wrong and how to fix it; the first :data:`MAX_LISTED`, then a count), or with
``TARS_SKIP_INVALID=1`` the bad rows are dropped, logged and counted (:func:`skipped_summary`, which the trainer
writes into ``tars_config.json``). Pure Python plus ``soundfile``; no ms-swift.
"""
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from swift_tars.data.rows import ANSWER_INDEX, OPTIONS, QUESTION_ID, SOLUTION, TEXT_QUERY, RowError, row_problems

MAX_LISTED = 20  # problems listed in one error; the rest are counted
ROW_FILE_TYPES = ('.jsonl', '.json')
SKIP_HINT = 'or set TARS_SKIP_INVALID=1 to drop and count the bad rows'
logger = logging.getLogger('swift_tars')

# what TARS_SKIP_INVALID=1 dropped in this process, per source: written into tars_config.json by the trainer
_SKIPPED: Dict[str, int] = {}


@dataclass(frozen=True)
class RowProblem:
    """One problem: where (``source`` file or dataset, 1-based ``line`` or None) and what (``what``: the problem
    and its fix)."""
    source: str
    line: Optional[int]
    question_id: Any
    what: str

    def render(self) -> str:
        where = self.source if self.line is None else f'{self.source} line {self.line}'
        qid = '' if self.question_id in (None, '') else f' (question_id={self.question_id!r})'
        return f'{where}{qid}: {self.what}'


class InvalidRowsError(RowError):
    """Invalid dataset rows: the message lists them (capped at :data:`MAX_LISTED`, then a count)."""

    def __init__(self, problems: Sequence[RowProblem], rows_checked: int):
        self.problems = list(problems)
        super().__init__(render_problems(self.problems, rows_checked))


def render_problems(problems: Sequence[RowProblem], rows_checked: int, cap: int = MAX_LISTED) -> str:
    """The text of :class:`InvalidRowsError`: a heading with the counts, one ``  - `` line per problem."""
    bad = len({(p.source, p.line) for p in problems})
    lines = [f'swift-tars: {bad} invalid dataset row(s) or file(s) among {rows_checked} row(s) checked; nothing was '
             f'generated. Fix each one as its line says, {SKIP_HINT}:']
    lines += ['  - ' + p.render() for p in problems[:cap]]
    if len(problems) > cap:
        lines.append(f'  ... and {len(problems) - cap} more problem(s) not listed')
    return '\n'.join(lines)


# ---------------------------------------------------------------------------------------------------------------
# rows


def _content(row: Any) -> str:
    """What makes a question the same question: its text query, options and gold."""
    if not isinstance(row, dict):
        return repr(row)
    return json.dumps([row.get(TEXT_QUERY), row.get(OPTIONS), row.get(SOLUTION), row.get(ANSWER_INDEX)],
                      sort_keys=True, default=str)


def duplicate_problems(entries: Iterable[Tuple[str, Optional[int], Any]]) -> List[RowProblem]:
    """A problem for every row whose ``question_id`` an earlier row with different content already used (repeats
    of the same question are fine). The first row keeps the id; the message names it."""
    first: Dict[str, Tuple[str, Optional[int], str]] = {}
    problems = []
    for source, line, row in entries:
        qid = row.get(QUESTION_ID) if isinstance(row, dict) else None
        if qid in (None, ''):
            continue
        content = _content(row)
        seen = first.setdefault(str(qid), (source, line, content))
        if seen[2] != content:
            at = seen[0] if seen[1] is None else f'{seen[0]} line {seen[1]}'
            problems.append(RowProblem(source, line, qid, f'question_id {qid!r} is already used by a different '
                                       f'question ({at}); rollouts are paired by question_id, so the two would mix '
                                       'their references: give each question its own id'))
    return problems


def check_entries(entries: Sequence[Tuple[str, Optional[int], Any]], *, num_options: Optional[int] = None,
                  check_audio: bool = True) -> List[RowProblem]:
    """Every problem of the rows ``(source, line, row)``: :func:`row_problems` of each, then duplicate ids."""
    problems = []
    for source, line, row in entries:
        qid = row.get(QUESTION_ID) if isinstance(row, dict) else None
        where = source if line is None else f'{source} line {line}'
        for what in row_problems(row, num_options=num_options, check_audio=check_audio, where=where):
            problems.append(RowProblem(source, line, qid, what))
    return problems + duplicate_problems(entries)


# ---------------------------------------------------------------------------------------------------------------
# files


def read_row_file(path: str) -> Tuple[List[Tuple[str, Optional[int], Any]], List[RowProblem]]:
    """The rows of a jsonl file (or a ``.json`` list) as ``(path, line, row)``, and the file's own problems: an
    empty file, a line that is not JSON."""
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        return [], [RowProblem(path, None, None, f'cannot be read ({e})')]
    if not text.strip():
        return [], [RowProblem(path, None, None, 'the file is empty: write one JSON object (a row) per line, '
                               'e.g. with `swift-tars build-data`')]
    if path.endswith('.json') and text.lstrip().startswith('['):
        try:
            return [(path, None, row) for row in json.loads(text)], []
        except json.JSONDecodeError as e:
            return [], [RowProblem(path, e.lineno, None, f'is not valid JSON ({e.msg}, column {e.colno})')]
    entries, problems = [], []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            entries.append((path, i, json.loads(line)))
        except json.JSONDecodeError as e:
            problems.append(RowProblem(path, i, None, f'this line is not JSON ({e.msg}, column {e.colno}): write '
                                       'exactly one JSON object per line (no pretty-printing, no trailing text)'))
    return entries, problems


def _card_file(folder: str, subset: Optional[str]) -> Optional[str]:
    """The data file of config ``subset`` (default: ``default``) in a ``build-data`` folder's dataset card."""
    card = os.path.join(folder, 'README.md')
    if not os.path.isfile(card):
        return None
    text = open(card, encoding='utf-8').read()
    m = re.search(rf'config_name: {re.escape(subset or "default")}\s*\n(?:.*\n)*?\s*path: (\S+)', text)
    return os.path.join(folder, m.group(1)) if m else None


def local_files(spec: str) -> Optional[List[str]]:
    """The local row files a ``--dataset`` value reads (a jsonl/json file, or the data file of a ``build-data``
    folder, ``#N`` and ``:subset`` as ms-swift parses them); None when it is not local (registered name, hub id)
    or not a row file (csv); ``[]`` when it looks like a local path that does not exist."""
    path, subset = spec, None
    if not os.path.exists(path) and '#' in path:
        path = path.rsplit('#', 1)[0]
    if not os.path.exists(path) and ':' in path and '::' not in path:
        path, subset = path.split(':', 1)
    if os.path.isfile(path):
        return [path] if path.endswith(ROW_FILE_TYPES) else None
    if os.path.isdir(path):
        card = _card_file(path, subset)
        if card:
            return [card]
        return sorted(os.path.join(path, n) for n in os.listdir(path) if n.endswith('.jsonl'))
    looks_local = path.startswith(('/', './', '../', '~')) or path.endswith(ROW_FILE_TYPES)
    return [] if looks_local else None


def check_specs(specs: Sequence[str], *, num_options: Optional[int] = None, check_audio: bool = True
                ) -> Tuple[List[RowProblem], int]:
    """(every problem, rows read) of the local row files among the ``--dataset`` values ``specs``, read together
    (so an id reused across files is found); registered names and hub ids are skipped here."""
    entries, problems = [], []
    for spec in specs:
        files = local_files(spec)
        if files is None:
            continue
        if not files:
            problems.append(RowProblem(spec, None, None, 'no such file, or a folder without a row-format jsonl'))
        for path in files:
            found, file_problems = read_row_file(path)
            entries += found
            problems += file_problems
    return problems + check_entries(entries, num_options=num_options, check_audio=check_audio), len(entries)


def _filtered_copy(path: str, bad_lines: Set[int]) -> str:
    """A copy of the jsonl ``path`` without ``bad_lines`` (1-based), in a fresh temporary folder."""
    out = os.path.join(tempfile.mkdtemp(prefix='tars-valid-rows-'), os.path.basename(path))
    with open(path, encoding='utf-8') as src, open(out, 'w', encoding='utf-8') as dst:
        for i, line in enumerate(src, start=1):
            if i not in bad_lines and line.strip():
                dst.write(line if line.endswith('\n') else line + '\n')
    return out


def _drop_bad_rows(specs: Sequence[str], problems: Sequence[RowProblem]) -> List[str]:
    """``specs`` with every file that has bad rows replaced by a copy without them (a file whose problem is the
    file itself, e.g. empty, is left out); the drops are logged and counted in :func:`skipped_summary`."""
    bad: Dict[str, Set[Optional[int]]] = {}
    for p in problems:
        bad.setdefault(p.source, set()).add(p.line)
    out = []
    for spec in specs:
        files = local_files(spec)
        if files is None or not any(f in bad for f in files) and spec not in bad:
            out.append(spec)
            continue
        for path in files or []:
            lines = bad.get(path, set())
            if None in lines:
                continue  # the whole file is unusable
            out.append(_filtered_copy(path, lines) if lines else path)
    for source, lines in bad.items():
        _SKIPPED[source] = _SKIPPED.get(source, 0) + len(lines)
    logger.warning('TARS_SKIP_INVALID=1: dropped %d invalid row(s) or file(s):\n%s', sum(map(len, bad.values())),
                   '\n'.join('  - ' + p.render() for p in problems[:MAX_LISTED]) +
                   (f'\n  ... and {len(problems) - MAX_LISTED} more' if len(problems) > MAX_LISTED else ''))
    return out


def prepare_specs(specs: Sequence[str], *, skip: bool, num_options: Optional[int] = None) -> List[str]:
    """The ``--dataset`` / ``--val_dataset`` values to hand to ms-swift after checking their local row files:
    unchanged when every row is valid; otherwise :class:`InvalidRowsError`, or with ``skip`` (TARS_SKIP_INVALID=1)
    the specs with the bad rows dropped."""
    problems, rows = check_specs(specs, num_options=num_options)
    if not problems:
        return list(specs)
    if not skip:
        raise InvalidRowsError(problems, rows)
    return _drop_bad_rows(specs, problems)


# ---------------------------------------------------------------------------------------------------------------
# rows ms-swift has loaded (registered and hub datasets)


def _loaded_problems(dataset, tags: Sequence[Any], unchecked: Sequence[int], split: str
                     ) -> List[Tuple[int, RowProblem]]:
    """(row index, problem) of the rows ``unchecked`` (row checks) and of all rows (duplicate ids)."""
    def source(i):
        return f'{tags[i]} (loaded {split} row {i})'

    found = []
    for i in unchecked:
        row = {k: v for k, v in dataset[i].items() if k != 'dataset'}  # ms-swift's own routing tag
        found += [(i, RowProblem(source(i), None, row.get(QUESTION_ID), what))
                  for what in row_problems(row, where=source(i))]
    columns = [c for c in (QUESTION_ID, TEXT_QUERY, OPTIONS, SOLUTION, ANSWER_INDEX) if c in dataset.column_names]
    if QUESTION_ID in columns:
        rows = dataset.select_columns(columns).to_list()
        index = {source(i): i for i in range(len(rows))}
        found += [(index[p.source], p) for p in duplicate_problems((source(i), None, r) for i, r in enumerate(rows))]
    return found


def check_loaded(dataset, *, skip: bool, checked_sources: Sequence[str] = (), split: str = 'train'):
    """The loaded ``datasets.Dataset`` checked as a whole: rows from sources other than ``checked_sources`` (the
    local files already checked; ms-swift tags each row with its source in the ``dataset`` column) get the row
    checks, and all rows the duplicate-id check. Returns it unchanged, or with ``skip`` without the bad rows;
    otherwise raises :class:`InvalidRowsError`. Streaming datasets are returned as they are."""
    if dataset is None or not hasattr(dataset, 'select') or not hasattr(dataset, '__len__') or not len(dataset):
        return dataset
    tags = dataset['dataset'] if 'dataset' in dataset.column_names else [split] * len(dataset)
    checked = {os.path.realpath(s) for s in checked_sources}
    unchecked = [i for i, t in enumerate(tags) if os.path.realpath(str(t)) not in checked]
    found = _loaded_problems(dataset, tags, unchecked, split)
    if not found:
        return dataset
    if not skip:
        raise InvalidRowsError([p for _, p in found], len(dataset))
    bad = sorted({i for i, _ in found})
    for i in bad:
        _SKIPPED[str(tags[i])] = _SKIPPED.get(str(tags[i]), 0) + 1
    logger.warning('TARS_SKIP_INVALID=1: dropped %d invalid %s row(s):\n%s', len(bad), split,
                   '\n'.join('  - ' + p.render() for _, p in found[:MAX_LISTED]))
    return dataset.select(sorted(set(range(len(dataset))) - set(bad)))


def record_skipped(source: str, rows: int) -> None:
    """Counts ``rows`` of ``source`` dropped under ``TARS_SKIP_INVALID=1`` (for :func:`skipped_summary`)."""
    _SKIPPED[source] = _SKIPPED.get(source, 0) + rows


def skipped_summary() -> Dict[str, Any]:
    """What ``TARS_SKIP_INVALID=1`` dropped in this process: ``{'rows': total, 'by_source': {source: count}}``
    (for ``tars_config.json``)."""
    return {'rows': sum(_SKIPPED.values()), 'by_source': dict(_SKIPPED)}
