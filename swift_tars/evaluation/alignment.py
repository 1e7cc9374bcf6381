"""Speech/text alignment measures on hidden states (numpy, no torch).

- :func:`token_cosine` / :func:`answer_similarity`: the paper's layer-similarity probe (docs/method.md §10):
  cosine between the speech-prompt and the text-prompt hidden state of the *same* answer token, per layer,
  averaged over the answer tokens.
- :func:`best_monotonic_path` / :func:`alignment_path_score`: an Alignment Path Score in the spirit of
  arXiv 2510.12116 (docs/method.md §14.2): the best monotonic alignment between the speech-prompt states and
  the text-prompt states through their cosine matrix, scored by the mean cosine along that path.
"""
from typing import List, NamedTuple, Tuple

import numpy as np

_EPS = 1e-12


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), _EPS)


def token_cosine(a, b) -> np.ndarray:
    """Cosine of matching rows: ``a``, ``b`` of shape (..., tokens, dim) -> (..., tokens)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.shape != b.shape:
        raise ValueError(f'token_cosine needs equal shapes, got {a.shape} and {b.shape}')
    return (_normalise(a) * _normalise(b)).sum(-1)


def answer_similarity(speech_states, text_states) -> np.ndarray:
    """Per-layer mean over answer tokens of the per-token cosine.

    ``speech_states``, ``text_states``: (layers, answer_tokens, dim), the same answer teacher-forced after
    the speech prompt and after the text prompt. Returns (layers,).
    """
    return token_cosine(speech_states, text_states).mean(-1)


def cosine_matrix(s, t) -> np.ndarray:
    """All-pairs cosine: ``s`` (..., n, dim), ``t`` (..., m, dim) -> C (..., n, m), ``C[i, j] = cos(s_i, t_j)``."""
    return _normalise(s) @ np.swapaxes(_normalise(t), -1, -2)


class PathScore(NamedTuple):
    """Best monotonic path through a cosine matrix: its summed cosine, its length (cells) and their mean."""
    total: np.ndarray
    length: np.ndarray
    mean: np.ndarray


def _dtw(C: np.ndarray, record: bool = False):
    """Max-sum DP of a score matrix C (B, n, m), one vectorised row at a time.

    Within row i, ``E[j]`` is the best sum reaching (i, j) by a diagonal or a down step (ties: diagonal);
    a run of (0, 1) steps then gives ``D[i, j] = max_k≤j E[k] + C[i, k+1..j]``, i.e. with the prefix sum
    ``P`` of row i, ``D = P + cummax(E − P)``. Ties prefer the latest ``k`` (fewest (0, 1) steps).
    Returns the last row's sums and path lengths, and with ``record`` the per-row choices for backtracking.
    """
    B, n, m = C.shape
    cols = np.arange(m)
    D = length = None
    trace = []
    for i in range(n):
        c = C[:, i, :]
        if i == 0:
            E = np.full((B, m), -np.inf)
            E[:, 0] = c[:, 0]
            E_len = np.ones((B, m), dtype=np.int64)
            diag_first = None
        else:
            diag = np.concatenate([np.full((B, 1), -np.inf), D[:, :-1]], axis=1)
            diag_len = np.concatenate([np.zeros((B, 1), dtype=np.int64), length[:, :-1]], axis=1)
            diag_first = diag >= D
            E = c + np.where(diag_first, diag, D)
            E_len = 1 + np.where(diag_first, diag_len, length)
        P = np.cumsum(c, axis=1)
        V = E - P
        M = np.maximum.accumulate(V, axis=1)
        k = np.maximum.accumulate(np.where(V == M, cols, -1), axis=1)
        D = P + M
        length = np.take_along_axis(E_len, k, axis=1) + (cols - k)
        if record:
            trace.append((k, diag_first))
    return D, length, trace


def best_monotonic_path(C) -> PathScore:
    """DTW over a cosine matrix: the monotonic path from (0, 0) to (n-1, m-1) with steps (1,0), (0,1), (1,1)
    that minimises the summed cosine *distance* ``1 - C`` over its cells. ``C``: (..., n, m); returns the
    path's summed cosine, its length and its mean cosine (the APS), each of shape (...).

    Minimising distance (not maximising summed cosine) keeps the path free of a length bias: every extra
    cell costs ``1 - cos >= 0``. Ties go to the diagonal step, then (1, 0), then (0, 1).
    """
    C = np.asarray(C, dtype=np.float64)
    if C.ndim < 2 or C.shape[-1] == 0 or C.shape[-2] == 0:
        raise ValueError(f'need a non-empty (..., n, m) matrix, got shape {C.shape}')
    lead, (n, m) = C.shape[:-2], C.shape[-2:]
    D, length, _ = _dtw(C.reshape(-1, n, m) - 1.0)  # max of -(distance) = min distance
    count = length[:, -1].reshape(lead)
    total = D[:, -1].reshape(lead) + count  # back from sum(C - 1) to sum(C)
    return PathScore(total, count, total / count)


def best_path_cells(C) -> List[Tuple[int, int]]:
    """The cells of the best path of one (n, m) matrix, from (0, 0) to (n-1, m-1) (for tests and plots)."""
    C = np.asarray(C, dtype=np.float64)
    if C.ndim != 2 or 0 in C.shape:
        raise ValueError(f'need a non-empty (n, m) matrix, got shape {C.shape}')
    _, _, trace = _dtw(C[None] - 1.0, record=True)
    i, j = C.shape[0] - 1, C.shape[1] - 1
    cells = []
    while True:
        k, diag_first = trace[i]
        start = int(k[0, j])
        cells.extend((i, jj) for jj in range(j, start - 1, -1))  # the run of (0, 1) steps, backwards
        if i == 0:
            break
        i, j = (i - 1, start - 1) if diag_first[0, start] else (i - 1, start)
    return cells[::-1]


def alignment_path_score(speech_states, text_states) -> np.ndarray:
    """APS per layer: the mean cosine along the best monotonic path between speech-prompt states
    (layers, n, dim) and text-prompt states (layers, m, dim). Returns (layers,).
    """
    return best_monotonic_path(cosine_matrix(speech_states, text_states)).mean
