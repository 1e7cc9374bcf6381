"""Offline stand-ins for the model families beyond Qwen2.5-Omni (:mod:`swift_tars.models`): tiny random
checkpoints with the real transformers class, module layout, tokenizer special tokens, processor and chat
template, loadable by ms-swift's own loader of that model type.

- :func:`build_tiny_qwen2_audio` — ``Qwen2AudioForConditionalGeneration`` (Whisper-style audio tower, Qwen2 LLM).
- :func:`build_tiny_qwen3_omni` — ``Qwen3OmniMoeForConditionalGeneration`` with a mixture-of-experts thinker
  (talker not built).
- :func:`build_tiny_model` — any supported model type by name (the demo's ``--model_type``).

All are seeded; ``warm_start`` teacher-forces the text decoder like :func:`~swift_tars.testing.models.build_tiny_omni`.
"""
from pathlib import Path
from typing import Dict, Optional, Sequence

from swift_tars.testing.models import (
    OMNI_SPECIAL_TOKENS,
    PathLike,
    _quiet_transformers,
    _train_bpe,
    build_tiny_omni,
    build_tiny_tokenizer,
)
from swift_tars.testing.warm_start import WarmStart, teacher_force

# Qwen2-Audio-7B-Instruct's chat template (audio parts numbered "Audio k: ...").
QWEN2_AUDIO_CHAT_TEMPLATE = (
    "{% set audio_count = namespace(value=0) %}"
    "{%- for message in messages %}"
    "{%- if loop.first and message['role'] != 'system' %}<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{%- endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{%- if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{%- else %}{%- for content in message['content'] %}"
    "{%- if 'audio' in content or 'audio_url' in content %}{% set audio_count.value = audio_count.value + 1 %}"
    "Audio {{ audio_count.value }}: <|audio_bos|><|AUDIO|><|audio_eos|>\n"
    "{%- elif 'text' in content %}{{ content['text'] }}{%- endif %}{%- endfor %}<|im_end|>\n"
    "{%- endif %}{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}")


def _text_config(ids: Dict[str, int], vocab: int, hidden_size: int, num_layers: int, **extra) -> dict:
    """A tiny Qwen2-style decoder config (head dim 16)."""
    return dict(vocab_size=vocab, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                num_hidden_layers=num_layers, num_attention_heads=hidden_size // 16,
                num_key_value_heads=max(1, hidden_size // 32), max_position_embeddings=4096,
                tie_word_embeddings=False, pad_token_id=ids['<|endoftext|>'], eos_token_id=ids['<|im_end|>'], **extra)


def _finish(model, tokenizer, vocab: int, eos: str, pad: str) -> None:
    """Generation config: stop at ``eos``, never sample other special tokens or the vocabulary's padding rows."""
    ids = set(tokenizer.all_special_ids) - {tokenizer.convert_tokens_to_ids(eos)}
    gen = model.generation_config
    gen.eos_token_id = tokenizer.convert_tokens_to_ids(eos)
    gen.pad_token_id = tokenizer.convert_tokens_to_ids(pad)
    gen.suppress_tokens = sorted(ids) + list(range(len(tokenizer), vocab))


def build_tiny_qwen2_audio(out_dir: PathLike, *, seed: int = 0, num_layers: int = 4, hidden_size: int = 64,
                           warm_start: Optional[Sequence[WarmStart]] = None, warm_start_steps: int = 150,
                           warm_start_batch_size: int = 16) -> Path:
    """Writes a tiny random Qwen2-Audio checkpoint (``Qwen2AudioForConditionalGeneration``) to ``out_dir``.

    ``num_layers`` Qwen2 decoder layers of width ``hidden_size``, a 2-layer Whisper-style audio encoder (d_model
    32, 128 mel bins, 30 s windows as released), Qwen2-Audio's special tokens, processor and chat template.
    """
    import torch
    from transformers import (
        Qwen2AudioConfig,
        Qwen2AudioForConditionalGeneration,
        Qwen2AudioProcessor,
        WhisperFeatureExtractor,
    )

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_tiny_tokenizer()
    tokenizer.chat_template = QWEN2_AUDIO_CHAT_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in OMNI_SPECIAL_TOKENS}
    vocab = (len(tokenizer) + 63) // 64 * 64
    config = Qwen2AudioConfig(
        text_config=dict(model_type='qwen2', **_text_config(ids, vocab, hidden_size, num_layers)),
        audio_config=dict(num_mel_bins=128, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64,
                          d_model=32, max_source_positions=1500),
        audio_token_index=ids['<|AUDIO|>'])
    config.pad_token_id = ids['<|endoftext|>']
    model = Qwen2AudioForConditionalGeneration(config).eval()
    _finish(model, tokenizer, vocab, '<|im_end|>', '<|endoftext|>')
    processor = Qwen2AudioProcessor(
        feature_extractor=WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160, n_fft=400,
                                                  chunk_length=30, return_attention_mask=True),
        tokenizer=tokenizer, chat_template=QWEN2_AUDIO_CHAT_TEMPLATE)
    if warm_start:
        teacher_force(model, processor, warm_start, warm_start_steps, warm_start_batch_size)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


# Qwen3-Omni's special tokens the tiny stand-in needs (the released tokenizer's names), and the named media tokens
# its processor reads from the tokenizer.
QWEN3_OMNI_SPECIAL_TOKENS = [
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|vision_start|>', '<|vision_end|>', '<|vision_pad|>',
    '<|image_pad|>', '<|video_pad|>', '<tool_call>', '</tool_call>', '<|audio_start|>', '<|audio_end|>',
    '<tts_pad>', '<tts_text_bos>', '<tts_text_eod>', '<tts_text_bos_single>', '<|audio_pad|>'
]
QWEN3_OMNI_NAMED_TOKENS = {
    'image_token': '<|image_pad|>', 'audio_token': '<|audio_pad|>', 'video_token': '<|video_pad|>',
    'vision_bos_token': '<|vision_start|>', 'vision_eos_token': '<|vision_end|>',
    'audio_bos_token': '<|audio_start|>', 'audio_eos_token': '<|audio_end|>'
}
QWEN3_OMNI_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{%- if message['content'] is string %}{{ message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'audio' or 'audio' in part %}<|audio_start|><|audio_pad|><|audio_end|>"
    "{%- elif part['type'] == 'image' or 'image' in part %}<|vision_start|><|image_pad|><|vision_end|>"
    "{%- elif part['type'] == 'video' or 'video' in part %}<|vision_start|><|video_pad|><|vision_end|>"
    "{%- elif part['type'] == 'text' %}{{ part['text'] }}"
    "{%- endif %}{%- endfor %}{%- endif %}"
    "<|im_end|>\n"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}")


def _qwen3_omni_tokenizer():
    """A ``Qwen2Tokenizer`` (byte-level BPE trained here) with Qwen3-Omni's special and named media tokens."""
    from transformers import Qwen2Tokenizer

    vocab, merges = _train_bpe(1000)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token='<|im_end|>', pad_token='<|endoftext|>',
                               unk_token=None, extra_special_tokens=dict(QWEN3_OMNI_NAMED_TOKENS))
    tokenizer.add_special_tokens({'additional_special_tokens': QWEN3_OMNI_SPECIAL_TOKENS})
    tokenizer.chat_template = QWEN3_OMNI_CHAT_TEMPLATE
    return tokenizer


def _qwen3_omni_config(ids: Dict[str, int], vocab: int, hidden_size: int, num_layers: int, num_experts: int):
    """Tiny ``Qwen3OmniMoeConfig``: MoE thinker (``num_experts``, 2 active), 2-layer audio, 1-layer vision; the talker
    and code2wav are declared (ms-swift reads their configs) but not built (``enable_audio_output=False``)."""
    from transformers import Qwen3OmniMoeConfig

    text = _text_config(ids, vocab, hidden_size, num_layers, head_dim=16, num_experts=num_experts,
                        num_experts_per_tok=2, moe_intermediate_size=hidden_size, decoder_sparse_step=1,
                        rope_parameters={'rope_type': 'default', 'rope_theta': 1e6, 'mrope_section': [4, 2, 2],
                                         'mrope_interleaved': True, 'interleaved': True})
    audio = dict(num_mel_bins=128, encoder_layers=2, encoder_attention_heads=2, encoder_ffn_dim=64, d_model=32,
                 output_dim=hidden_size, downsample_hidden_size=16, max_source_positions=1500, n_window=50,
                 n_window_infer=800, conv_chunksize=500)
    vision = dict(depth=1, hidden_size=32, intermediate_size=64, num_heads=2, patch_size=16, spatial_merge_size=2,
                  temporal_patch_size=2, out_hidden_size=hidden_size, num_position_embeddings=64,
                  deepstack_visual_indexes=[0])
    thinker = dict(text_config=text, audio_config=audio, vision_config=vision, audio_token_id=ids['<|audio_pad|>'],
                   image_token_id=ids['<|image_pad|>'], video_token_id=ids['<|video_pad|>'],
                   audio_start_token_id=ids['<|audio_start|>'], vision_start_token_id=ids['<|vision_start|>'],
                   tie_word_embeddings=False)
    return Qwen3OmniMoeConfig(thinker_config=thinker, enable_audio_output=False,
                              im_start_token_id=ids['<|im_start|>'], im_end_token_id=ids['<|im_end|>'],
                              tts_pad_token_id=ids['<tts_pad>'], tts_bos_token_id=ids['<tts_text_bos>'],
                              tts_eos_token_id=ids['<tts_text_eod>'])


def build_tiny_qwen3_omni(out_dir: PathLike, *, seed: int = 0, num_layers: int = 4, hidden_size: int = 64,
                          num_experts: int = 4, warm_start: Optional[Sequence[WarmStart]] = None,
                          warm_start_steps: int = 150, warm_start_batch_size: int = 16) -> Path:
    """Writes a tiny random Qwen3-Omni checkpoint (``Qwen3OmniMoeForConditionalGeneration``, thinker only in use).

    ``num_layers`` MoE decoder layers of width ``hidden_size`` with ``num_experts`` experts, Qwen3-Omni's special
    tokens, processor (Whisper features, 128 mel bins, no truncation) and a chatml chat template.
    """
    import torch
    from transformers import (
        Qwen2VLImageProcessorPil,
        Qwen2VLVideoProcessor,
        Qwen3OmniMoeForConditionalGeneration,
        Qwen3OmniMoeProcessor,
        WhisperFeatureExtractor,
    )

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = _qwen3_omni_tokenizer()
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in QWEN3_OMNI_SPECIAL_TOKENS}
    vocab = (len(tokenizer) + 63) // 64 * 64
    model = Qwen3OmniMoeForConditionalGeneration(_qwen3_omni_config(ids, vocab, hidden_size, num_layers,
                                                                    num_experts)).eval()
    _finish(model, tokenizer, vocab, '<|im_end|>', '<|endoftext|>')
    processor = Qwen3OmniMoeProcessor(
        image_processor=Qwen2VLImageProcessorPil(min_pixels=64 * 64, max_pixels=32 * 32 * 64, patch_size=16,
                                                 temporal_patch_size=2, merge_size=2),
        video_processor=Qwen2VLVideoProcessor(patch_size=16),
        feature_extractor=WhisperFeatureExtractor(feature_size=128, sampling_rate=16000, hop_length=160, n_fft=400,
                                                  return_attention_mask=True),
        tokenizer=tokenizer, chat_template=QWEN3_OMNI_CHAT_TEMPLATE)
    if warm_start:
        teacher_force(model.thinker, processor, warm_start, warm_start_steps, warm_start_batch_size)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


# Phi-4-multimodal: image/audio placeholders are <|endoftext10|> / <|endoftext11|>; ms-swift's Phi-3 chat format.
PHI4_SPECIAL_TOKENS = ['<|endoftext|>', '<|endoftext10|>', '<|endoftext11|>', '<|system|>', '<|end|>', '<|user|>',
                       '<|assistant|>']
PHI4_CHAT = '<|system|>\n{system}<|end|>\n<|user|>\n{user}<|end|>\n<|assistant|>\n{answer}<|end|>'
PHI4_CHAT_TEMPLATE = ("{% for message in messages %}<|{{ message['role'] }}|>\n{{ message['content'] }}<|end|>\n"
                      "{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}")


def _phi4_config(ids: Dict[str, int], vocab: int, hidden_size: int, num_layers: int):
    """Tiny native ``Phi4MultimodalConfig``: Phi-3-style decoder, 1-block conformer audio encoder, 1-layer vision."""
    from transformers import Phi4MultimodalConfig

    return Phi4MultimodalConfig(
        vocab_size=vocab, hidden_size=hidden_size, intermediate_size=2 * hidden_size, num_hidden_layers=num_layers,
        num_attention_heads=hidden_size // 16, num_key_value_heads=max(1, hidden_size // 32),
        max_position_embeddings=4096, original_max_position_embeddings=4096, tie_word_embeddings=False,
        bos_token_id=ids['<|endoftext|>'], eos_token_id=[ids['<|end|>']], pad_token_id=ids['<|endoftext|>'],
        rope_parameters={'rope_type': 'default', 'rope_theta': 10000.0, 'partial_rotary_factor': 0.75},
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2,
                           image_size=56, patch_size=14, crop_size=56, image_token_id=ids['<|endoftext10|>']),
        audio_config=dict(hidden_size=32, intermediate_size=64, num_blocks=1, num_attention_heads=2,
                          nemo_conv_channels=32, depthwise_separable_out_channel=32, ext_pw_out_channel=32,
                          input_size=80, nemo_final_size=10, audio_token_id=ids['<|endoftext11|>']))


def build_tiny_phi4_multimodal(out_dir: PathLike, *, seed: int = 0, num_layers: int = 4, hidden_size: int = 64,
                               warm_start: Optional[Sequence[WarmStart]] = None, warm_start_steps: int = 150,
                               warm_start_batch_size: int = 16) -> Path:
    """Writes a tiny random transformers-native Phi-4-multimodal (``Phi4MultimodalForCausalLM``) to ``out_dir``:
    its special tokens, processor (80-bin log-mel audio features) and the Phi-3 chat format."""
    import torch
    from transformers import (
        Phi4MultimodalFeatureExtractor,
        Phi4MultimodalForCausalLM,
        Phi4MultimodalImageProcessor,
        Phi4MultimodalProcessor,
        Qwen2Tokenizer,
    )

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    vocab_map, merges = _train_bpe(1000)
    tokenizer = Qwen2Tokenizer(vocab=vocab_map, merges=merges, eos_token='<|end|>', pad_token='<|endoftext|>',
                               unk_token=None, extra_special_tokens={'image_token': '<|endoftext10|>',
                                                                     'audio_token': '<|endoftext11|>'})
    tokenizer.add_special_tokens({'additional_special_tokens': PHI4_SPECIAL_TOKENS})
    tokenizer.chat_template = PHI4_CHAT_TEMPLATE
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in PHI4_SPECIAL_TOKENS}
    vocab = (len(tokenizer) + 63) // 64 * 64
    model = Phi4MultimodalForCausalLM(_phi4_config(ids, vocab, hidden_size, num_layers)).eval()
    _finish(model, tokenizer, vocab, '<|end|>', '<|endoftext|>')
    processor = Phi4MultimodalProcessor(image_processor=Phi4MultimodalImageProcessor(),
                                        audio_processor=Phi4MultimodalFeatureExtractor(), tokenizer=tokenizer)
    if warm_start:
        teacher_force(model, processor, warm_start, warm_start_steps, warm_start_batch_size, chat=PHI4_CHAT)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


BUILDERS = {'qwen2_5_omni': build_tiny_omni, 'qwen2_audio': build_tiny_qwen2_audio,
            'qwen3_omni_moe': build_tiny_qwen3_omni, 'phi4_multimodal_native': build_tiny_phi4_multimodal}


def build_tiny_model(model_type: str, out_dir: PathLike, **kwargs) -> Path:
    """The tiny stand-in of ``model_type`` (a supported family with an offline builder) written to ``out_dir``."""
    if model_type not in BUILDERS:
        raise ValueError(f'no tiny offline stand-in for model type {model_type!r}; built here: {", ".join(BUILDERS)}')
    return BUILDERS[model_type](out_dir, **kwargs)
