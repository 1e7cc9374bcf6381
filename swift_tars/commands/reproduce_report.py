"""The outputs of ``swift-tars reproduce-mini``: ``summary.json``, ``table.md`` (mean ± sd over seeds per arm)
and ``curves.png`` (per-step speech/text accuracy, total reward and representation cosine; mean and a
min–max band over seeds, one colour per arm)."""
import json
import statistics
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence

from swift_tars.commands.reproduce_signal import signal_markdown

SETS = ('rl_train', 'heldout')
# (title, logged key candidates in order of preference) of each curve panel
CURVES = (
    ('speech accuracy (rollouts)', ('tars/speech/TarsAccuracy', )),
    ('text accuracy (rollouts)', ('tars/text/TarsAccuracy', )),
    ('total reward', ('reward', )),
    ('representation cosine (speech vs text)', ('tars/representation_cosine', 'rewards/TarsRepresentation/mean')),
)


def eval_cells(summary: Mapping, name: str) -> Dict[str, Optional[float]]:
    """Speech acc, text acc, gap (points) and MRR (%) of one eval set of a ``swift-tars eval`` summary."""
    s = summary['sets'][name]
    mrr = s.get('mrr') or {}
    return {'speech': s['speech']['accuracy'], 'text': s['text']['accuracy'], 'gap': s['gap'],
            'mrr': mrr.get('value')}


def probe_cosine(probe: Mapping) -> Optional[float]:
    """Mean over layers and items of the answer-token speech/text cosine of the (first) probed model."""
    runs = probe.get('runs') or []
    return runs[0].get('similarity', {}).get('mean_over_layers') if runs else None


def mean_sd(values: Sequence[Optional[float]]) -> Dict[str, Optional[float]]:
    """Mean and sample standard deviation (0 for one value) of the non-missing ``values``."""
    values = [v for v in values if v is not None]
    if not values:
        return {'mean': None, 'sd': None, 'n': 0}
    return {'mean': statistics.fmean(values), 'sd': statistics.stdev(values) if len(values) > 1 else 0.0,
            'n': len(values)}


def aggregate(results: Mapping[str, Mapping[int, Mapping]]) -> Dict[str, dict]:
    """Per arm and set, mean ± sd over seeds of speech/text accuracy, gap and MRR, and of the probe cosine."""
    table = {}
    for arm, seeds in results.items():
        row = {}
        for name in SETS:
            cells = [eval_cells(r['eval'], name) for r in seeds.values()]
            row[name] = {k: mean_sd([c[k] for c in cells]) for k in ('speech', 'text', 'gap', 'mrr')}
        row['probe_cosine'] = mean_sd([probe_cosine(r['probe']) for r in seeds.values()])
        table[arm] = row
    return table


def _fmt(cell: Mapping, digits: int = 1) -> str:
    if cell.get('mean') is None:
        return 'n/a'
    if cell.get('n', 0) > 1:
        return f'{cell["mean"]:.{digits}f} ± {cell["sd"]:.{digits}f}'
    return f'{cell["mean"]:.{digits}f}'


def _base_cells(base: Mapping, name: str) -> Dict[str, Optional[float]]:
    """The base model's cells; its MRR is its own speech / text accuracy (it is its own reference)."""
    cells = eval_cells(base['eval'], name)
    if cells['mrr'] is None and cells['speech'] is not None and cells['text']:
        cells['mrr'] = 100.0 * cells['speech'] / cells['text']
    return cells


def markdown_table(labels: Mapping[str, str], base: Mapping, table: Mapping[str, dict], seeds: int) -> str:
    """The README table: one row per arm (mean ± sd over ``seeds`` seeds) and the base model on top."""
    head = ('| arm | RL questions: speech | text | gap | MRR | held-out: speech | text | gap | MRR | probe cos |\n'
            '|---|---|---|---|---|---|---|---|---|---|\n')
    lines = []
    base_cells = {n: _base_cells(base, n) for n in SETS}
    lines.append('| base model (before RL) | ' + ' | '.join(
        f'{base_cells[n][k]:.1f}' if base_cells[n][k] is not None else 'n/a' for n in SETS
        for k in ('speech', 'text', 'gap', 'mrr')) + f' | {_fmt(mean_sd([probe_cosine(base["probe"])]), 3)} |')
    for arm, row in table.items():
        cells = [_fmt(row[n][k]) for n in SETS for k in ('speech', 'text', 'gap', 'mrr')]
        lines.append(f'| {labels[arm]} | ' + ' | '.join(cells) + f' | {_fmt(row["probe_cosine"], 3)} |')
    note = (f'\nAccuracies in % (greedy, `swift-tars eval`); gap = text − speech (points); MRR = speech accuracy / '
            f'the base model\'s text accuracy on the same set (%); probe cos = mean over layers of the speech/text '
            f'hidden-state cosine (`swift-tars probe`, RL questions). Mean ± sd over {seeds} seed(s).\n')
    return head + '\n'.join(lines) + '\n' + note


def curve_series(steps: Sequence[Mapping], keys: Sequence[str]) -> Optional[List[float]]:
    """The first of ``keys`` that every step record carries, as a list over steps."""
    for key in keys:
        values = [r.get(key) for r in steps]
        if steps and all(v is not None for v in values):
            return values
    return None


def plot_curves(path: Path, labels: Mapping[str, str], results: Mapping[str, Mapping[int, Mapping]]) -> Path:
    """``curves.png``: four panels over GRPO steps; per arm the mean over seeds and a min–max band."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(CURVES), figsize=(5 * len(CURVES), 4))
    for ax, (title, keys) in zip(axes, CURVES):
        for i, (arm, seeds) in enumerate(results.items()):
            series = [s for s in (curve_series(r['steps'], keys) for r in seeds.values()) if s]
            if not series:
                continue
            n = min(len(s) for s in series)
            columns = list(zip(*(s[:n] for s in series)))
            x = list(range(1, n + 1))
            colour = f'C{i}'
            ax.plot(x, [statistics.fmean(c) for c in columns], color=colour, label=labels[arm])
            ax.fill_between(x, [min(c) for c in columns], [max(c) for c in columns], color=colour, alpha=0.15)
        ax.set_title(title)
        ax.set_xlabel('GRPO step')
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


SIGNAL_NOTE = ('\nReward spread inside speech groups (one question at one step; mean over groups, steps and seeds): '
               'a flat-accuracy group has all its speech rollouts right or all wrong, so only a dense term moves '
               'it; std = standard deviation of a term over the group\'s speech rollouts; abs adv. = mean |advantage| '
               'of its speech rollouts.\n\n')


def write_report(out: Path, plan: Mapping, labels: Mapping[str, str], base: Mapping,
                 results: Mapping[str, Mapping[int, Mapping]]) -> List[Path]:
    """Writes ``summary.json``, ``table.md`` and ``curves.png`` under ``out``; returns their paths."""
    table = aggregate(results)
    summary = {'plan': dict(plan), 'arms': dict(labels), 'base': {n: eval_cells(base['eval'], n) for n in SETS},
               'base_probe_cosine': probe_cosine(base['probe']), 'table': table,
               'per_seed': {arm: {str(seed): {n: eval_cells(r['eval'], n) for n in SETS} for seed, r in seeds.items()}
                            for arm, seeds in results.items()}}
    summary_path = out / 'summary.json'
    signals = {arm: [r['signal'] for r in seeds.values() if r.get('signal')] for arm, seeds in results.items()}
    summary['signal'] = signals
    summary_path.write_text(json.dumps(summary, indent=1) + '\n')
    table_path = out / 'table.md'
    table_path.write_text(markdown_table(labels, base, table, len(plan['seeds'])) + SIGNAL_NOTE +
                          signal_markdown(labels, signals))
    return [summary_path, table_path, plot_curves(out / 'curves.png', labels, results)]
