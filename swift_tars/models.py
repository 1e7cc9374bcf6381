"""Model families: the one home of everything swift-tars knows about a speech-LLM architecture.

Per family (keyed by the ms-swift model type, which is also the transformers ``config.model_type``): where the
text decoder's layers, final norm and output layer live on the loaded model, what ms-swift's template turns the
``<audio>`` tag into, the transformers class whose ``forward`` is one policy forward, the LoRA targets of its
text decoder, and the quirks of the CORD text teacher view. The trainer, the rewards, the probe and the test
stand-ins ask here; none of them names a module path.

**Adding a family**: one :class:`ModelFamily` entry in :data:`FAMILIES` (read the paths off the transformers class
with ``print(model)``), a tiny offline builder in ``swift_tars/testing/`` and a ``tests/test_family_<type>.py``
(end-to-end GRPO run, capture depth, teacher view). Pure Python: no torch, no ms-swift, importable from every layer.
"""
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

ADD_A_FAMILY = 'add one as a ModelFamily entry in swift_tars/models.py (FAMILIES; see docs/architecture.md)'


class UnsupportedModelError(ValueError):
    """The model is not one of the supported families; the message names them and where to add one."""


@dataclass(frozen=True)
class ModelFamily:
    """What swift-tars needs to know about one architecture. Paths are dotted attribute paths from the loaded
    model (a PEFT wrapper is looked through)."""
    model_type: str  # ms-swift model type == transformers config.model_type
    architecture: str  # the transformers class ms-swift loads
    decoder_layers: str  # the text decoder's layer list (hooked by tars_representation)
    final_norm: str  # input of the output layer (the CORD teacher's last hidden states)
    output_layer: str  # the logits projection
    audio_prompt: str  # what ms-swift's template writes for one <audio> tag (before the processor expands it)
    audio_token: str  # the placeholder token the audio features replace
    policy_forward: str  # 'module:Class' whose forward runs once per policy forward (not the audio tower)
    lora_targets: str  # regex of the text decoder's linears (what --target_modules all-linear should hit)
    audio_inputs: str = 'input_features'  # the model-input key of the audio features
    teacher_drop_inputs: Tuple[str, ...] = ()  # model-input keys the text teacher view must not carry
    # ms-swift model-arch keys to register over ms-swift's own (name, {language_model, aligner, vision_tower}) when
    # those predate transformers 5's layout (they steer --target_modules all-linear and --freeze_vit)
    swift_model_arch: Optional[Tuple[str, Dict[str, Any]]] = None
    config_model_type: Optional[str] = None  # transformers config.model_type when it differs from model_type
    notes: str = ''


_QWEN_LINEARS = r'\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)'
_OMNI_AUDIO = '<|audio_bos|><|AUDIO|><|audio_eos|>'

FAMILIES: Dict[str, ModelFamily] = {
    f.model_type: f
    for f in (
        ModelFamily(
            model_type='qwen2_5_omni',
            architecture='Qwen2_5OmniForConditionalGeneration',
            decoder_layers='thinker.model.layers',
            final_norm='thinker.model.norm',
            output_layer='thinker.lm_head',
            audio_prompt=_OMNI_AUDIO,
            audio_token='<|AUDIO|>',
            policy_forward='transformers.models.qwen2_5_omni.modeling_qwen2_5_omni:'
            'Qwen2_5OmniThinkerForConditionalGeneration',
            lora_targets=r'.*thinker\.model\.layers' + _QWEN_LINEARS,
            notes='the thinker is trained; the talker is not built (ENABLE_AUDIO_OUTPUT=0)'),
        ModelFamily(
            model_type='qwen2_audio',
            architecture='Qwen2AudioForConditionalGeneration',
            decoder_layers='model.language_model.layers',
            final_norm='model.language_model.norm',
            output_layer='lm_head',
            audio_prompt='Audio 1: ' + _OMNI_AUDIO + '\n',
            audio_token='<|AUDIO|>',
            policy_forward='transformers.models.qwen2_audio.modeling_qwen2_audio:Qwen2AudioForConditionalGeneration',
            lora_targets=r'.*model\.language_model\.layers' + _QWEN_LINEARS,
            swift_model_arch=('qwen2_audio', {'language_model': 'model.language_model',
                                              'aligner': 'model.multi_modal_projector',
                                              'vision_tower': 'model.audio_tower'}),
            notes='ms-swift declares transformers<4.49 (a warning only); its model-arch keys name the transformers 4 '
            'layout and its template leaves <|AUDIO|> unexpanded: swift_families.py fixes both'),
        ModelFamily(
            model_type='qwen3_omni_moe',
            architecture='Qwen3OmniMoeForConditionalGeneration',
            decoder_layers='thinker.model.layers',
            final_norm='thinker.model.norm',
            output_layer='thinker.lm_head',
            audio_prompt='<|audio_start|><|audio_pad|><|audio_end|>',
            audio_token='<|audio_pad|>',
            policy_forward='transformers.models.qwen3_omni_moe.modeling_qwen3_omni_moe:'
            'Qwen3OmniMoeThinkerForConditionalGeneration',
            lora_targets=r'.*thinker\.model\.layers\.\d+\.self_attn\.(q|k|v|o)_proj',
            notes='MoE thinker: every decoder layer (sparse MoE block) is hooked; LoRA on attention projections'),
        ModelFamily(
            model_type='phi4_multimodal_native',
            architecture='Phi4MultimodalForCausalLM',
            decoder_layers='model.layers',
            final_norm='model.norm',
            output_layer='lm_head',
            audio_prompt='<|endoftext11|>',
            audio_token='<|endoftext11|>',
            policy_forward='transformers.models.phi4_multimodal.modeling_phi4_multimodal:Phi4MultimodalForCausalLM',
            lora_targets=r'.*model\.layers\.\d+\.(self_attn\.(qkv|o)_proj|mlp\.(gate_up|down)_proj)',
            swift_model_arch=('phi4_multimodal_native', {
                'language_model': 'model.layers',
                'vision_tower': ['model.embed_tokens_extend.image_embed', 'model.embed_tokens_extend.audio_embed']}),
            config_model_type='phi4_multimodal',
            audio_inputs='audio_input_features',
            notes='registered by swift-tars (swift_families.py): ms-swift\'s phi4_multimodal type is written for the '
            'remote-code Phi4MMForCausalLM and cannot load the transformers-native class'),
    )
}
_BY_CONFIG_TYPE = {f.config_model_type or f.model_type: f for f in FAMILIES.values()}


def supported_types() -> Tuple[str, ...]:
    return tuple(FAMILIES)


def family(model_type: Optional[str]) -> ModelFamily:
    """The family of an ms-swift / transformers model type; :class:`UnsupportedModelError` naming the supported
    types and where to add one otherwise."""
    if model_type in FAMILIES:
        return FAMILIES[model_type]
    raise UnsupportedModelError(f'swift-tars does not support model type {model_type!r}; supported: '
                                f'{", ".join(FAMILIES)}. To support another speech LLM, {ADD_A_FAMILY}')


def base_model(model: Any) -> Any:
    """``model`` with a PEFT wrapper looked through."""
    return model.get_base_model() if hasattr(model, 'get_base_model') else model


def model_type_of(model: Any) -> Optional[str]:
    """ms-swift's model type of a loaded model (``model_info``), else the family type of its transformers
    ``config.model_type`` (that type itself when no family has it)."""
    for m in (model, base_model(model)):
        info = getattr(m, 'model_info', None)
        if getattr(info, 'model_type', None):
            return info.model_type
    config_type = getattr(getattr(base_model(model), 'config', None), 'model_type', None)
    return _BY_CONFIG_TYPE[config_type].model_type if config_type in _BY_CONFIG_TYPE else config_type


def family_of(model: Any) -> ModelFamily:
    """The family of a loaded model (PEFT-wrapped or not); :class:`UnsupportedModelError` if none."""
    return family(model_type_of(model))


def get_path(module: Any, path: str) -> Any:
    """The attribute at dotted ``path`` under ``module``, or None."""
    for name in path.split('.'):
        module = getattr(module, name, None)
        if module is None:
            return None
    return module


def module_at(model: Any, path: str, what: str, fam: ModelFamily) -> Any:
    """The module at ``path`` of the (PEFT-unwrapped) ``model``; a ValueError naming the family otherwise."""
    found = get_path(base_model(model), path)
    if found is None:
        raise ValueError(f'{what} of {type(base_model(model)).__name__} not found at {path!r} (model family '
                         f'{fam.model_type}): the transformers layout changed; update FAMILIES in swift_tars/models.py')
    return found
