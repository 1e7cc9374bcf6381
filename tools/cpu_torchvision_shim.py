"""CPU-only rig: let the CUDA-built torchvision wheel import on a CPU torch.

Why this exists (CPU set-up only, never on GPU machines):
  Qwen2.5-Omni needs torchvision even for audio-only data (``qwen_omni_utils`` imports it, the
  Omni processor insists on a video processor). PyPI ships torchvision 0.28.0 only as a CUDA build.
  Its ``_C.so`` cannot load against ``torch==2.13.0+cpu`` and its meta registrations then fail
  with ``RuntimeError: operator torchvision::nms does not exist``.

What it does:
  ``tools/setup_env.sh`` copies this file into the venv's site-packages with a one-line
  ``swift_tars_cpu_torchvision_shim.pth`` that imports it at interpreter start (so torchrun workers
  and pytest see it too). It installs a ``sys.meta_path`` finder that reacts once, to the first
  ``import torchvision``: if torchvision's ``_C`` library loads, it does nothing; otherwise it
  defines the two operator schemas (``torchvision::nms``, ``torchvision::qnms``) that
  ``torchvision/_meta_registrations.py`` expects, then lets the normal import proceed.
  Transforms work; detection ops stay unavailable (nothing in swift-tars needs them).

It imports nothing heavy at start-up and never raises: failures become one line on stderr.
The ``swift_tars`` package never imports this module.
"""
import importlib.abc
import importlib.machinery
import sys

_LIBRARY = None  # keeps the torch.library.Library alive for the whole process


def _define_missing_ops(spec) -> None:
    global _LIBRARY
    import glob
    import os

    import torch

    package_dir = os.path.dirname(spec.origin)
    for lib in glob.glob(os.path.join(package_dir, '_C*.so')):
        try:
            torch.ops.load_library(lib)
            return  # a matching (e.g. CUDA) build: nothing to patch
        except Exception:
            pass
    _LIBRARY = torch.library.Library('torchvision', 'DEF')
    for name in ('nms', 'qnms'):
        _LIBRARY.define(f'{name}(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')


class _TorchvisionFinder(importlib.abc.MetaPathFinder):
    """Runs ``_define_missing_ops`` once, just before torchvision is first imported."""

    def __init__(self):
        self.done = False

    def find_spec(self, fullname, path=None, target=None):
        if fullname != 'torchvision' or self.done:
            return None
        self.done = True
        try:
            spec = importlib.machinery.PathFinder.find_spec(fullname, path)
            if spec is not None and spec.origin:
                _define_missing_ops(spec)
        except Exception as exc:  # never break interpreter start-up or the import itself
            print(f'[cpu_torchvision_shim] warning: {type(exc).__name__}: {exc}', file=sys.stderr)
        return None  # let the regular finders import torchvision


if not any(isinstance(f, _TorchvisionFinder) for f in sys.meta_path):
    sys.meta_path.insert(0, _TorchvisionFinder())
