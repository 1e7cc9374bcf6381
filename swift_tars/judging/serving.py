"""Where a judge's text comes from: a local model through ms-swift's ``TransformersEngine`` or an
OpenAI-compatible endpoint. Each :class:`Completer` answers a whole list of prompts per call (one engine call in
batches of ``batch_size``, or concurrent HTTP requests), greedy. ``raw`` prompts are sent as they are
(xFinder's own template: the engine's ``dummy`` template with ``use_chat_template`` off, which ms-swift would
otherwise replace by the tokenizer's chat template at inference; the endpoint's ``/completions``); chat prompts get the
model's chat template (``/chat/completions``).
"""
import json
import os
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from typing import List, Optional, Sequence


class JudgeError(RuntimeError):
    """The judge could not be loaded or reached; the message names it and what to check."""


def is_endpoint(spec: str) -> bool:
    return spec.startswith(('http://', 'https://'))


# Architectures ms-swift cannot place in one model type and chat template by themselves (``qwen2``/``qwen2_gte`` and
# several Qwen templates match Qwen2ForCausalLM, the architecture of xFinder-qwen1505 and of Qwen2/2.5 chat models).
GENERATIVE_TYPES = {'Qwen2ForCausalLM': ('qwen2', 'qwen')}
XFINDER_TYPE = 'qwen2'  # IAAR-Shanghai/xFinder-qwen1505 (Qwen1.5-0.5B)


def judge_types(model: str) -> tuple:
    """(ms-swift model type, chat template) to load a judge with: from a local folder's ``config.json``
    architecture when ms-swift finds it ambiguous (:data:`GENERATIVE_TYPES`), ``qwen2`` for xFinder, else
    (None, None): ms-swift detects them."""
    config = os.path.join(os.path.expanduser(model), 'config.json')
    if os.path.isfile(config):
        with open(config, encoding='utf-8') as f:
            architectures = json.load(f).get('architectures') or []
        return next((GENERATIVE_TYPES[a] for a in architectures if a in GENERATIVE_TYPES), (None, None))
    return (XFINDER_TYPE, None) if 'xfinder-qwen' in model.lower() else (None, None)


def rank_device() -> Optional[str]:
    """This rank's GPU under torchrun (``cuda:$LOCAL_RANK``), so every rank holds its own judge on its own device;
    None (ms-swift's default placement) in a single process or without CUDA."""
    import torch

    if 'LOCAL_RANK' not in os.environ or not torch.cuda.is_available():
        return None
    return f"cuda:{int(os.environ['LOCAL_RANK'])}"


class LocalCompleter:
    """A local model (folder or hub id) loaded once, outside ZeRO-3, through ms-swift's ``TransformersEngine``."""

    def __init__(self, model: str, *, raw: bool, system: Optional[str] = None, batch_size: int = 16,
                 stop: Sequence[str] = ()):
        from swift.infer_engine import TransformersEngine
        from swift.utils import disable_deepspeed_zero3

        self.raw, self.system, self.stop, self.name = raw, system, list(stop), model
        try:
            with disable_deepspeed_zero3():
                model_type, chat_template = judge_types(model)
                self.engine = TransformersEngine(model, template_type='dummy' if raw else chat_template,
                                                 model_type=model_type, max_batch_size=batch_size,
                                                 device_map=rank_device())
            if raw:  # ms-swift renders a ``dummy`` template with the tokenizer's chat template unless told not to
                self.engine.template.use_chat_template = False
        except (OSError, ValueError) as e:
            raise JudgeError(f'could not load the judge model {model!r}: {e}') from None

    def __call__(self, prompts: Sequence[str], max_tokens: int) -> List[str]:
        from swift.infer_engine import InferRequest, RequestConfig

        def messages(prompt):
            system = [] if self.raw or not self.system else [{'role': 'system', 'content': self.system}]
            return system + [{'role': 'user', 'content': prompt}]

        config = RequestConfig(max_tokens=max_tokens, temperature=0, stop=self.stop or None)
        responses = self.engine.infer([InferRequest(messages=messages(p)) for p in prompts], config, use_tqdm=False)
        out = []
        for response in responses:
            if isinstance(response, Exception):
                raise JudgeError(f'judge model {self.name!r} failed: {response}')
            out.append(response.choices[0].message.content or '')
        return out


class EndpointCompleter:
    """An OpenAI-compatible server (``base_url`` ending in ``/v1``): ``/completions`` for raw prompts,
    ``/chat/completions`` otherwise; ``workers`` requests in flight."""

    def __init__(self, base_url: str, model: str = '', *, raw: bool, system: Optional[str] = None,
                 timeout: float = 60.0, workers: int = 16, stop: Sequence[str] = ()):
        self.url = base_url.rstrip('/') + ('/completions' if raw else '/chat/completions')
        self.model, self.raw, self.system, self.stop = model or 'default', raw, system, list(stop)
        self.timeout, self.workers = timeout, workers

    def _body(self, prompt: str, max_tokens: int) -> dict:
        body = {'model': self.model, 'max_tokens': max_tokens, 'temperature': 0}
        if self.stop:
            body['stop'] = self.stop
        if self.raw:
            return {**body, 'prompt': prompt}
        system = [{'role': 'system', 'content': self.system}] if self.system else []
        return {**body, 'messages': system + [{'role': 'user', 'content': prompt}]}

    def _ask(self, prompt: str, max_tokens: int) -> str:
        data = json.dumps(self._body(prompt, max_tokens)).encode()
        request = urllib.request.Request(self.url, data=data, headers={'Content-Type': 'application/json'})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read())
            choice = reply['choices'][0]
        except OSError as e:
            raise JudgeError(f'judge at {self.url} failed: {e}') from None
        except (ValueError, KeyError, IndexError, TypeError) as e:
            raise JudgeError(f'judge at {self.url} sent no OpenAI-style choices ({e!r})') from None
        return (choice.get('text') if self.raw else choice['message'].get('content')) or ''

    def __call__(self, prompts: Sequence[str], max_tokens: int) -> List[str]:
        with ThreadPoolExecutor(self.workers) as pool:
            return list(pool.map(lambda p: self._ask(p, max_tokens), prompts))


def make_completer(spec: str, model: str = '', *, raw: bool, system: Optional[str] = None, batch_size: int = 16,
                   stop: Sequence[str] = ()):
    """An :class:`EndpointCompleter` for an ``http(s)://`` spec, else a :class:`LocalCompleter` of the model."""
    if is_endpoint(spec):
        return EndpointCompleter(spec, model, raw=raw, system=system, stop=stop)
    return LocalCompleter(spec, raw=raw, system=system, batch_size=batch_size, stop=stop)
