"""The private ms-swift API that swift_tars/grpo/trainer.py relies on: fails loudly if ms-swift changes."""
import inspect
import os
import re
import sys

from swift.rlhf_trainers import GRPOTrainer

import swift_tars
from swift_tars.grpo import trainer


def test_pinned_version():
    import swift
    assert swift.__version__ == swift_tars.SWIFT_VERSION, (
        f'ms-swift {swift.__version__} is installed but swift-tars is pinned to {swift_tars.SWIFT_VERSION}: re-check '
        'every hook in swift_tars/grpo/trainer.py before changing the pin')


def test_overridden_and_called_methods_keep_their_signatures():
    changed = {}
    for name, expected in trainer.SWIFT_HOOKS.items():
        method = getattr(GRPOTrainer, name, None)
        got = None if method is None else str(inspect.signature(method))
        if got != expected:
            changed[name] = (expected, got)
    assert not changed, f'ms-swift changed hooks swift-tars relies on (name: expected, found): {changed}'


def test_attributes_are_still_assigned_by_ms_swift():
    from swift.rlhf_trainers import rlhf_mixin, rollout_mixin
    source = inspect.getsource(GRPOTrainer) + inspect.getsource(rollout_mixin) + inspect.getsource(rlhf_mixin)
    missing = [a for a in trainer.SWIFT_ATTRIBUTES if not re.search(rf'self\.{a}\s*(?::[^=]+)?=', source)]
    assert not missing, f'ms-swift no longer assigns {missing}; swift_tars/grpo/trainer.py reads them'


def test_data_classes_have_the_fields_we_use():
    import dataclasses

    from swift.rl_core.data import GRPOBatch, GRPOSample
    assert {'extra', 'messages', 'audios'} <= {f.name for f in dataclasses.fields(GRPOSample)}
    assert {'completion_mask', 'logits_to_keep'} <= {f.name for f in dataclasses.fields(GRPOBatch)}
    assert hasattr(GRPOSample, 'to_reward_row')


def test_every_hook_is_documented_in_the_trainer_docstring():
    doc = trainer.__doc__
    undocumented = [n for n in list(trainer.SWIFT_HOOKS) + list(trainer.SWIFT_ATTRIBUTES) if f'``{n}``' not in doc
                    and f'GRPOTrainer.{n}``' not in doc]
    assert not undocumented, f'list these in swift_tars/grpo/trainer.py\'s docstring: {undocumented}'


def test_trainer_mapping_is_a_dotted_path_we_can_replace():
    from swift.trainers import TrainerFactory
    assert isinstance(TrainerFactory.TRAINER_MAPPING['grpo'], str)


def test_plugin_registers_rewards_and_trainer():
    from swift.rewards import orms
    from swift.trainers import TrainerFactory
    from swift.utils import import_external_file

    from swift_tars.cli import plugin_path
    original = TrainerFactory.TRAINER_MAPPING['grpo']
    try:
        for _ in range(2):  # swift rollout / deploy import the plugins a second time in the same process
            import_external_file(plugin_path())
            # our module names must not shadow top-level ones; plugin.py relies on import_external_file's caching
            assert os.path.dirname(plugin_path()) not in sys.path, (
                'swift.utils.import_external_file changed how it names or caches plugin modules; update plugin.py')
        for name in ('tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior', 'tars_agreement'):
            assert name in orms, name
        assert TrainerFactory.TRAINER_MAPPING['grpo'] == 'swift_tars.grpo.trainer.TarsGRPOTrainer'
        assert TrainerFactory.get_trainer_cls(type('A', (), {'rlhf_type': 'grpo'})) is trainer.TarsGRPOTrainer
    finally:
        TrainerFactory.TRAINER_MAPPING['grpo'] = original


def test_dataset_loading_hook_keeps_its_signature():
    """The plugin wraps RLHFArguments.load_dataset to check rows before ms-swift reads them (data/datasets.py)."""
    from swift.arguments import RLHFArguments
    from swift.pipelines.train import sft

    from swift_tars.data.datasets import install_row_checks
    assert str(inspect.signature(RLHFArguments.load_dataset)) == '(self)'
    assert 'args.load_dataset()' in inspect.getsource(sft.SwiftSft._get_dataset)
    install_row_checks()
    install_row_checks()  # idempotent: wrapped once
    assert RLHFArguments.load_dataset.tars_row_checks
    assert not getattr(RLHFArguments.load_dataset.__closure__[0].cell_contents, 'tars_row_checks', False)


def test_audio_counter_plugin_phases_are_trainer_methods():
    """tests/plugins/audio_counter.py labels ZeRO-3 phases by wrapping these methods; ``_generate_completions`` is
    ms-swift's generation stage (rollout_mixin), the others are TarsGRPOTrainer's."""
    assert str(inspect.signature(GRPOTrainer._generate_completions)) == (
        '(self, samples: List[swift.rl_core.data.OnPolicySample]) -> List[swift.rl_core.data.OnPolicySample]')
    for name in ('_prepare_batch_inputs', '_run_teacher', '_compute_loss_and_metrics'):
        assert callable(getattr(trainer.TarsGRPOTrainer, name)), name


def test_raw_judge_prompts_bypass_the_chat_template():
    """swift_tars/judging/serving.py sends xFinder's raw prompts through the ``dummy`` template with
    ``engine.template.use_chat_template = False``: ms-swift would otherwise render a ``dummy`` request with the
    tokenizer's chat template at inference (``Template._encode``)."""
    from swift.template import Template

    source = inspect.getsource(Template._encode)
    assert "template_type == 'dummy'" in source and 'self.use_chat_template' in source, \
        'ms-swift changed how a dummy template is rendered at inference: re-check LocalCompleter(raw=True)'
    assert 'use_chat_template' in inspect.signature(Template.__init__).parameters
