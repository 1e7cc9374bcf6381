"""Student-t confidence intervals of a mean (the paper's 95 % interval over items, docs/method.md §10)."""
import math
from typing import NamedTuple, Optional, Sequence

import numpy as np


class Interval(NamedTuple):
    """Mean of ``n`` values and its two-sided confidence interval; ``low``/``high`` are None when n < 2."""
    mean: Optional[float]
    low: Optional[float]
    high: Optional[float]
    n: int


def t_quantile(p: float, df: int) -> float:
    """Quantile ``p`` of Student's t with ``df`` degrees of freedom (scipy)."""
    from scipy.stats import t

    return float(t.ppf(p, df))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """``mean ± t_{(1+confidence)/2, n-1} · s / sqrt(n)`` with the sample standard deviation ``s`` (ddof 1).

    NaN values are dropped. One value gives no interval; no value gives no mean.
    """
    x = np.asarray(values, dtype=np.float64).ravel()
    x = x[~np.isnan(x)]
    n = int(x.size)
    if n == 0:
        return Interval(None, None, None, 0)
    mean = float(x.mean())
    if n < 2:
        return Interval(mean, None, None, 1)
    half = t_quantile((1 + confidence) / 2, n - 1) * float(x.std(ddof=1)) / math.sqrt(n)
    return Interval(mean, mean - half, mean + half, n)


def t_intervals(matrix, confidence: float = 0.95) -> list:
    """Column-wise :func:`t_interval` of an (items, layers) array: one :class:`Interval` per layer."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f'expected an (items, layers) array, got shape {m.shape}')
    return [t_interval(m[:, j], confidence) for j in range(m.shape[1])]
