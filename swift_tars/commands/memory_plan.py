"""Peak GPU memory per rank of a ``swift rlhf`` GRPO launch: a small, documented model (estimates, not measurements).

Why: a 7B Omni GRPO run with vLLM colocated on the training GPUs fails minutes into the first step when it does not
fit; ``swift-tars doctor --recipe examples/train_....sh`` prints this plan before anything is downloaded.

How a recipe is read: the script runs with ``SWIFT="swift-tars check-args --record FILE"`` (the mechanism
``tests/test_examples.py`` uses), so whatever structure the script has (variables, overlays, loops), the plan sees
the exact ``swift rlhf`` argv and environment it would launch. Nothing is loaded, nothing is downloaded.

The model (bytes per GPU; ``W`` = world size = ``NPROC_PER_NODE × NNODES``; ``B`` = per-device batch;
``S`` = min(max_length, PROMPT_TOKENS + max_completion_length); ``C`` = max_completion_length):

- frozen weights, bf16: 2 · P_frozen (÷ W under ZeRO-3); ZeRO-3 adds the gathered working set
  2 · (one decoder layer + lm_head);
- trainable weights 2 · T (÷ W under ZeRO-3), gradients 2 · T (÷ W under ZeRO-2/3), fp32 master + Adam m, v
  12 · T (÷ W under ZeRO-1/2/3; 0 with ``*_offload`` DeepSpeed configs). T = LoRA on every linear of the LLM
  (``--target_modules all-linear``, towers frozen), or the whole LLM for ``--tuner_type full``;
- activations: gradient checkpointing (ms-swift's default) keeps 2 · B·S·h per decoder layer and recomputes one
  layer at a time (34 · B·S·h, Korthikanti et al. 2022 with FlashAttention: no s² term); without it, 34 · B·S·h
  per layer; completion logits B·C·V · 6 (bf16 logits + fp32 log-softmax);
- ``tars_behavior``: the embedder (Qwen3-Embedding-0.6B) in fp32 on every rank;
- CORD (``TARS_DISTILL_COEF`` > 0): the no-grad teacher pass, 16 · B·S·h for its working layer + its last
  hidden state 2 · B·S·h + two fp32 logit chunks 2 · B·chunk·V · 4;
- vLLM colocate: ``--vllm_gpu_memory_utilization`` × GPU memory while generating; with ``--sleep_level`` ≥ 1
  only VLLM_ASLEEP_GIB stays while training. Its share must hold the bf16 thinker plus KV cache for at least one
  ``--vllm_max_model_len`` sequence. HF generation (no vLLM) adds a KV cache for B · steps_per_generation
  sequences of S tokens. ``--offload_model`` / ``--offload_optimizer`` move those to CPU while vLLM generates;
- CUDA context and allocator slack: CONTEXT_GIB per rank. A plan fits when its peak ≤ FIT_FRACTION of the GPU.

Peak = max(generation phase, training phase). Parameter counts of Qwen2.5-Omni-7B's thinker were counted from
transformers 5.19's ``Qwen2_5Omni*`` classes on the meta device with the released config's values.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Dict, List, Mapping, Optional, Sequence

GIB = 1024 ** 3
PROMPT_TOKENS = 3100   # a 120 s spoken question: 25 audio tokens/s + system prompt and options (recipe comments)
CONTEXT_GIB = 1.5      # CUDA context, NCCL buffers, allocator slack
VLLM_ASLEEP_GIB = 1.0  # what a sleeping vLLM (sleep level 1: weights offloaded, KV cache freed) still holds
VLLM_OVERHEAD_GIB = 1.0  # vLLM activations / CUDA graphs inside its share
FIT_FRACTION = 0.95
ACT_STORED, ACT_LAYER, ACT_NOGRAD = 2, 34, 16  # bytes per (token · hidden) — see the module docstring


@dataclass(frozen=True)
class ModelShape:
    """Parameter counts and shapes that set the memory of one policy model."""
    name: str
    llm_params: int      # decoder stack + embeddings + lm_head
    tower_params: int    # audio + vision encoders (frozen)
    layers: int
    hidden: int
    intermediate: int
    kv_dim: int          # key/value heads × head dim
    vocab: int

    @property
    def total(self) -> int:
        return self.llm_params + self.tower_params

    @property
    def layer_params(self) -> int:
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        return 2 * h * h + 2 * h * kv + 3 * h * i

    def lora_params(self, rank: int) -> int:
        """LoRA A+B on q, k, v, o, gate, up, down of every decoder layer: r · (in + out) each."""
        h, i, kv = self.hidden, self.intermediate, self.kv_dim
        per_layer = (h + h) + 2 * (h + kv) + (h + h) + 2 * (h + i) + (i + h)
        return rank * per_layer * self.layers


# Qwen2.5-Omni-7B thinker (talker not built: ENABLE_AUDIO_OUTPUT=0): LLM 7,070,619,136 + untied lm_head
# 544,997,376; audio tower 639,647,232; vision tower 676,550,144 → 8,931,813,888.
QWEN25_OMNI_7B = ModelShape('Qwen2.5-Omni-7B thinker', llm_params=7_615_616_512,
                            tower_params=639_647_232 + 676_550_144, layers=28, hidden=3584, intermediate=18944,
                            kv_dim=4 * 128, vocab=152064)
EMBEDDER_PARAMS = 595_776_512  # Qwen3-Embedding-0.6B (28 layers, hidden 1024, vocab 151,669, tied)


@dataclass
class Launch:
    """The memory-relevant settings of one ``swift rlhf`` launch."""
    world_size: int = 1
    per_device_batch: int = 1
    steps_per_generation: int = 1
    max_length: int = 8192
    max_completion_length: int = 512
    tuner: str = 'lora'
    lora_rank: int = 8
    zero_stage: int = 0
    ds_offload: bool = False
    gradient_checkpointing: bool = True
    use_vllm: bool = False
    vllm_mode: str = 'colocate'
    vllm_util: float = 0.9
    vllm_max_model_len: Optional[int] = None
    sleep_level: int = 0
    offload_model: bool = False
    offload_optimizer: bool = False
    behavior: bool = False
    distill_coef: float = 0.0
    distill_chunk: int = 64
    model: str = 'Qwen/Qwen2.5-Omni-7B'


@dataclass
class Plan:
    """GiB per rank, by phase and component; ``peak`` is the larger phase."""
    generation: Dict[str, float] = field(default_factory=dict)
    training: Dict[str, float] = field(default_factory=dict)
    gpu_gib: float = 80.0
    notes: List[str] = field(default_factory=list)

    @property
    def peak(self) -> float:
        return max(sum(self.generation.values()), sum(self.training.values()))

    @property
    def fits(self) -> bool:
        return self.peak <= FIT_FRACTION * self.gpu_gib and not any(n.startswith('vLLM share') for n in self.notes)


def _state_gib(launch: Launch, shape: ModelShape) -> Dict[str, float]:
    """Resident weights, gradients and optimiser state per rank (ZeRO partitioning over the world size)."""
    w, z = launch.world_size, launch.zero_stage
    trainable = shape.lora_params(launch.lora_rank) if launch.tuner == 'lora' else shape.llm_params
    frozen = shape.total if launch.tuner == 'lora' else shape.tower_params
    state = {'weights (frozen, bf16)': 2 * frozen / (w if z == 3 else 1),
             'weights (trainable, bf16)': 2 * trainable / (w if z == 3 else 1),
             'gradients (bf16)': 2 * trainable / (w if z >= 2 else 1),
             'optimizer (fp32 master + Adam)': 0 if launch.ds_offload else 12 * trainable / (w if z >= 1 else 1)}
    if z == 3:
        state['ZeRO-3 gathered layer + lm_head'] = 2 * (shape.layer_params + shape.vocab * shape.hidden)
        if launch.ds_offload:
            state['weights (frozen, bf16)'] = state['weights (trainable, bf16)'] = 0
    return {k: v / GIB for k, v in state.items()}


def _activation_gib(launch: Launch, shape: ModelShape, seq: int) -> Dict[str, float]:
    """Activations and logits of one training micro-batch, plus the CORD teacher pass."""
    bsh = launch.per_device_batch * seq * shape.hidden
    if launch.gradient_checkpointing:
        acts = shape.layers * ACT_STORED * bsh + ACT_LAYER * bsh
    else:
        acts = shape.layers * ACT_LAYER * bsh
    out = {'activations': acts / GIB,
           'completion logits': launch.per_device_batch * launch.max_completion_length * shape.vocab * 6 / GIB}
    if launch.distill_coef > 0:
        chunk = 2 * launch.per_device_batch * launch.distill_chunk * shape.vocab * 4
        out['CORD teacher pass'] = ((ACT_NOGRAD + 2) * bsh + chunk) / GIB
    return out


def plan(launch: Launch, gpu_gib: float = 80.0, shape: ModelShape = QWEN25_OMNI_7B) -> Plan:
    """Estimated peak memory per rank of ``launch`` on GPUs of ``gpu_gib`` GiB."""
    result = Plan(gpu_gib=gpu_gib)
    seq = min(launch.max_length, PROMPT_TOKENS + launch.max_completion_length)
    state = _state_gib(launch, shape)
    common = {'CUDA context': CONTEXT_GIB}
    if launch.behavior:
        common['embedder (fp32)'] = 4 * EMBEDDER_PARAMS / GIB
    result.training = {**common, **state, **_activation_gib(launch, shape, seq)}
    gen_state = dict(state)
    gen_state.pop('gradients (bf16)', None)
    if launch.offload_model:
        gen_state = {k: 0.0 if k.startswith('weights') else v for k, v in gen_state.items()}
    if launch.offload_optimizer:
        gen_state['optimizer (fp32 master + Adam)'] = 0.0
    result.generation = {**common, **gen_state}
    colocate = launch.use_vllm and launch.vllm_mode == 'colocate'
    if colocate:
        share = launch.vllm_util * gpu_gib
        result.generation['vLLM share'] = share
        result.training['vLLM (asleep)' if launch.sleep_level >= 1 else 'vLLM share'] = (
            VLLM_ASLEEP_GIB if launch.sleep_level >= 1 else share)
        kv_room = share - 2 * shape.total / GIB - VLLM_OVERHEAD_GIB
        need = (launch.vllm_max_model_len or launch.max_length) * kv_bytes_per_token(shape) / GIB
        if kv_room < need:
            result.notes.append(f'vLLM share {share:.1f} GiB leaves {kv_room:.1f} GiB of KV cache, less than one '
                                f'{launch.vllm_max_model_len or launch.max_length}-token sequence ({need:.2f} GiB)')
        else:
            tokens = int(kv_room * GIB / kv_bytes_per_token(shape))
            result.notes.append(f'vLLM KV cache room {kv_room:.1f} GiB ≈ {tokens:,} tokens')
    elif not launch.use_vllm:
        gen_seqs = launch.per_device_batch * launch.steps_per_generation
        result.generation['HF generate KV cache'] = gen_seqs * seq * kv_bytes_per_token(shape) / GIB
    return result


def kv_bytes_per_token(shape: ModelShape) -> int:
    """bf16 K and V of every decoder layer for one token."""
    return 2 * shape.layers * shape.kv_dim * 2


# ---------------------------------------------------------------------------------------------------------------
# reading a recipe


def flag_values(argv: Sequence[str]) -> Dict[str, List[str]]:
    """``--flag v1 v2 --other`` → {'flag': ['v1', 'v2'], 'other': []}; the last occurrence wins."""
    flags: Dict[str, List[str]] = {}
    current = None
    for token in argv:
        if token.startswith('--'):
            name, eq, value = token[2:].partition('=')
            current = name
            flags[name] = [value] if eq else []
        elif current is not None:
            flags[current].append(token)
    return flags


def _bool(values: Optional[List[str]], default: bool) -> bool:
    if not values:
        return default if values is None else True
    return values[0].strip().lower() in ('1', 'true', 'yes')


def launch_from_record(argv: Sequence[str], env: Mapping[str, str]) -> Launch:
    """A :class:`Launch` from one recorded ``swift rlhf`` argv and its environment (ms-swift's defaults otherwise)."""
    f = flag_values(argv)

    def one(name: str, default):
        return type(default)(f[name][0]) if f.get(name) else default

    ds = one('deepspeed', '')
    stage = re.search(r'zero(?:_?stage)?[_-]?(\d)', ds)
    if stage is None and ds.endswith('.json') and os.path.isfile(ds):
        with open(ds, encoding='utf-8') as fh:
            stage = re.search(r'"stage"\s*:\s*(\d)', fh.read())
    grad_acc = one('gradient_accumulation_steps', 1)
    return Launch(
        world_size=int(env.get('NPROC_PER_NODE') or 1) * int(env.get('NNODES') or 1),
        per_device_batch=one('per_device_train_batch_size', 1),
        steps_per_generation=one('steps_per_generation', grad_acc),
        max_length=one('max_length', 8192), max_completion_length=one('max_completion_length', 512),
        tuner=one('tuner_type', one('train_type', 'lora')), lora_rank=one('lora_rank', 8),
        zero_stage=int(stage.group(1)) if stage else 0, ds_offload='offload' in ds,
        gradient_checkpointing=_bool(f.get('gradient_checkpointing'), True),
        use_vllm=_bool(f.get('use_vllm'), False), vllm_mode=one('vllm_mode', 'colocate'),
        vllm_util=one('vllm_gpu_memory_utilization', 0.9),
        vllm_max_model_len=int(f['vllm_max_model_len'][0]) if f.get('vllm_max_model_len') else None,
        sleep_level=one('sleep_level', 0),
        offload_model=_bool(f.get('offload_model'), False), offload_optimizer=_bool(f.get('offload_optimizer'), False),
        behavior='tars_behavior' in f.get('reward_funcs', []),
        distill_coef=float(env.get('TARS_DISTILL_COEF') or 0), distill_chunk=int(env.get('TARS_DISTILL_CHUNK') or 64),
        model=one('model', 'Qwen/Qwen2.5-Omni-7B'))


# extra environment so that every recipe records its training launch without waiting for anything
RECIPE_ENV = {'NODE_RANK': '0', 'MASTER_ADDR': '127.0.0.1', 'MODE': 'train'}


def record_recipe(script: str, env: Optional[Mapping[str, str]] = None, timeout: float = 120) -> List[dict]:
    """Runs ``script`` with ``SWIFT`` replaced by ``check-args --record``; returns its ``swift rlhf`` records."""
    cli = f'{sys.executable} -m swift_tars.cli'
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, 'calls.jsonl')
        run_env = {**RECIPE_ENV, **(os.environ if env is None else env),
                   'SWIFT': f'{cli} check-args --record {path}', 'SWIFT_TARS': cli}
        proc = subprocess.run(['bash', script], env=run_env, capture_output=True, text=True, timeout=timeout)
        records = []
        if os.path.exists(path):
            with open(path, encoding='utf-8') as fh:
                records = [json.loads(line) for line in fh if line.strip()]
    rlhf = [r for r in records if r['command'] == 'rlhf']
    if not rlhf:
        raise RuntimeError(f'{script} recorded no `swift rlhf` call (exit {proc.returncode}): '
                           f'{proc.stderr.strip()[-400:]}')
    return rlhf


def recipe_plans(script: str, gpu_gib: float, env: Optional[Mapping[str, str]] = None) -> List[Plan]:
    """One plan per ``swift rlhf`` call of ``script``."""
    return [plan(launch_from_record(r['argv'], r['env']), gpu_gib) for r in record_recipe(script, env)]


def render(p: Plan, title: str) -> str:
    """Two-phase table of one plan, then its verdict."""
    lines = [f'{title}: peak ≈ {p.peak:.1f} GiB per GPU of {p.gpu_gib:.0f} GiB (estimate) — '
             + ('fits' if p.fits else 'DOES NOT FIT')]
    for phase, parts in (('generation', p.generation), ('training', p.training)):
        body = ', '.join(f'{k} {v:.2f}' for k, v in parts.items() if v > 0)
        lines.append(f'  {phase}: {sum(parts.values()):.1f} GiB = {body}')
    lines += [f'  note: {n}' for n in p.notes]
    return '\n'.join(lines)
