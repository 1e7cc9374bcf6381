"""PNG plots of the probe: a per-layer curve with its confidence band, one curve per model (matplotlib, Agg)."""
from pathlib import Path
from typing import List, NamedTuple, Sequence


class Plot(NamedTuple):
    """The written PNG and the legend entries drawn on it."""
    path: Path
    labels: List[str]


def plot_layers(runs: Sequence[dict], key: str, ylabel: str, title: str, path) -> Plot:
    """One line per run (``run['label']``) of ``run[key]['mean']`` over ``run['layers']``, with the CI band."""
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    labels = []
    for run in runs:
        block, layers = run[key], run['layers']
        if not block['mean']:
            continue
        label = f"{run['label']} (n={run['n_items']})"
        ax.plot(layers, block['mean'], marker='o', markersize=3, label=label)
        labels.append(label)
        if all(v is not None for v in block['ci_low'] + block['ci_high']):
            ax.fill_between(layers, block['ci_low'], block['ci_high'], alpha=0.2)
    ax.set_xlabel('decoder layer')
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    if labels:
        ax.legend()
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path)
    plt.close(fig)
    return Plot(path, labels)
