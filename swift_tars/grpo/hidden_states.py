"""Per-layer hidden states of the policy, captured during a forward GRPO already runs (no extra pass).

:class:`PooledCapture` puts forward hooks on the selected decoder layers; each hook mean-pools its
layer's output over the completion tokens at once (fp32, detached), so only ``[B, L, H]`` survives
the forward — never the ``[B, T, H]`` activations. Decoder layers are found under the Qwen2.5-Omni
thinker (``thinker.model.layers``) or a plain LLM (``model.layers``).
"""
from typing import List, Optional, Sequence

import torch
from torch import nn

# Where decoder layers live, tried in order (after unwrapping PEFT).
LAYER_PATHS = ('thinker.model.layers', 'model.layers', 'model.language_model.layers', 'language_model.model.layers',
               'model.model.layers')


def _get_path(module: nn.Module, path: str) -> Optional[nn.Module]:
    for name in path.split('.'):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def find_decoder_layers(model: nn.Module) -> nn.ModuleList:
    """The decoder-layer list of ``model`` (a PEFT wrapper is looked through)."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    for path in LAYER_PATHS:
        layers = _get_path(base, path)
        if isinstance(layers, nn.ModuleList) and len(layers) > 0:
            return layers
    raise ValueError(f'cannot find the decoder layers of {type(base).__name__} (looked at {", ".join(LAYER_PATHS)}); '
                     'tars_representation supports Qwen2.5-Omni and causal LMs with model.layers')


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


# Where the final norm (input of the output layer) and the output layer live, tried in order.
HEAD_PATHS = (('thinker.model.norm', 'thinker.lm_head'), ('model.norm', 'lm_head'),
              ('model.language_model.norm', 'lm_head'), ('language_model.model.norm', 'language_model.lm_head'))


def find_output_layers(model: nn.Module):
    """(final norm, output layer) of ``model`` — the teacher's last hidden states and the logits projection."""
    base = model.get_base_model() if hasattr(model, 'get_base_model') else model
    for norm_path, head_path in HEAD_PATHS:
        norm, head = _get_path(base, norm_path), _get_path(base, head_path)
        if isinstance(norm, nn.Module) and isinstance(head, nn.Module):
            return norm, head
    raise ValueError(f'cannot find the final norm and output layer of {type(base).__name__} '
                     f'(looked at {", ".join(n for n, _ in HEAD_PATHS)})')


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
