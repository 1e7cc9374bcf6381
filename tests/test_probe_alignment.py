"""Pure parts of ``swift-tars probe``: t-interval, cosines, the best monotonic path (APS), position picking,
plots. Hand-made arrays; every expected value is worked out in the comments."""
import functools
import math

import numpy as np
import pytest

from swift_tars.evaluation.alignment import (
    alignment_path_score,
    answer_similarity,
    best_monotonic_path,
    best_path_cells,
    cosine_matrix,
    token_cosine,
)
from swift_tars.evaluation.stats import t_interval, t_intervals

T_975_3 = 3.182446305284263  # Student-t 97.5 % quantile, 3 degrees of freedom (tables: 3.182)


def test_t_interval_on_1_2_3_4_matches_the_formula():
    # mean 2.5; sample sd sqrt(((1.5² + 0.5²) · 2) / 3) = sqrt(5/3); half width t · sd / sqrt(4)
    half = T_975_3 * math.sqrt(5 / 3) / 2
    iv = t_interval([1, 2, 3, 4])
    assert iv.mean == 2.5 and iv.n == 4
    assert iv.low == pytest.approx(2.5 - half, abs=1e-12) and iv.high == pytest.approx(2.5 + half, abs=1e-12)
    assert (iv.low, iv.high) == pytest.approx((0.445740, 4.554260), abs=1e-6)  # 2.5 ∓ 2.054260


def test_t_interval_edge_cases_and_columns():
    assert t_interval([0.7]) == (0.7, None, None, 1)  # one value: no interval
    assert t_interval([]) == (None, None, None, 0)
    assert t_interval([1.0, float('nan'), 3.0]).n == 2  # NaNs dropped
    assert t_interval([5, 5, 5]) == (5.0, 5.0, 5.0, 3)
    cols = t_intervals([[1, 10], [2, 10], [3, 10], [4, 10]])
    assert cols[0].mean == 2.5 and cols[1] == (10.0, 10.0, 10.0, 4)


def test_token_cosine_and_answer_similarity_per_layer():
    speech = np.array([[[1.0, 0.0], [0.0, 1.0]],  # layer 1: tokens (1,0) and (0,1)
                       [[2.0, 0.0], [0.0, 3.0]]])  # layer 2: same directions, other norms
    text = np.array([[[1.0, 0.0], [1.0, 1.0]],
                     [[0.0, 5.0], [0.0, 1.0]]])
    assert token_cosine(speech, text) == pytest.approx(np.array([[1.0, 1 / math.sqrt(2)], [0.0, 1.0]]))
    # layer 1: (1 + 1/√2) / 2 = 0.853553; layer 2: (0 + 1) / 2
    assert answer_similarity(speech, text) == pytest.approx([(1 + 1 / math.sqrt(2)) / 2, 0.5])
    with pytest.raises(ValueError, match='equal shapes'):
        token_cosine(speech, text[:, :1])


def test_cosine_matrix():
    s = np.array([[1.0, 0.0], [0.0, 2.0]])
    t = np.array([[3.0, 0.0], [1.0, 1.0], [0.0, -1.0]])
    r = 1 / math.sqrt(2)
    assert cosine_matrix(s, t) == pytest.approx(np.array([[1.0, r, 0.0], [0.0, r, -1.0]]))


# By hand, DTW on the distance 1 - C: accumulated least distances
#   row 0: 0.1  1.0  2.0
#   row 1: 0.9  0.3  1.0     (D[1,1] = 0.2 + min(0.1, 1.0, 0.9))
#   row 2: 1.9  0.9  0.6     (D[2,2] = 0.3 + min(0.3, 1.0, 0.9))
# best path: the diagonal (0,0) (1,1) (2,2), distance 0.6, cosines 0.9 + 0.8 + 0.7 = 2.4 over 3 cells -> APS 0.8.
# The detour (0,0) (1,0) (1,1) (2,1) (2,2) sums more cosine (3.0) but costs distance 2.0: no length bias.
C_HAND = np.array([[0.9, 0.1, 0.0],
                   [0.2, 0.8, 0.3],
                   [0.0, 0.4, 0.7]])


def test_best_monotonic_path_on_a_hand_made_3x3():
    score = best_monotonic_path(C_HAND)
    assert score.total == pytest.approx(2.4) and score.length == 3 and score.mean == pytest.approx(0.8)
    assert best_path_cells(C_HAND) == [(0, 0), (1, 1), (2, 2)]


def test_best_monotonic_path_small_cases():
    # a negative off-diagonal: the diagonal (sum 2 over 2 cells) beats any detour (sum 1 over 3 cells)
    c = np.array([[1.0, -1.0], [-1.0, 1.0]])
    assert best_path_cells(c) == [(0, 0), (1, 1)] and best_monotonic_path(c).mean == 1.0
    # all ties: the diagonal step wins (shortest path)
    assert best_path_cells(np.zeros((2, 2))) == [(0, 0), (1, 1)]
    # one row: the only path visits every cell
    assert best_monotonic_path(np.array([[0.5, 0.2, 0.8]])).mean == pytest.approx(0.5)
    assert best_path_cells(np.array([[0.5], [0.1]])) == [(0, 0), (1, 0)]
    with pytest.raises(ValueError, match='non-empty'):
        best_monotonic_path(np.zeros((0, 3)))


def _brute_force(C):
    """Exhaustive recursion over all monotonic paths of least summed distance 1 - C: (its summed cosine,
    its length, its cells)."""
    n, m = C.shape

    @functools.lru_cache(None)
    def best(i, j):  # (summed distance, summed cosine, length, cells)
        if (i, j) == (0, 0):
            return 1 - C[0, 0], C[0, 0], 1, ((0, 0), )
        options = [best(i - di, j - dj) for di, dj in ((1, 1), (1, 0), (0, 1)) if i >= di and j >= dj]
        dist, total, length, cells = min(options, key=lambda o: o[0])
        return dist + 1 - C[i, j], total + C[i, j], length + 1, cells + ((i, j), )

    return best(n - 1, m - 1)[1:]


@pytest.mark.parametrize('shape', [(4, 9, 6), (3, 1, 5), (3, 6, 1), (2, 7, 7)])
def test_best_monotonic_path_matches_brute_force_batched_over_layers(shape):
    C = np.random.default_rng(sum(shape)).uniform(-1, 1, shape)
    score = best_monotonic_path(C)
    assert score.total.shape == (shape[0], )
    for layer in range(shape[0]):
        total, length, cells = _brute_force(C[layer])
        assert score.total[layer] == pytest.approx(total) and score.length[layer] == length
        assert best_path_cells(C[layer]) == list(cells)


def test_alignment_path_score_per_layer():
    # layer 1: speech states point like the text states one to one -> cosine 1 along the diagonal
    text = np.array([[1.0, 0.0], [0.0, 1.0]])
    speech_1 = np.array([[2.0, 0.0], [0.0, 5.0]])
    # C = [[1, 0], [1, 0]]: the diagonal and (0,0)(1,0)(1,1) both cost distance 1; the tie goes to the
    # diagonal -> cosines 1 + 0 over 2 cells
    speech_2 = np.array([[1.0, 0.0], [1.0, 0.0]])
    aps = alignment_path_score(np.stack([speech_1, speech_2]), np.stack([text, text]))
    assert aps == pytest.approx([1.0, 0.5])


def test_layer_measures_in_torch_match_the_numpy_reference():
    torch = pytest.importorskip('torch')
    from swift_tars.evaluation.probe import layer_measures

    rng = np.random.default_rng(0)
    k, n, m = 3, 7, 5
    speech, text = rng.normal(size=(4, k + n, 8)), rng.normal(size=(4, k + m, 8))
    similarity, aps = layer_measures(torch.tensor(speech), torch.tensor(text), k)
    assert similarity == pytest.approx(answer_similarity(speech[:, :k], text[:, :k]))
    assert aps == pytest.approx(alignment_path_score(speech[:, k:], text[:, k:]))


def test_answer_positions_and_prompt_spans():
    from swift_tars.evaluation.probe import answer_positions, prompt_spans

    encoded = {'input_ids': [1, 2, 3, 7, 8, 9, 10], 'labels': [-100, -100, -100, 7, 8, 9, 10]}
    assert answer_positions(encoded, [7, 8, 9]) == [3, 4, 5]  # without the end-of-turn token 10
    assert answer_positions(encoded, [7, 8, 6]) == [3, 4, 5, 6]  # ids differ: every labelled position
    # shared prefix [1, 2], shared suffix [3, 4, 7, 8]; speech middle: bos 90, three audio tokens 50, eos 91
    speech = [1, 2, 90, 50, 50, 50, 91, 3, 4, 7, 8]
    text = [1, 2, 20, 21, 22, 23, 3, 4, 7, 8]
    assert prompt_spans(speech, text, audio_id=50) == ([3, 4, 5], [2, 3, 4, 5])
    assert prompt_spans(speech, text, audio_id=None) == ([2, 3, 4, 5, 6], [2, 3, 4, 5])


def test_plots_write_pngs_with_one_curve_per_model(tmp_path):
    from swift_tars.evaluation.plots import plot_layers

    def run(label, base):
        mean = [base, base + 0.01, base - 0.02]
        return {'label': label, 'layers': [1, 2, 3], 'n_items': 5,
                'similarity': {'mean': mean, 'ci_low': [v - 0.01 for v in mean], 'ci_high': [v + 0.01 for v in mean]}}

    plot = plot_layers([run('base', 0.9), run('trained', 0.95)], 'similarity', 'cos', 'title', tmp_path / 'a.png')
    assert plot.labels == ['base (n=5)', 'trained (n=5)']
    assert plot.path.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    single = run('only', 0.5)
    single['similarity']['ci_low'] = [None] * 3  # one item: no interval, no band
    assert plot_layers([single], 'similarity', 'cos', 't', tmp_path / 'b.png').labels == ['only (n=5)']
