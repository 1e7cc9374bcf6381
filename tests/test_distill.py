"""CORD token-level term: exact values on hand-made logits, chunking, top-k, weights, gradients."""
import math

import pytest
import torch
from torch import nn

from swift_tars.grpo.distill import cord_weights, remap_to_frame, reverse_kl, token_reverse_kl, weighted_token_mean


def test_reverse_kl_hand_computed():
    s = torch.log(torch.tensor([0.5, 0.5]))
    t = torch.log(torch.tensor([0.25, 0.75]))
    expected = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert reverse_kl(s, t).item() == pytest.approx(expected, abs=1e-6)
    assert reverse_kl(t, s).item() != pytest.approx(expected, abs=1e-3)  # direction matters
    assert reverse_kl(s + 3.0, s).item() == pytest.approx(0.0, abs=1e-7)  # shift-invariant, zero when equal


def head_and_states(vocab=7, hidden=3, b=2, k=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    head = nn.Linear(hidden, vocab, bias=False)
    with torch.no_grad():
        head.weight.copy_(torch.randn(vocab, hidden, generator=g))
    hs = torch.randn(b, k, hidden, generator=g)
    ht = torch.randn(b, k, hidden, generator=g)
    return head, hs, ht


def test_exact_mode_equals_full_computation_and_is_chunk_invariant():
    head, hs, ht = head_and_states()
    student = head(hs).detach() / 1.5
    expected = reverse_kl(student, head(ht).detach() / 1.5)
    for chunk in (1, 2, 64):
        got = token_reverse_kl(student, ht, head, topk=0, temperature=1.5, chunk=chunk)
        assert torch.allclose(got, expected, atol=1e-6)


def test_topk_mode_renormalises_over_student_support():
    head, hs, ht = head_and_states()
    student = head(hs).detach()
    idx = student.topk(3, dim=-1).indices
    expected = reverse_kl(student.gather(-1, idx), head(ht).detach().gather(-1, idx))
    got = token_reverse_kl(student, ht, head, topk=3, chunk=2)
    assert torch.allclose(got, expected, atol=1e-6)
    # a hand-made case: support {0, 1}; student (2, 0, -9), teacher (0, 0, 5) -> renormalised (e^2, 1) vs (1, 1)
    head2 = nn.Linear(3, 3, bias=False)
    with torch.no_grad():
        head2.weight.copy_(torch.eye(3))
    s = torch.tensor([[[2., 0., -9.]]])
    p = torch.tensor([math.exp(2), 1.0]) / (math.exp(2) + 1)
    hand = float((p * torch.log(p / 0.5)).sum())
    assert token_reverse_kl(s, torch.tensor([[[0., 0., 5.]]]), head2, topk=2).item() == pytest.approx(hand, abs=1e-6)


def test_zero_when_teacher_and_student_inputs_are_identical():
    head, hs, _ = head_and_states()
    student = head(hs).detach()
    for topk in (0, 3):
        assert token_reverse_kl(student, hs, head, topk=topk).abs().max().item() < 1e-6


def test_gradients_flow_only_through_the_student():
    head, hs, ht = head_and_states()
    hs.requires_grad_(True)
    ht.requires_grad_(True)
    for topk in (0, 3):
        hs.grad = None
        head.zero_grad()
        student = head(hs)  # the student logits carry the graph (as in the GRPO loss forward)
        loss = token_reverse_kl(student, ht, head, topk=topk).sum()
        loss.backward()
        assert hs.grad is not None and hs.grad.abs().sum() > 0
        assert ht.grad is None  # the teacher is a constant
        # the output layer gets gradient only through the student logits: compare with a detached-teacher copy
        expected = torch.autograd.grad(token_reverse_kl(head(hs), ht.detach(), head, topk=topk).sum(),
                                       head.weight)[0]
        assert torch.allclose(head.weight.grad, expected, atol=1e-6)


def test_cord_weights_hand_computed():
    kl = torch.tensor([[0.1, 0.5, 0.2, 0.0], [3.0, 1.0, 0.0, 0.0]])
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 0, 0]], dtype=torch.bool)
    w = cord_weights(kl, mask, top_tokens=1, kl_strength=2.0, position_strength=2.0)
    # row 0: w_kl (1,2,1), w_pos (2,1.5,1) -> (2,3,1), mean-1 over 3 tokens -> (1,1.5,0.5)
    # row 1: w_kl (2,1), w_pos (2,1) -> (4,1), mean-1 over 2 tokens -> (1.6,0.4)
    assert torch.allclose(w, torch.tensor([[1.0, 1.5, 0.5, 0.0], [1.6, 0.4, 0.0, 0.0]]))
    flat = cord_weights(kl, mask, top_tokens=0, kl_strength=2.0, position_strength=1.0)
    assert torch.allclose(flat, mask.float())


def test_term_does_not_scale_with_length():
    short = torch.full((1, 4), 0.3)
    long = torch.full((1, 400), 0.3)
    for kl in (short, long):
        mask = torch.ones_like(kl, dtype=torch.bool)
        term = weighted_token_mean(kl, cord_weights(kl, mask), mask)
        assert term.item() == pytest.approx(0.3)


def test_remap_to_frame():
    values = torch.tensor([[[1.], [2.], [0.]], [[3.], [0.], [0.]]])
    src = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)
    dst = torch.tensor([[0, 1, 1, 0], [0, 0, 0, 1]], dtype=torch.bool)
    assert remap_to_frame(values, src, dst)[..., 0].tolist() == [[0, 1, 2, 0], [0, 0, 0, 3]]
    with pytest.raises(ValueError, match='different numbers'):
        remap_to_frame(values, src, torch.ones(2, 4, dtype=torch.bool))
