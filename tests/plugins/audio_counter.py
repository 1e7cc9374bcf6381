"""Test-only ms-swift plugin: counts audio-encoder calls per rank, per training step and per GRPO phase.

Under ZeRO-3 every call of the audio tower gathers its partitioned weights with a collective, so ranks that call
it a different number of times wait on each other forever. This plugin counts, on each rank, for each
``global_step`` and phase (``generation``, ``old_policy``, ``teacher`` (CORD), ``loss``; ``other`` outside them):
``passes`` (how often the phase ran), ``calls`` (audio-encoder forwards) and ``audios`` (clips encoded).

The counted class is ``$AUDIO_COUNT_ENCODER`` (``module:Class``; default Qwen2.5-Omni's audio encoder). Writes
``$AUDIO_COUNT_FILE.<rank>`` as JSON ``{step: {phase: {"passes": p, "calls": c, "audios": a}}}`` at exit, plus
``"setup"``: how the trainer was distributed (processes, accelerate's mode, ZeRO stage) and whether the audio
encoder's weights were partitioned by ZeRO-3 when it ran.
"""
import atexit
import functools
import importlib
import json
import os
from contextlib import contextmanager

from swift_tars.grpo.trainer import TarsGRPOTrainer

ENCODER = os.environ.get('AUDIO_COUNT_ENCODER',
                         'transformers.models.qwen2_5_omni.modeling_qwen2_5_omni:Qwen2_5OmniAudioEncoder')
PHASES = {'_generate_completions': 'generation', '_prepare_batch_inputs': 'old_policy', '_run_teacher': 'teacher',
          '_compute_loss_and_metrics': 'loss'}
COUNTS = {}
SETUP = {}
_now = {'phase': 'other', 'trainer': None}


def _entry(phase):
    trainer = _now['trainer']
    step = str(trainer.state.global_step) if trainer is not None else 'init'
    return COUNTS.setdefault(step, {}).setdefault(phase, {'passes': 0, 'calls': 0, 'audios': 0})


@contextmanager
def _phase(trainer, phase):
    previous = _now['phase'], _now['trainer']
    _now['phase'], _now['trainer'] = phase, trainer
    if not SETUP:
        plugin = getattr(trainer.accelerator.state, 'deepspeed_plugin', None)
        SETUP.update(processes=trainer.accelerator.num_processes, world_size=trainer.args.world_size,
                     accelerate=str(trainer.accelerator.distributed_type),
                     zero_stage=plugin.zero_stage if plugin is not None else None)
    _entry(phase)['passes'] += 1
    try:
        yield
    finally:
        _now['phase'], _now['trainer'] = previous[0], previous[1] or trainer


def _wrap_phase(name, phase):
    method = getattr(TarsGRPOTrainer, name)

    @functools.wraps(method)
    def wrapped(self, *args, **kwargs):
        with _phase(self, phase):
            return method(self, *args, **kwargs)

    setattr(TarsGRPOTrainer, name, wrapped)


for _name, _label in PHASES.items():
    _wrap_phase(_name, _label)

_module, _class = ENCODER.split(':')
_encoder = getattr(importlib.import_module(_module), _class)
_forward = _encoder.forward


@functools.wraps(_forward)
def forward(self, *args, **kwargs):
    entry = _entry(_now['phase'])
    lengths = kwargs.get('feature_lens', args[1] if len(args) > 1 else None)
    entry['calls'] += 1
    SETUP.setdefault('encoder_partitioned', all(hasattr(p, 'ds_id') for p in self.parameters()))
    entry['audios'] += len(lengths) if lengths is not None else 1
    return _forward(self, *args, **kwargs)


_encoder.forward = forward


@atexit.register
def _write():
    with open(f'{os.environ["AUDIO_COUNT_FILE"]}.{os.environ.get("RANK", "0")}', 'w') as f:
        json.dump({**COUNTS, 'setup': SETUP}, f, indent=1, sort_keys=True)
