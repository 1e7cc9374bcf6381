"""The exit hook destroys a live process group (ms-swift leaves gloo's worker threads to interpreter teardown)."""
import torch.distributed as dist
from test_e2e_tars import free_port

from swift_tars.grpo import teardown


def test_exit_hook_destroys_a_live_gloo_group(monkeypatch):
    monkeypatch.setenv('MASTER_ADDR', '127.0.0.1')
    monkeypatch.setenv('MASTER_PORT', str(free_port()))
    dist.init_process_group('gloo', rank=0, world_size=1)
    assert dist.is_initialized()
    teardown._destroy_if_initialized()
    assert not dist.is_initialized()
    teardown._destroy_if_initialized()  # a second call (group already gone) is a no-op


def test_exit_hook_is_registered_once(monkeypatch):
    calls = []
    monkeypatch.setattr(teardown, '_registered', False)
    monkeypatch.setattr(teardown.atexit, 'register', calls.append)
    teardown.destroy_process_group_at_exit()
    teardown.destroy_process_group_at_exit()
    assert calls == [teardown._destroy_if_initialized]
