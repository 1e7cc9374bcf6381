"""ms-swift inference engines for evaluation: ``TransformersEngine`` always, ``VllmEngine`` when installed.

Only configuration lives here; generation, templates, audio loading and LoRA loading are ms-swift's.
"""
import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

BACKENDS = ('transformers', 'vllm')
DTYPES = ('auto', 'float32', 'bfloat16', 'float16')


class EngineConfigError(ValueError):
    """A bad model, adapter or backend choice, found before anything is loaded."""


@dataclass
class Completion:
    """One generated answer: text, why it stopped, and token counts."""
    text: str
    finish_reason: Optional[str]
    completion_tokens: Optional[int]
    prompt_tokens: Optional[int]


def resolve_dtype(name: str):
    """``auto``: the checkpoint's dtype on GPU, float32 on CPU (bf16 matmuls are slow there)."""
    import torch

    if name not in DTYPES:
        raise EngineConfigError(f'unknown --torch_dtype {name!r}: choose from {", ".join(DTYPES)}')
    if name == 'auto':
        return None if torch.cuda.is_available() else torch.float32
    return getattr(torch, name)


def is_adapter_dir(path) -> bool:
    """A PEFT/ms-swift LoRA checkpoint (``adapter_config.json``) rather than a full model."""
    return (Path(path) / 'adapter_config.json').is_file()


def check_model_paths(model: str, adapters: Sequence[str]) -> None:
    """Clear errors for a missing adapter, or an adapter passed as ``--model``."""
    for adapter in adapters:
        if not Path(adapter).exists():
            raise EngineConfigError(f'adapter path {adapter} does not exist')
        if not is_adapter_dir(adapter):
            raise EngineConfigError(f'{adapter} has no adapter_config.json: it is not a LoRA adapter '
                                    '(pass a full checkpoint as --model instead)')
    if Path(model).exists() and is_adapter_dir(model):
        raise EngineConfigError(f'{model} is a LoRA adapter, not a model: pass the base model as --model '
                                f'and this directory as --adapters')
    if not Path(model).exists() and (model.startswith(('.', '/', '~')) or os.sep in model and model.count('/') > 1):
        raise EngineConfigError(f'model path {model} does not exist')


def check_backend(backend: str) -> None:
    if backend not in BACKENDS:
        raise EngineConfigError(f'unknown --infer_backend {backend!r}: choose from {", ".join(BACKENDS)}')
    if backend == 'vllm' and importlib.util.find_spec('vllm') is None:
        raise EngineConfigError('--infer_backend vllm needs the vllm package, which is not installed here '
                                '(pip install "ms-swift[vllm]" on a GPU machine, or use --infer_backend transformers)')


def create_engine(model: str,
                  *,
                  adapters: Sequence[str] = (),
                  backend: str = 'transformers',
                  model_type: Optional[str] = None,
                  torch_dtype: str = 'auto',
                  batch_size: int = 8,
                  vllm_gpu_memory_utilization: float = 0.9,
                  vllm_max_model_len: Optional[int] = None,
                  vllm_max_lora_rank: int = 64,
                  seed: Optional[int] = None):
    """An ms-swift engine for ``model`` (+ LoRA ``adapters``); ``batch_size`` caps the transformers batch."""
    adapters = list(adapters)
    check_model_paths(model, adapters)
    check_backend(backend)
    os.environ.setdefault('ENABLE_AUDIO_OUTPUT', '0')  # Qwen2.5-Omni: do not build the talker (text only)
    # deferred: ms-swift; the model-family fixes plugin.py registers for training (no plugin is loaded here)
    from swift_tars.swift_families import register_families

    register_families()
    dtype = resolve_dtype(torch_dtype)
    if backend == 'transformers':
        from swift.infer_engine import TransformersEngine

        return TransformersEngine(
            model, adapters=adapters or None, model_type=model_type, torch_dtype=dtype, max_batch_size=batch_size)
    from swift.infer_engine import VllmEngine

    if len(adapters) > 1:
        raise EngineConfigError('the vLLM engine of ms-swift takes one adapter; merge them or use transformers')
    return VllmEngine(
        model,
        adapters=adapters or None,
        model_type=model_type,
        torch_dtype=dtype,
        gpu_memory_utilization=vllm_gpu_memory_utilization,
        max_model_len=vllm_max_model_len,
        max_lora_rank=vllm_max_lora_rank,
        limit_mm_per_prompt={'audio': 1, 'image': 0, 'video': 0},
        seed=seed)


def request_config(max_new_tokens: int, temperature: float = 0.0, top_p: Optional[float] = None,
                   seed: Optional[int] = None):
    """ms-swift ``RequestConfig``: temperature 0 is greedy (``do_sample=False``)."""
    from swift.infer_engine import RequestConfig

    return RequestConfig(max_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)


def generate(engine, requests: List[dict], config) -> List[Completion]:
    """Runs ``requests`` (InferRequest kwargs) through ``engine.infer``; one :class:`Completion` each."""
    from swift.infer_engine import InferRequest

    responses = engine.infer([InferRequest(**r) for r in requests], config, use_tqdm=False)
    out = []
    for response in responses:
        if isinstance(response, Exception):
            raise response
        choice = response.choices[0]
        usage = getattr(response, 'usage', None)
        out.append(Completion(choice.message.content or '', choice.finish_reason,
                              getattr(usage, 'completion_tokens', None), getattr(usage, 'prompt_tokens', None)))
    return out
