"""Clean exit of multi-rank runs: the process group is destroyed while the interpreter is still whole.

ms-swift never calls ``destroy_process_group``; with the gloo backend a rank can then abort at interpreter exit
("terminate called without an active exception", SIGABRT) after training finished, failing the launcher.
"""
import atexit

import torch.distributed as dist

_registered = False


def destroy_process_group_at_exit() -> None:
    """Registers (once per process) an exit hook that destroys the default process group if one is live."""
    global _registered
    if not _registered:
        atexit.register(_destroy_if_initialized)
        _registered = True


def _destroy_if_initialized() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
