"""A random-weight Qwen2.5-Omni of a chosen *shape*, for measurements that need the real model's size but no hub.

:data:`QWEN25_OMNI_7B` is the thinker of ``Qwen/Qwen2.5-Omni-7B`` (decoder 28 × 3584, 28 heads / 4 KV heads,
MLP 18944, vocabulary 152,064, untied lm_head; audio encoder 32 × 1280; vision tower 32 × 1280): 8.93 B
parameters, the counts ``swift_tars/commands/memory_plan.py`` plans with. :data:`DRY_RUN` is the same code
path at toy size, for CPU checks. :func:`build_shaped_omni` writes a checkpoint ms-swift loads offline like
the released one: the tiny model's tokenizer, processor and chat template (:mod:`.models`) around a thinker of
the requested shape. Generation never samples a special token or an embedding row beyond the tokenizer.
:func:`build_shaped_embedder` does the same for the ``tars_behavior`` embedder (:data:`QWEN3_EMBEDDING_06B`).
"""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Tuple, Union

from swift_tars.testing.models import (
    OMNI_SPECIAL_TOKENS,
    _omni_processor,
    _quiet_transformers,
    _talker_config,
    _train_bpe,
    build_tiny_tokenizer,
)

PathLike = Union[str, os.PathLike]


@dataclass(frozen=True)
class OmniShape:
    """Dimensions of a Qwen2.5-Omni thinker (the talker is never built)."""
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    mrope_section: Tuple[int, int, int]
    audio_layers: int
    audio_d_model: int
    audio_heads: int
    audio_ffn: int
    vision_depth: int
    vision_hidden: int
    vision_intermediate: int
    vision_heads: int
    vision_fullatt: Tuple[int, ...]


# Qwen/Qwen2.5-Omni-7B config.json, thinker_config (text, audio_config, vision_config).
QWEN25_OMNI_7B = OmniShape('Qwen2.5-Omni-7B thinker', hidden=3584, layers=28, heads=28, kv_heads=4,
                           intermediate=18944, vocab=152064, mrope_section=(16, 24, 24), audio_layers=32,
                           audio_d_model=1280, audio_heads=20, audio_ffn=5120, vision_depth=32, vision_hidden=1280,
                           vision_intermediate=3420, vision_heads=16, vision_fullatt=(7, 15, 23, 31))
# Same code path at toy size (CPU dry runs): a vocabulary larger than the tokenizer, as in the 7B checkpoint.
DRY_RUN = OmniShape('dry-run toy shape', hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128, vocab=2048,
                    mrope_section=(2, 3, 3), audio_layers=2, audio_d_model=32, audio_heads=2, audio_ffn=64,
                    vision_depth=1, vision_hidden=32, vision_intermediate=64, vision_heads=2, vision_fullatt=(0, ))
SHAPES = {'7b': QWEN25_OMNI_7B, 'dry-run': DRY_RUN}
# Qwen/Qwen3-Embedding-0.6B (Qwen3Model, tied embeddings): 595,776,512 parameters.
QWEN3_EMBEDDING_06B = dict(vocab_size=151669, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                           num_attention_heads=16, num_key_value_heads=8, head_dim=128, tie_word_embeddings=True)
EMBEDDER_SHAPES = {'qwen3-embedding-0.6b': QWEN3_EMBEDDING_06B,
                   'dry-run': dict(QWEN3_EMBEDDING_06B, vocab_size=2048, hidden_size=64, intermediate_size=128,
                                   num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16)}


def shaped_config(shape: OmniShape, ids: Mapping[str, int]):
    """The ``Qwen2_5OmniConfig`` of ``shape`` (``enable_audio_output=False``), token ids from ``ids``."""
    from transformers import Qwen2_5OmniConfig

    rope = {'rope_type': 'default', 'rope_theta': 1e6, 'mrope_section': list(shape.mrope_section)}
    text = dict(vocab_size=shape.vocab, hidden_size=shape.hidden, intermediate_size=shape.intermediate,
                num_hidden_layers=shape.layers, num_attention_heads=shape.heads, num_key_value_heads=shape.kv_heads,
                max_position_embeddings=32768, rope_parameters=rope, use_sliding_window=False,
                tie_word_embeddings=False, pad_token_id=ids['<|endoftext|>'], eos_token_id=ids['<|im_end|>'])
    audio = dict(num_mel_bins=128, encoder_layers=shape.audio_layers, encoder_attention_heads=shape.audio_heads,
                 encoder_ffn_dim=shape.audio_ffn, d_model=shape.audio_d_model, output_dim=shape.hidden,
                 max_source_positions=1500, n_window=100)
    vision = dict(depth=shape.vision_depth, hidden_size=shape.vision_hidden,
                  intermediate_size=shape.vision_intermediate, num_heads=shape.vision_heads, patch_size=14,
                  spatial_merge_size=2, temporal_patch_size=2, window_size=112, out_hidden_size=shape.hidden,
                  fullatt_block_indexes=list(shape.vision_fullatt))
    tokens = dict(audio_token_index=ids['<|AUDIO|>'], image_token_index=ids['<|IMAGE|>'],
                  video_token_index=ids['<|VIDEO|>'], audio_start_token_id=ids['<|audio_bos|>'],
                  audio_end_token_id=ids['<|audio_eos|>'], vision_start_token_id=ids['<|vision_bos|>'],
                  vision_end_token_id=ids['<|vision_eos|>'])
    thinker = dict(text_config=text, audio_config=audio, vision_config=vision, pad_token_id=ids['<|endoftext|>'],
                   tie_word_embeddings=False, **tokens)
    head_dim = shape.hidden // shape.heads
    talker = _talker_config(ids, shape.vocab, shape.hidden, head_dim)
    talker['rope_parameters'] = rope
    return Qwen2_5OmniConfig(thinker_config=thinker, talker_config=talker, enable_audio_output=False)


def thinker_parameter_counts(shape: OmniShape) -> dict:
    """Parameters of the thinker's parts (built on the meta device: no memory, no time)."""
    import torch
    from transformers import Qwen2_5OmniForConditionalGeneration

    ids = {t: i for i, t in enumerate(OMNI_SPECIAL_TOKENS)}
    with torch.device('meta'):
        thinker = Qwen2_5OmniForConditionalGeneration(shaped_config(shape, ids)).thinker
    count = lambda module: sum(p.numel() for p in module.parameters())  # noqa: E731
    return {'llm': count(thinker.model) + count(thinker.lm_head), 'audio': count(thinker.audio_tower),
            'vision': count(thinker.visual)}


def build_shaped_omni(out_dir: PathLike, shape: OmniShape, *, dtype: str = 'float32', device: str = 'cpu',
                      seed: int = 0) -> Path:
    """Writes a random ``Qwen2_5OmniForConditionalGeneration`` of ``shape`` to ``out_dir``; returns it.

    Weights are initialised on ``device`` in ``dtype`` (``cuda`` and ``bfloat16`` build the 7B shape in
    seconds; on CPU it takes minutes and ~18 GB of memory) and saved in ``dtype``.
    """
    import torch
    from transformers import Qwen2_5OmniForConditionalGeneration

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_tiny_tokenizer()
    if len(tokenizer) > shape.vocab:
        raise ValueError(f'{shape.name}: vocabulary {shape.vocab} is smaller than the tokenizer ({len(tokenizer)})')
    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in OMNI_SPECIAL_TOKENS}
    previous = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, dtype))
    try:
        with torch.device(device):
            model = Qwen2_5OmniForConditionalGeneration(shaped_config(shape, ids)).eval()
    finally:
        torch.set_default_dtype(previous)
    gen = model.generation_config
    gen.eos_token_id, gen.pad_token_id = ids['<|im_end|>'], ids['<|endoftext|>']
    special = sorted(set(tokenizer.all_special_ids) - {ids['<|im_end|>']})
    gen.suppress_tokens = special + list(range(len(tokenizer), shape.vocab))
    torch.save({}, out / 'spk_dict.pt')  # Qwen2_5OmniForConditionalGeneration.from_pretrained requires it
    model.save_pretrained(out)
    _omni_processor(tokenizer, 30).save_pretrained(out)
    del model
    if device.startswith('cuda'):
        torch.cuda.empty_cache()
    return out


def build_shaped_embedder(out_dir: PathLike, dims: Mapping[str, int] = QWEN3_EMBEDDING_06B, *, device: str = 'cpu',
                          seed: int = 0) -> Path:
    """A random sentence-transformers embedder with a ``Qwen3Model`` of ``dims`` (float32), pooled like
    :func:`.models.build_tiny_embedder` (left padding, last token, L2 norm); returns ``out_dir``."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import Qwen2Tokenizer, Qwen3Config, Qwen3Model

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    vocab, merges = _train_bpe(300)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges, eos_token='<|endoftext|>', pad_token='<|endoftext|>',
                               unk_token=None)
    tokenizer.add_special_tokens({'additional_special_tokens': ['<|endoftext|>']})
    tokenizer.padding_side = 'left'
    config = Qwen3Config(max_position_embeddings=32768, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, **dims)
    backbone = out / '_backbone'
    with torch.device(device):
        Qwen3Model(config).save_pretrained(backbone)
    tokenizer.save_pretrained(backbone)
    transformer = Transformer(str(backbone), max_seq_length=512, processor_kwargs={'padding_side': 'left'})
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode='lasttoken')
    SentenceTransformer(modules=[transformer, pooling, Normalize()], device='cpu').save(str(out))
    shutil.rmtree(backbone)
    return out
