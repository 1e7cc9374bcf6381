"""Offline stand-ins for the real models, for the tests and the demo (CPU, no hub, seconds to build).

- :func:`build_tiny_omni` — a random ``Qwen2_5OmniForConditionalGeneration`` (talker disabled) with a
  byte-level BPE tokenizer trained here, Qwen2.5-Omni's special tokens and chat template, a processor
  and ``spk_dict.pt``: loadable by ms-swift's ``Qwen2_5OmniLoader`` exactly like the 7B checkpoint.
- :func:`build_tiny_embedder` — a Qwen3-Embedding-style sentence-transformers model (``Qwen3Model``,
  left padding, last-token pooling, L2 normalisation): the production code path of
  ``Qwen/Qwen3-Embedding-0.6B`` at 32 dimensions.

Both are seeded: the same arguments give byte-identical weights.
"""
import json
import os
import shutil
from pathlib import Path
from typing import Dict, Mapping, Optional, Sequence, Union

from swift_tars.models import FAMILIES
from swift_tars.prompts import SYSTEM_THINK
from swift_tars.testing.warm_start import WarmStart, teacher_force

PathLike = Union[str, os.PathLike]

# Qwen2.5-Omni's 22 added special tokens, in the released tokenizer's order.
OMNI_SPECIAL_TOKENS = [
    '<|endoftext|>', '<|im_start|>', '<|im_end|>', '<|AUDIO|>', '<|audio_bos|>', '<|audio_eos|>', '<|box_end|>',
    '<|quad_start|>', '<|quad_end|>', '<|vision_bos|>', '<|vision_eos|>', '<|vision_pad|>', '<|IMAGE|>',
    '<|VIDEO|>', '<tool_call>', '</tool_call>', '<|fim_prefix|>', '<|fim_middle|>', '<|fim_suffix|>',
    '<|fim_pad|>', '<|repo_name|>', '<|file_sep|>'
]
# Named media tokens the Omni processor reads from the tokenizer (transformers 5).
OMNI_NAMED_TOKENS = {
    'image_token': '<|IMAGE|>',
    'audio_token': '<|AUDIO|>',
    'video_token': '<|VIDEO|>',
    'vision_bos_token': '<|vision_bos|>',
    'vision_eos_token': '<|vision_eos|>',
    'audio_bos_token': '<|audio_bos|>',
    'audio_eos_token': '<|audio_eos|>',
}

OMNI_CHAT_TEMPLATE = (
    "{%- for message in messages %}"
    "{%- if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "{%- endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{%- if message['content'] is string %}{{ message['content'] }}"
    "{%- else %}{%- for part in message['content'] %}"
    "{%- if part['type'] == 'audio' or 'audio' in part %}<|audio_bos|><|AUDIO|><|audio_eos|>"
    "{%- elif part['type'] == 'image' or 'image' in part %}<|vision_bos|><|IMAGE|><|vision_eos|>"
    "{%- elif part['type'] == 'video' or 'video' in part %}<|vision_bos|><|VIDEO|><|vision_eos|>"
    "{%- elif part['type'] == 'text' %}{{ part['text'] }}"
    "{%- endif %}{%- endfor %}{%- endif %}"
    "<|im_end|>\n"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}")

# What the tokenizer is trained on: the strings the tests and the demo generate and check.
_CORPUS = [
    SYSTEM_THINK,
    'You are a helpful assistant.',
    'system', 'user', 'assistant',
    '<think>Let me think about the question step by step.</think><answer>The answer is A.</answer>',
    'The answer is A. The answer is B. The answer is C. The answer is D.',
    'Option A: Option B: Option C: Option D:',
    'A. B. C. D. A, B, C, D. What is the answer to the above multiple choice question?',
    'Which animal barks? Which planet is red? What is the capital of France? How many legs has a spider?',
    'cat dog cow fish Mars Venus Paris Rome Berlin Madrid eight six four two water fire earth air',
    'the a an is are of to in on for with what which who why how because therefore so',
    '0 1 2 3 4 5 6 7 8 9 10 100 yes no true false',
]


def _quiet_transformers() -> None:
    """No progress bars or config warnings while building throwaway models."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


def _train_bpe(vocab_size: int):
    """Trains a byte-level BPE (no prefix space) on :data:`_CORPUS`; returns (vocab, merges)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(_CORPUS * 4, trainer=trainer)
    state = json.loads(tok.to_str())['model']
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in state['merges']]
    return state['vocab'], merges


def build_tiny_tokenizer(vocab_size: int = 1000):
    """A ``Qwen2Tokenizer`` with Qwen2.5-Omni's special tokens, named media tokens and chat template."""
    from transformers import Qwen2Tokenizer

    vocab, merges = _train_bpe(vocab_size)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=merges,
        eos_token='<|im_end|>',
        pad_token='<|endoftext|>',
        unk_token=None,
        extra_special_tokens=dict(OMNI_NAMED_TOKENS))
    tokenizer.add_special_tokens({'additional_special_tokens': OMNI_SPECIAL_TOKENS})
    tokenizer.chat_template = OMNI_CHAT_TEMPLATE
    return tokenizer


def build_tiny_omni(out_dir: PathLike,
                    *,
                    seed: int = 0,
                    num_layers: int = 6,
                    hidden_size: int = 64,
                    chunk_length: int = 30,
                    warm_start: Optional[Sequence['WarmStart']] = None,
                    warm_start_steps: int = 150,
                    warm_start_batch_size: int = 16) -> Path:
    """Writes a tiny random Qwen2.5-Omni checkpoint (thinker only in use) to ``out_dir``; returns it.

    ``num_layers`` decoder layers of width ``hidden_size``; a 2-layer audio encoder (d_model 32);
    a 1-layer vision tower (unused by audio data but required by the architecture). Generation never
    emits special tokens except ``<|im_end|>`` (a random model would sample ``<|AUDIO|>`` and break
    ms-swift's re-encoding). ``chunk_length`` is the feature extractor's audio window in seconds.

    ``warm_start``: examples the thinker is teacher-forced on for ``warm_start_steps`` AdamW
    steps of ``warm_start_batch_size`` examples (under each example's system prompt, ``SYSTEM_THINK`` by default). :func:`gap_warm_start` makes rollouts follow the TARS format,
    right on text prompts and guessing on speech: a miniature modality gap that gives every TARS
    reward something to measure.
    """
    import torch
    from transformers import (
        Qwen2_5OmniForConditionalGeneration,
    )

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    tokenizer = build_tiny_tokenizer()
    ids: Dict[str, int] = {t: tokenizer.convert_tokens_to_ids(t) for t in OMNI_SPECIAL_TOKENS}
    vocab = (len(tokenizer) + 63) // 64 * 64
    config = _omni_config(ids, vocab, hidden_size, num_layers)
    model = Qwen2_5OmniForConditionalGeneration(config).eval()

    special_ids = sorted(set(tokenizer.all_special_ids) - {ids['<|im_end|>']})
    gen = model.generation_config
    gen.eos_token_id = ids['<|im_end|>']
    gen.pad_token_id = ids['<|endoftext|>']
    # Never sample special tokens, nor the padding rows beyond the tokenizer (vocab rounded up to 64).
    gen.suppress_tokens = special_ids + list(range(len(tokenizer), vocab))
    torch.save({}, out / 'spk_dict.pt')  # Qwen2_5OmniForConditionalGeneration.from_pretrained requires it

    processor = _omni_processor(tokenizer, chunk_length)
    if warm_start:
        teacher_force(model.thinker, processor, warm_start, warm_start_steps, warm_start_batch_size)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    return out


def _omni_config(ids: Mapping[str, int], vocab: int, hidden_size: int, num_layers: int):
    """Tiny ``Qwen2_5OmniConfig``: thinker of ``num_layers`` × ``hidden_size``, 2-layer audio, 1-layer vision."""
    from transformers import Qwen2_5OmniConfig

    head_dim = 16
    text_config = dict(
        vocab_size=vocab,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=num_layers,
        num_attention_heads=hidden_size // head_dim,
        num_key_value_heads=max(1, hidden_size // head_dim // 2),
        max_position_embeddings=4096,
        rope_parameters={
            'rope_type': 'default',
            'rope_theta': 1e6,
            'mrope_section': [2, 3, 3]
        },
        use_sliding_window=False,
        tie_word_embeddings=False,
        pad_token_id=ids['<|endoftext|>'],
        eos_token_id=ids['<|im_end|>'],
    )
    audio_config = dict(
        num_mel_bins=128,
        encoder_layers=2,
        encoder_attention_heads=2,
        encoder_ffn_dim=64,
        d_model=32,
        output_dim=hidden_size,
        max_source_positions=1500,
        n_window=100)
    vision_config = dict(
        depth=1,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
        window_size=112,
        out_hidden_size=hidden_size,
        fullatt_block_indexes=[0])
    thinker_config = dict(
        text_config=text_config,
        audio_config=audio_config,
        vision_config=vision_config,
        audio_token_index=ids['<|AUDIO|>'],
        image_token_index=ids['<|IMAGE|>'],
        video_token_index=ids['<|VIDEO|>'],
        audio_start_token_id=ids['<|audio_bos|>'],
        audio_end_token_id=ids['<|audio_eos|>'],
        vision_start_token_id=ids['<|vision_bos|>'],
        vision_end_token_id=ids['<|vision_eos|>'],
        pad_token_id=ids['<|endoftext|>'],
        tie_word_embeddings=False)
    talker_config = _talker_config(ids, vocab, hidden_size, head_dim)
    config = Qwen2_5OmniConfig(
        thinker_config=thinker_config, talker_config=talker_config, enable_audio_output=False)
    return config


def _talker_config(ids: Mapping[str, int], vocab: int, hidden_size: int, head_dim: int) -> dict:
    """The talker's config: declared by Qwen2.5-Omni, never built here (``enable_audio_output=False``); its token
    ids are kept inside the vocabulary."""
    return dict(
        vocab_size=vocab,
        tts_text_start_token_id=ids['<|im_start|>'],
        tts_text_end_token_id=ids['<|im_end|>'],
        tts_text_pad_token_id=ids['<|endoftext|>'],
        tts_codec_start_token_id=vocab - 4,
        tts_codec_end_token_id=vocab - 3,
        tts_codec_pad_token_id=vocab - 2,
        tts_codec_mask_token_id=vocab - 1,
        embedding_size=hidden_size,
        hidden_size=hidden_size,
        intermediate_size=2 * hidden_size,
        num_hidden_layers=1,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=head_dim,
        rope_parameters={
            'rope_type': 'default',
            'rope_theta': 1e6,
            'mrope_section': [2, 3, 3]
        },
        audio_token_index=ids['<|AUDIO|>'],
        image_token_index=ids['<|IMAGE|>'],
        video_token_index=ids['<|VIDEO|>'],
        vision_start_token_id=ids['<|vision_bos|>'],
        vision_end_token_id=ids['<|vision_eos|>'],
        audio_start_token_id=ids['<|audio_bos|>'],
        audio_end_token_id=ids['<|audio_eos|>'])


def _omni_processor(tokenizer, chunk_length: int):
    """Qwen2.5-Omni's processor around ``tokenizer`` (Whisper features, 128 mel bins, ``chunk_length`` s windows)."""
    from transformers import (
        Qwen2_5OmniProcessor,
        Qwen2VLImageProcessorPil,
        Qwen2VLVideoProcessor,
        WhisperFeatureExtractor,
    )

    return Qwen2_5OmniProcessor(
        image_processor=Qwen2VLImageProcessorPil(
            min_pixels=56 * 56, max_pixels=28 * 28 * 64, patch_size=14, temporal_patch_size=2, merge_size=2),
        video_processor=Qwen2VLVideoProcessor(),
        feature_extractor=WhisperFeatureExtractor(
            feature_size=128,
            sampling_rate=16000,
            hop_length=160,
            n_fft=400,
            chunk_length=chunk_length,
            return_attention_mask=True),
        tokenizer=tokenizer,
        chat_template=OMNI_CHAT_TEMPLATE)



def build_tiny_embedder(out_dir: PathLike, *, seed: int = 0, dim: int = 32) -> Path:
    """Writes a tiny Qwen3-Embedding-style sentence-transformers model to ``out_dir``; returns it.

    ``Qwen3Model`` (2 layers, width ``dim``), byte-level BPE, left padding, last-token pooling and
    L2 normalisation, i.e. the same pooling code path as ``Qwen/Qwen3-Embedding-0.6B``.
    """
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer
    from transformers import Qwen2Tokenizer, Qwen3Config, Qwen3Model

    _quiet_transformers()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    vocab, merges = _train_bpe(300)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab, merges=merges, eos_token='<|endoftext|>', pad_token='<|endoftext|>', unk_token=None)
    tokenizer.add_special_tokens({'additional_special_tokens': ['<|endoftext|>']})
    tokenizer.padding_side = 'left'
    config = Qwen3Config(
        vocab_size=(len(tokenizer) + 63) // 64 * 64,
        hidden_size=dim,
        intermediate_size=2 * dim,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        max_position_embeddings=2048,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id)
    backbone_dir = out / '_backbone'
    Qwen3Model(config).save_pretrained(backbone_dir)
    tokenizer.save_pretrained(backbone_dir)
    transformer = Transformer(str(backbone_dir), max_seq_length=512, processor_kwargs={'padding_side': 'left'})
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode='lasttoken')
    model = SentenceTransformer(modules=[transformer, pooling, Normalize()], device='cpu')
    model.save(str(out))
    shutil.rmtree(backbone_dir)
    return out


DEFAULT_TARGETS = FAMILIES['qwen2_5_omni'].lora_targets


def build_random_lora(model_dir, out_dir, *, rank: int = 4, alpha: int = 2, seed: int = 0,
                      target_modules: str = DEFAULT_TARGETS) -> Path:
    """Writes a PEFT LoRA adapter (``adapter_config.json`` + weights) with random A and B to ``out_dir``.

    ``target_modules`` (a regex over module names) defaults to the Qwen2.5-Omni thinker's decoder linears,
    the modules ms-swift's ``--target_modules all-linear`` puts LoRA on for this model (other families:
    ``FAMILIES[type].lora_targets``).
    """
    import torch
    import transformers
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    config = transformers.AutoConfig.from_pretrained(model_dir)
    fam = FAMILIES.get(config.model_type)
    cls = getattr(transformers, fam.architecture) if fam else transformers.AutoModelForCausalLM
    model = cls.from_pretrained(model_dir, dtype=torch.float32)
    lora = LoraConfig(r=rank, lora_alpha=alpha, target_modules=target_modules, init_lora_weights=False)
    peft_model = get_peft_model(model, lora)
    out = Path(out_dir)
    peft_model.save_pretrained(out)
    return out
