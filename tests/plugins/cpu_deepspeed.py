"""Test-only ms-swift plugin: DeepSpeed with several processes on a CPU-only machine (torchrun, gloo).

transformers builds accelerate's ``PartialState`` without a backend when ``--deepspeed`` is given
(``--ddp_backend`` is only passed on the non-DeepSpeed branch), and accelerate counts a backend-less state as
one process on a machine without an accelerator device, while DeepSpeed itself sees every rank: the batch check
then fails (``train_batch_size is not equal to micro_batch_per_gpu * gradient_acc_step * world_size 4 != 2 * 2 *
2``). ``ACCELERATE_USE_CPU=1`` is no way out: accelerate then skips DeepSpeed's communication setup and never
selects its DeepSpeed mode, and ZeRO-3's ``zero.Init`` reads a world size of 1 (``8 != 2 * 2 * 1``). This plugin
gives that ``PartialState`` the ``gloo`` backend, so both agree. Load it before any other plugin that could
build accelerate state; it changes nothing when a GPU is present, DeepSpeed is off or a backend is given.
"""
import os

import torch
from accelerate.state import PartialState

_init = PartialState.__init__


def _init_with_gloo(self, cpu: bool = False, **kwargs):
    if (not cpu and kwargs.get('backend') is None and not torch.cuda.is_available()
            and os.environ.get('ACCELERATE_USE_DEEPSPEED', 'false').lower() == 'true'
            and int(os.environ.get('LOCAL_RANK', -1)) != -1):
        kwargs['backend'] = 'gloo'
    _init(self, cpu, **kwargs)


PartialState.__init__ = _init_with_gloo
