"""Per-layer hidden states of the policy, captured during a forward GRPO already runs (no extra pass).

:class:`PooledCapture` puts forward hooks on the selected decoder layers; each hook mean-pools its
layer's output over the completion tokens at once (fp32, detached), so only ``[B, L, H]`` survives
the forward — never the ``[B, T, H]`` activations. Where a model's decoder layers, final norm and output layer
live is its family's knowledge (:mod:`swift_tars.models`).
"""
from typing import List, Optional, Sequence

import torch
from torch import nn

from swift_tars.models import ModelFamily, family_of, module_at


def find_decoder_layers(model: nn.Module, family: Optional[ModelFamily] = None) -> nn.ModuleList:
    """The text decoder's layer list of ``model`` (a PEFT wrapper is looked through), at its family's path
    (:mod:`swift_tars.models`); :class:`~swift_tars.models.UnsupportedModelError` for an unknown family."""
    family = family or family_of(model)
    layers = module_at(model, family.decoder_layers, 'the decoder layers', family)
    if not isinstance(layers, nn.ModuleList) or len(layers) == 0:
        raise ValueError(f'{family.decoder_layers} of {family.model_type} is not a non-empty ModuleList')
    return layers


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``hidden`` ``[B, K, H]`` over positions where ``mask`` ``[B, K]`` is true, in fp32.

    Rows whose mask is empty give NaN (an explicit "nothing to pool", never a silent 0).
    """
    m = mask.to(device=hidden.device, dtype=torch.float32).unsqueeze(-1)
    total = (hidden.float() * m).sum(dim=1)
    count = m.sum(dim=1)
    return torch.where(count > 0, total / count.clamp(min=1), torch.full_like(total, float('nan')))


class PooledCapture:
    """Context manager: hooks ``layers``, pools the last ``keep`` positions of each output with ``mask``.

    ``mask``: ``[B, keep]`` completion mask (GRPO's completion region is the last ``keep`` positions).
    After the block, :attr:`pooled` is ``[B, len(layers), H]`` fp32 on the layers' device. A second
    forward inside the block is an error (it would silently mix two batches).
    """

    def __init__(self, layers: Sequence[nn.Module], mask: torch.Tensor, keep: int):
        self.layers, self.mask, self.keep = list(layers), mask, keep
        self._slots: List[Optional[torch.Tensor]] = [None] * len(self.layers)
        self._handles = []
        self.pooled: Optional[torch.Tensor] = None

    def _hook(self, index: int):

        def hook(_module, _inputs, output):
            if self._slots[index] is not None:
                raise RuntimeError('PooledCapture saw a second forward of the same layer; capture one forward only')
            hidden = output[0] if isinstance(output, (tuple, list)) else output
            self._slots[index] = masked_mean(hidden[:, -self.keep:, :].detach(), self.mask)

        return hook

    def __enter__(self) -> 'PooledCapture':
        self._handles = [layer.register_forward_hook(self._hook(i)) for i, layer in enumerate(self.layers)]
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []
        if exc_type is None:
            missing = [i for i, s in enumerate(self._slots) if s is None]
            if missing:
                raise RuntimeError(f'PooledCapture: layers {missing} did not run in the captured forward')
            self.pooled = torch.stack(self._slots, dim=1)


def find_output_layers(model: nn.Module, family: Optional[ModelFamily] = None):
    """(final norm, output layer) of ``model`` at its family's paths — the teacher's last hidden states and the
    logits projection."""
    family = family or family_of(model)
    return (module_at(model, family.final_norm, 'the final norm', family),
            module_at(model, family.output_layer, 'the output layer', family))


class OutputCapture:
    """Context manager keeping the output of one module (e.g. the final norm ``[B, T, H]`` or the logits)."""

    def __init__(self, module: nn.Module):
        self.module, self.output, self._handle = module, None, None

    def __enter__(self) -> 'OutputCapture':
        def hook(_module, _inputs, output):
            self.output = output[0] if isinstance(output, (tuple, list)) else output

        self._handle = self.module.register_forward_hook(hook)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()
