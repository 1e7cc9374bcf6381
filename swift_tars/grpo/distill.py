"""CORD-style token-level self-distillation (arXiv 2601.16547): pure tensor functions.

The teacher is the policy itself given the *text* question, teacher-forced on the completion a
*speech*-conditioned rollout sampled; per completion token the reverse KL
``KL(π(·|speech, prefix) ‖ π(·|text, prefix))`` measures how far the speech-conditioned student is
from its text-conditioned self. CORD up-weights the highest-KL tokens and early positions.

Teacher logits are never materialised over the whole completion: they are recomputed from the
teacher's final hidden states ``[B, K, H]`` in chunks of positions, over the full vocabulary
(``topk=0``, exact) or only at the student's top-k tokens (both distributions renormalised over
that support), where only ``k`` rows of the output matrix are touched.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def reverse_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor) -> torch.Tensor:
    """``KL(softmax(s) ‖ softmax(t))`` over the last dim, in fp32; shapes ``[..., V]`` -> ``[...]``.

    >>> round(reverse_kl(torch.tensor([0., 0.]), torch.log(torch.tensor([0.25, 0.75]))).item(), 4)
    0.1438
    """
    log_s = F.log_softmax(student_logits.float(), dim=-1)
    log_t = F.log_softmax(teacher_logits.float(), dim=-1)
    return (log_s.exp() * (log_s - log_t)).sum(dim=-1)


def gathered_parameter(param: Optional[torch.Tensor], device: torch.device) -> Optional[torch.Tensor]:
    """``param`` itself, or its full tensor when DeepSpeed ZeRO-3 has partitioned it.

    The full tensor comes from exactly one all-gather of every rank's shard (``ds_tensor``), issued on every rank
    whatever DeepSpeed's local state of the parameter: whether ZeRO-3 left it gathered after the policy forward can
    differ between ranks, and its own ``GatheredParameters`` skips the collective where it is gathered, so the other
    ranks wait forever (seen with 2 processes under ZeRO-3, tests/test_e2e_zero3.py).
    """
    if param is None or not hasattr(param, 'ds_id'):
        return param
    shard = param.ds_tensor.detach().reshape(-1).to(device)
    group = param.ds_process_group
    full = shard.new_empty(shard.numel() * torch.distributed.get_world_size(group))
    torch.distributed.all_gather_into_tensor(full, shard, group=group)
    return full[:param.ds_numel].view(param.ds_shape)


@torch.no_grad()
def teacher_logits_chunk(weight: torch.Tensor, bias: Optional[torch.Tensor], hidden: torch.Tensor,
                         index: Optional[torch.Tensor]) -> torch.Tensor:
    """Teacher logits from hidden states ``[B, c, H]`` and the output layer's ``weight`` ``[V, H]`` (and ``bias``):
    full ``[B, c, V]`` (index None) or ``[B, c, k]`` at ``index`` ``[B, c, k]`` (only those rows of the output
    matrix are multiplied)."""
    if index is None:
        return F.linear(hidden.to(weight.dtype), weight, bias)
    rows = weight[index]  # [B, c, k, H]
    logits = torch.einsum('bch,bckh->bck', hidden.to(rows.dtype), rows)
    return logits + bias[index] if bias is not None else logits


def token_reverse_kl(student_logits: torch.Tensor,
                     teacher_hidden: torch.Tensor,
                     lm_head: nn.Module,
                     *,
                     topk: int = 20,
                     temperature: float = 1.0,
                     chunk: int = 64) -> torch.Tensor:
    """Per-token reverse KL ``[B, K]`` (grad flows into ``student_logits`` only).

    ``student_logits``: ``[B, K, V]`` (already divided by ``temperature``, as ms-swift's GRPO forward
    leaves them); ``teacher_hidden``: ``[B, K, H]`` final hidden states of the teacher at the same
    completion positions, detached; teacher logits are divided by ``temperature`` too. ``topk=0``:
    exact over the vocabulary; else over the student's top-``topk`` tokens. Under ZeRO-3 the output layer is
    gathered once per call, so every rank runs the same collectives whatever its completion length.
    """
    if not isinstance(lm_head, nn.Linear):  # a wrapped output layer (e.g. LoRA): its forward, full vocabulary
        return _token_reverse_kl(student_logits, teacher_hidden, lambda h, index: lm_head(h), 0, temperature, chunk)
    weight = gathered_parameter(lm_head.weight, teacher_hidden.device)
    bias = gathered_parameter(lm_head.bias, teacher_hidden.device)
    return _token_reverse_kl(student_logits, teacher_hidden,
                             lambda h, index: teacher_logits_chunk(weight, bias, h, index), topk, temperature, chunk)


def _token_reverse_kl(student_logits, teacher_hidden, logits_of, topk, temperature, chunk) -> torch.Tensor:
    pieces = []
    for start in range(0, student_logits.shape[1], chunk):
        s = student_logits[:, start:start + chunk]
        h = teacher_hidden[:, start:start + chunk].detach()
        index = s.detach().topk(min(topk, s.shape[-1]), dim=-1).indices if topk else None
        with torch.no_grad():
            t = logits_of(h, index) / temperature
        pieces.append(reverse_kl(s.gather(-1, index), t) if topk else reverse_kl(s, t))
    return torch.cat(pieces, dim=1)


def cord_weights(kl: torch.Tensor,
                 mask: torch.Tensor,
                 top_tokens: int = 20,
                 kl_strength: float = 2.0,
                 position_strength: float = 2.0) -> torch.Tensor:
    """CORD importance weights ``[B, K]``: ``kl_strength`` on each sequence's ``top_tokens`` highest-KL
    tokens (1 elsewhere) times a linear position decay from ``position_strength`` (first completion token)
    to 1 (last). Normalised to mean 1 over each sequence's tokens, so a term ``mean_t(w_t · kl_t)`` does
    not scale with length. ``kl`` is used detached; masked positions get 0.

    >>> cord_weights(torch.tensor([[0.1, 0.5, 0.2]]), torch.ones(1, 3, dtype=torch.bool), top_tokens=1).tolist()
    [[1.0, 1.5, 0.5]]
    """
    mask = mask.bool()
    kl = kl.detach().float().masked_fill(~mask, float('-inf'))
    n = mask.sum(dim=1, keepdim=True)
    top = torch.zeros_like(kl, dtype=torch.bool)
    if top_tokens > 0:
        index = kl.topk(min(top_tokens, kl.shape[1]), dim=1).indices
        top.scatter_(1, index, True)
    w_kl = torch.where(top & mask, torch.full_like(kl, kl_strength), torch.ones_like(kl))
    j = (mask.long().cumsum(dim=1) - 1).float()  # 0-based index among the sequence's tokens
    frac = j / (n - 1).clamp(min=1).float()
    w_pos = 1 + (position_strength - 1) * (1 - frac)
    w = w_kl * w_pos * mask.float()
    return w * n.float() / w.sum(dim=1, keepdim=True).clamp(min=1e-12)


def weighted_token_mean(values: torch.Tensor, weights: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over sequences of ``sum_t w_t v_t / n`` (``[B, K]`` inputs, mean-1 weights) -> scalar."""
    n = mask.float().sum(dim=1).clamp(min=1)
    return ((values * weights * mask.float()).sum(dim=1) / n).mean()


def remap_to_frame(values: torch.Tensor, src_mask: torch.Tensor, dst_mask: torch.Tensor) -> torch.Tensor:
    """Moves per-token ``values`` ``[B, Ks, ...]`` from one completion frame to another ``[B, Kd, ...]``.

    Each row has the same number of completion tokens in both frames (same completion, different prompt
    length / padding); token i of the row goes from the i-th true position of ``src_mask`` to the i-th
    true position of ``dst_mask``. Other positions are zero.
    """
    if not torch.equal(src_mask.sum(1), dst_mask.sum(1)):
        raise ValueError('teacher and student frames hold different numbers of completion tokens per row')
    out = values.new_zeros((dst_mask.shape[0], dst_mask.shape[1]) + tuple(values.shape[2:]))
    out[dst_mask.bool()] = values[src_mask.bool()]
    return out
