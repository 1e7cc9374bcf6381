"""ms-swift registrations that make the model families of :mod:`swift_tars.models` work under transformers 5.

Called by ``plugin.py`` (training) and by the evaluation engine (``swift-tars eval`` / ``probe`` load no plugin);
idempotent. What is registered is read off :data:`swift_tars.models.FAMILIES`:

- ``swift_model_arch``: ms-swift model-arch keys naming the transformers 5 module layout, where ms-swift 4.6.0's
  predate it (they steer ``--target_modules all-linear`` and ``--freeze_vit``);
- ``qwen2_audio`` template: ms-swift's writes one ``<|AUDIO|>`` per clip and leaves the expansion to the model's
  deprecated legacy merge (which needs an attention mask, guesses the padding side and re-lays out the sequence);
  here the placeholder is expanded to one token per audio frame, as the transformers 5 processor does;
- ``phi4_multimodal_native`` model type and template: ms-swift's ``phi4_multimodal`` is written for the remote-code
  ``Phi4MMForCausalLM`` (its loader patches attributes the native feature extractor lacks, its template passes
  ``audios=`` and reads ``input_audio_embeds``); this one loads transformers' ``Phi4MultimodalForCausalLM`` with its
  own processor (audio only).

Uses ms-swift's public registries (``swift.model.MODEL_MAPPING`` / ``register_model`` / ``register_model_arch``,
``swift.template.TEMPLATE_MAPPING`` / ``register_template``) and the template's ``_encode`` / ``_extend_tokens`` /
``_data_collator`` (listed in ``swift_tars/grpo/trainer.py``'s docstring with the other ms-swift internals; their
signatures are checked by tests/test_models.py).
"""
from typing import Any, Dict

from swift_tars.models import FAMILIES, family


def register_model_arches() -> None:
    """ms-swift model-arch keys of the transformers 5 layout for the families that declare them."""
    from swift.model import MODEL_MAPPING, MultiModelKeys, register_model_arch

    for fam in FAMILIES.values():
        if fam.swift_model_arch and fam.model_type in MODEL_MAPPING:
            arch = MultiModelKeys(fam.swift_model_arch[0], **fam.swift_model_arch[1])
            register_model_arch(arch, exist_ok=True)
            MODEL_MAPPING[fam.model_type].model_arch = arch  # the model meta holds the resolved keys


def qwen2_audio_tokens(feature_lengths) -> list:
    """Audio tokens per clip of Qwen2-Audio from its mel-frame counts (conv stride 2, then pooling stride 2).

    >>> qwen2_audio_tokens([3000, 560])
    [750, 140]
    """
    return [((int(n) - 1) // 2 + 1 - 2) // 2 + 1 for n in feature_lengths]


def _expanded_qwen2_audio_template(base):

    class Qwen2AudioExpandedTemplate(base):
        """ms-swift's Qwen2-Audio template with each ``<|AUDIO|>`` expanded to its clip's audio tokens."""

        def _encode(self, inputs) -> Dict[str, Any]:
            encoded = super()._encode(inputs)
            mask = encoded.get('feature_attention_mask')
            if mask is None:
                return encoded
            token = self.processor.tokenizer.convert_tokens_to_ids(family('qwen2_audio').audio_token)
            counts = qwen2_audio_tokens(mask.sum(-1).tolist())
            positions = [i for i, t in enumerate(encoded['input_ids']) if t == token]
            encoded['input_ids'], encoded['labels'], encoded['loss_scale'] = self._extend_tokens(
                encoded['input_ids'], encoded['labels'], encoded.get('loss_scale'), positions,
                lambda i: [token] * counts[i])
            return encoded

    Qwen2AudioExpandedTemplate.tars_expanded = True
    return Qwen2AudioExpandedTemplate


def register_templates() -> None:
    """The families' template fixes over ms-swift's templates (idempotent)."""
    from swift.template import TEMPLATE_MAPPING

    meta = TEMPLATE_MAPPING.get('qwen2_audio')
    if meta is not None and not getattr(meta.template_cls, 'tars_expanded', False):
        meta.template_cls = _expanded_qwen2_audio_template(meta.template_cls)


PHI4_NATIVE = 'phi4_multimodal_native'


def _phi4_native_template():
    """ms-swift template of the transformers-native Phi-4-multimodal (audio only): ms-swift's Phi-3 chat format, one
    ``<|endoftext11|>`` per clip expanded to the clip's ``audio_embed_sizes``, the native processor's audio inputs."""
    import torch
    from swift.template import Template
    from swift.template.vision_utils import load_audio

    class Phi4NativeTemplate(Template):
        placeholder_tokens = [family(PHI4_NATIVE).audio_token]

        def replace_tag(self, media_type, index, inputs):
            if media_type != 'audio':
                raise ValueError(f'{PHI4_NATIVE}: only audio is supported by swift-tars, not {media_type}')
            return [family(PHI4_NATIVE).audio_token]

        def _encode(self, inputs) -> Dict[str, Any]:
            encoded = super()._encode(inputs)
            if not inputs.audios:
                return encoded
            clips = [load_audio(a, sampling_rate=16000) for a in inputs.audios]
            features = self.processor.audio_processor(clips, sampling_rate=16000, return_tensors='pt')
            token = self.processor.tokenizer.convert_tokens_to_ids(family(PHI4_NATIVE).audio_token)
            sizes = features['audio_embed_sizes'].tolist()
            positions = [i for i, t in enumerate(encoded['input_ids']) if t == token]
            encoded['input_ids'], encoded['labels'], encoded['loss_scale'] = self._extend_tokens(
                encoded['input_ids'], encoded['labels'], encoded.get('loss_scale'), positions,
                lambda i: [token] * int(sizes[i]))
            mask = features.get('audio_attention_mask')
            frames = features['audio_input_features'].shape[1]
            encoded['audio_input_features'] = features['audio_input_features']
            encoded['audio_embed_sizes'] = features['audio_embed_sizes']
            encoded['audio_attention_mask'] = mask if mask is not None else torch.ones(len(clips), frames, dtype=bool)
            return encoded

        def _data_collator(self, batch, *, padding_to=None) -> Dict[str, Any]:
            res = super()._data_collator(batch, padding_to=padding_to)
            clips = [b for b in batch if b.get('audio_input_features') is not None]
            if clips:
                frames = max(b['audio_input_features'].shape[1] for b in clips)
                pad = [frames - b['audio_input_features'].shape[1] for b in clips]
                res['audio_input_features'] = torch.cat(
                    [torch.nn.functional.pad(b['audio_input_features'], (0, 0, 0, p)) for b, p in zip(clips, pad)])
                res['audio_attention_mask'] = torch.cat(
                    [torch.nn.functional.pad(b['audio_attention_mask'], (0, p)) for b, p in zip(clips, pad)])
                res['audio_embed_sizes'] = torch.cat([b['audio_embed_sizes'] for b in clips])
            return res

    return Phi4NativeTemplate


def register_phi4_native() -> None:
    """Model type and template ``phi4_multimodal_native`` for transformers' ``Phi4MultimodalForCausalLM``."""
    from swift.model import MODEL_MAPPING, Model, ModelGroup, ModelLoader, ModelMeta, register_model
    from swift.template import TEMPLATE_MAPPING, register_template
    from swift.template.templates.microsoft import Phi3TemplateMeta

    if PHI4_NATIVE in MODEL_MAPPING and PHI4_NATIVE in TEMPLATE_MAPPING:
        return

    class Phi4NativeLoader(ModelLoader):

        def get_model(self, model_dir: str, *args, **kwargs):
            from transformers import Phi4MultimodalForCausalLM
            self.auto_model_cls = self.auto_model_cls or Phi4MultimodalForCausalLM
            return super().get_model(model_dir, *args, **kwargs)

    register_template(Phi3TemplateMeta(PHI4_NATIVE, template_cls=_phi4_native_template()), exist_ok=True)
    register_model(ModelMeta(PHI4_NATIVE, [ModelGroup([Model(None, 'microsoft/Phi-4-multimodal-instruct')])],
                             Phi4NativeLoader, template=PHI4_NATIVE, model_arch=None,
                             architectures=['Phi4MultimodalForCausalLM'], requires=['transformers>=5'],
                             is_multimodal=True, tags=['audio']), exist_ok=True)


def register_families() -> None:
    register_phi4_native()
    register_model_arches()
    register_templates()
