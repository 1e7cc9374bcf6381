"""A tiny judge for the offline tests: a random ``Qwen2ForCausalLM`` (the architecture of xFinder-qwen1505) with a
byte-level BPE tokenizer trained on the judge's own prompts, teacher-forced to give chosen replies to them.

It stands in for xFinder (``render='raw'``: the prompt exactly as sent, ms-swift's ``dummy`` template) or for a
chat judge (``render='chatml'``, the Qwen chat format ms-swift applies). Seeded: the same arguments give the
same weights.
"""
import json
import os
from pathlib import Path
from typing import Optional, Sequence, Tuple, Union

PathLike = Union[str, os.PathLike]
SPECIAL = ['<|endoftext|>', '<|im_start|>', '<|im_end|>']
CHATML = '<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'
CHAT_TEMPLATE = ("{%- for message in messages %}<|im_start|>{{ message['role'] }}\n{{ message['content'] }}"
                 "<|im_end|>\n{%- endfor %}{%- if add_generation_prompt %}<|im_start|>assistant\n{%- endif %}")


def _tokenizer(corpus: Sequence[str], vocab_size: int):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import Qwen2Tokenizer

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    tok.train_from_iterator(list(corpus) * 4, trainer=trainer)
    state = json.loads(tok.to_str())['model']
    merges = [tuple(m.split(' ')) if isinstance(m, str) else tuple(m) for m in state['merges']]
    tokenizer = Qwen2Tokenizer(vocab=state['vocab'], merges=merges, eos_token='<|im_end|>',
                               pad_token='<|endoftext|>', unk_token=None)
    tokenizer.add_special_tokens({'additional_special_tokens': SPECIAL})
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def render(prompt: str, how: str, system: Optional[str] = None) -> str:
    """The text the model sees for ``prompt``: as is (``raw``) or in the chat format (``chatml``)."""
    return prompt if how == 'raw' else CHATML.format(system=system or 'You are a helpful assistant.', user=prompt)


def build_tiny_judge(out_dir: PathLike, teach: Sequence[Tuple[str, str]], *, how: str = 'raw',
                     system: Optional[str] = None, steps: int = 300, seed: int = 0, hidden_size: int = 64,
                     num_layers: int = 2, vocab_size: int = 2000) -> Path:
    """Writes a tiny causal LM that replies ``reply`` to each ``(prompt, reply)`` of ``teach`` (greedy)."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    torch.manual_seed(seed)
    texts = [render(p, how, system) for p, _ in teach]
    tokenizer = _tokenizer(texts + [r for _, r in teach], vocab_size)
    vocab = (len(tokenizer) + 63) // 64 * 64
    config = Qwen2Config(vocab_size=vocab, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=num_layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=8192, tie_word_embeddings=True,
                         eos_token_id=tokenizer.convert_tokens_to_ids('<|im_end|>'),
                         pad_token_id=tokenizer.convert_tokens_to_ids('<|endoftext|>'))
    config.architectures = ['Qwen2ForCausalLM']
    model = Qwen2ForCausalLM(config)
    _teacher_force(model, tokenizer, [(t, r) for t, (_, r) in zip(texts, teach)], steps)
    model.generation_config.eos_token_id = config.eos_token_id
    model.generation_config.pad_token_id = config.pad_token_id
    out = Path(out_dir)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


def _teacher_force(model, tokenizer, pairs: Sequence[Tuple[str, str]], steps: int) -> None:
    """Full-batch AdamW on the reply tokens (and the end-of-turn token after them) of every pair."""
    import torch

    rows, labels = [], []
    for text, reply in pairs:
        prompt_ids = tokenizer.encode(text, add_special_tokens=False)
        reply_ids = tokenizer.encode(reply, add_special_tokens=False) + [tokenizer.eos_token_id]
        rows.append(prompt_ids + reply_ids)
        labels.append([-100] * len(prompt_ids) + reply_ids)
    width = max(map(len, rows))
    pad = tokenizer.pad_token_id
    input_ids = torch.tensor([r + [pad] * (width - len(r)) for r in rows])
    label_ids = torch.tensor([lab + [-100] * (width - len(lab)) for lab in labels])
    mask = torch.tensor([[1] * len(r) + [0] * (width - len(r)) for r in rows])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=input_ids, attention_mask=mask, labels=label_ids).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
