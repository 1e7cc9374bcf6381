"""The model-family table (swift_tars/models.py): lookups, the start-up error for an unsupported model, the paths
against the transformers classes (built on the meta device), and the ms-swift internals swift_families.py uses."""
import inspect
from types import SimpleNamespace

import pytest

from swift_tars.models import FAMILIES, UnsupportedModelError, family, family_of, model_type_of, supported_types


def test_lookup_by_ms_swift_type_config_and_peft():
    assert supported_types() == ('qwen2_5_omni', 'qwen2_audio', 'qwen3_omni_moe', 'phi4_multimodal_native')
    assert family('qwen2_audio').decoder_layers == 'model.language_model.layers'
    swift_loaded = SimpleNamespace(model_info=SimpleNamespace(model_type='qwen3_omni_moe'), config=None)
    assert family_of(swift_loaded) is FAMILIES['qwen3_omni_moe']
    plain = SimpleNamespace(config=SimpleNamespace(model_type='qwen2_5_omni'))
    peft = SimpleNamespace(get_base_model=lambda: plain)
    assert model_type_of(peft) == 'qwen2_5_omni' and family_of(peft).output_layer == 'thinker.lm_head'
    native_phi4 = SimpleNamespace(config=SimpleNamespace(model_type='phi4_multimodal'))  # transformers' own type
    assert family_of(native_phi4).model_type == 'phi4_multimodal_native'
    ms_swift_phi4 = SimpleNamespace(model_info=SimpleNamespace(model_type='phi4_multimodal'), config=None)
    with pytest.raises(UnsupportedModelError):  # ms-swift's remote-code type is not the native family
        family_of(ms_swift_phi4)


def test_unsupported_names_the_supported_types_and_where_to_add_one():
    with pytest.raises(UnsupportedModelError) as e:
        family('llama')
    message = str(e.value)
    assert "'llama'" in message and 'swift_tars/models.py' in message
    assert all(t in message for t in supported_types())


def test_trainer_refuses_an_unsupported_model_before_ms_swift_builds_anything(monkeypatch):
    from swift.rlhf_trainers import GRPOTrainer

    from swift_tars.grpo.trainer import TarsGRPOTrainer

    monkeypatch.setattr(GRPOTrainer, '__init__', lambda *a, **k: pytest.fail('GRPOTrainer.__init__ was reached'))
    model = SimpleNamespace(model_info=SimpleNamespace(model_type='qwen2'), config=None)
    with pytest.raises(UnsupportedModelError, match='qwen2_audio, qwen3_omni_moe'):
        TarsGRPOTrainer(model=model)


@pytest.mark.parametrize('model_type', sorted(FAMILIES))
def test_paths_exist_on_the_transformers_class(model_type):
    """Every path of the family resolves on its class built from a default config on the meta device."""
    import importlib

    import torch
    import transformers

    from swift_tars.models import get_path
    fam = FAMILIES[model_type]
    config = transformers.AutoConfig.for_model(fam.config_model_type or model_type)
    config.enable_audio_output = False  # the Omni talkers are not built
    with torch.device('meta'):
        model = getattr(transformers, fam.architecture)(config)
    for path in (fam.decoder_layers, fam.final_norm, fam.output_layer):
        assert get_path(model, path) is not None, (model_type, path)
    module, name = fam.policy_forward.split(':')
    assert isinstance(model, getattr(importlib.import_module(module), name)) or any(
        isinstance(m, getattr(importlib.import_module(module), name)) for m in model.children())


def test_ms_swift_template_internals_used_by_the_family_fixes():
    from swift.template import TEMPLATE_MAPPING, Template

    assert str(inspect.signature(Template._extend_tokens)) == (
        '(input_ids: List[int], labels: Optional[List[int]], loss_scale: Optional[List[float]], replace_idx_list: '
        'List[int], get_new_tokens: Callable[[int], List[int]], mm_mask: Optional[List[bool]] = None)')
    assert str(inspect.signature(Template._encode)) == (
        '(self, inputs: swift.template.template_inputs.StdTemplateInputs) -> Dict[str, Any]')
    assert str(inspect.signature(Template._data_collator)) == (
        '(self, batch: List[Dict[str, Any]], *, padding_to: Optional[int] = None) -> Dict[str, Any]')
    assert 'qwen2_audio' in TEMPLATE_MAPPING


def test_qwen2_audio_token_count_matches_transformers():
    import torch
    from transformers.models.qwen2_audio.modeling_qwen2_audio import Qwen2AudioEncoder

    from swift_tars.swift_families import qwen2_audio_tokens
    lengths = [3000, 1, 7, 560, 2999]
    _, expected = Qwen2AudioEncoder._get_feat_extract_output_lengths(None, torch.tensor(lengths))
    assert qwen2_audio_tokens(lengths) == expected.tolist()
