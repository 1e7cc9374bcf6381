"""swift-tars' checks on a parsed ``swift rlhf`` command line (``swift-tars check-args rlhf``).

In the order a user fixes them: GRPO, plugin, model and data; the processes of ``NPROC_PER_NODE × NNODES``;
ms-swift's generation-batch arithmetic; the TARS batch rules of
:func:`swift_tars.grpo.guards.training_setup_problems`; the rewards; a few ms-swift ``__post_init__`` rules; the
``TARS_*`` variables. When all pass, the summary spells out the batch arithmetic.
"""
import difflib
import json
import os
from dataclasses import dataclass
from typing import List, Mapping, Optional

from swift_tars.cli import plugin_path
from swift_tars.commands.launch_checks import CheckResult, check_tars_env, listed_devices, looks_local, resolve_path
from swift_tars.commands.swift_arguments import swift_version
from swift_tars.config import TarsConfig, TarsConfigError, parse_layers
from swift_tars.data.row_checks import MAX_LISTED, check_specs
from swift_tars.grpo.guards import group_layout_problems, training_setup_problems

BUILTIN_DEEPSPEED = ('zero0', 'zero1', 'zero2', 'zero3', 'zero2_offload', 'zero3_offload')
# decoder layers of the thinker LLM of models whose config is not local
KNOWN_NUM_LAYERS = {'qwen2.5-omni-7b': 28, 'qwen2.5-omni-3b': 36}

# the --reward_funcs names that compare a speech rollout with its group's text rollouts
TEXT_REFERENCE_REWARD_NAMES = ('tars_representation', 'tars_behavior', 'tars_agreement')


def _int_env(env: Mapping[str, str], name: str, problems: List[str]) -> int:
    """A positive integer launcher variable (1 when unset); a problem otherwise."""
    raw = env.get(name)
    if raw is None or raw == '':
        return 1
    if not raw.strip().isdigit() or int(raw) < 1:
        problems.append(f'{name}={raw!r} must be a positive integer')
        return 1
    return int(raw)


def _check_deepspeed(value, cwd: Optional[str], problems: List[str]) -> Optional[str]:
    """A short name for the summary; a problem unless built-in name, existing file or JSON object."""
    if value in (None, ''):
        return None
    if isinstance(value, dict):
        return 'json'
    if value in BUILTIN_DEEPSPEED:
        return value
    if value.strip().startswith('{'):
        return 'json'  # parse() already checked it is valid JSON
    if os.path.isfile(resolve_path(value, cwd)):
        return os.path.basename(value)
    problems.append(f'--deepspeed {value!r} is neither one of ms-swift\'s configs ({", ".join(BUILTIN_DEEPSPEED)}), '
                    'nor an existing file, nor a JSON object')
    return value


def _num_layers(model: Optional[str], cwd: Optional[str]) -> Optional[int]:
    """Decoder layers of the thinker LLM, from a local ``config.json`` or :data:`KNOWN_NUM_LAYERS`."""
    if not model:
        return None
    config = os.path.join(resolve_path(model, cwd), 'config.json')
    if os.path.isfile(config):
        try:
            with open(config, encoding='utf-8') as f:
                c = json.load(f)
            text = (c.get('thinker_config') or {}).get('text_config') or c.get('text_config') or c
            return int(text['num_hidden_layers'])
        except (ValueError, KeyError, TypeError):
            return None
    return KNOWN_NUM_LAYERS.get(os.path.basename(model.rstrip('/')).lower())


def _check_layers(spec: str, model: Optional[str], cwd: Optional[str], problems: List[str]) -> None:
    """``TARS_LAYERS`` against the model's decoder-layer count, when it is known without loading anything."""
    n = _num_layers(model, cwd)
    if n is None:
        return
    try:
        parse_layers(spec, n)
    except TarsConfigError as e:
        problems.append(str(e))


@dataclass
class _Processes:
    """What ``swift`` passes to torchrun: ``NPROC_PER_NODE × NNODES`` processes."""
    nproc: int
    nnodes: int

    @property
    def world(self) -> int:
        return self.nproc * self.nnodes


@dataclass
class _Batches:
    """The batch arithmetic of one launch, as ms-swift computes it."""
    per_device: int
    gradient_accumulation: int
    steps_per_generation: int
    num_generations: int
    do_eval: bool


def _check_launch_basics(ns, cwd: Optional[str], plugins: List[str], result: CheckResult) -> None:
    """GRPO, the swift-tars plugin imported, a model and a dataset (a missing local dataset is a warning)."""
    p, w = result.problems, result.warnings
    if ns.rlhf_type != 'grpo':
        p.append(f'--rlhf_type {ns.rlhf_type}: swift-tars trains with --rlhf_type grpo')
    if os.path.realpath(plugin_path()) not in plugins:
        p.append('--external_plugins must include the swift-tars plugin (`swift-tars plugin-path`); without it the '
                 'tars_* rewards and the TARS trainer are not registered')
    if not ns.model:
        p.append('--model is required (e.g. Qwen/Qwen2.5-Omni-7B)')
    if not ns.dataset and not getattr(ns, 'cached_dataset', None):
        p.append('--dataset is required (row-format jsonl from `swift-tars build-data`, or a registered tars-* name)')
    existing = []
    for d in list(ns.dataset or []) + list(ns.val_dataset or []):
        if looks_local(d) and not os.path.exists(resolve_path(d.split('#')[0], cwd)):
            w.append(f'dataset {d} does not exist (yet) on this machine')
        elif looks_local(d):
            existing.append(resolve_path(d, cwd))
    _check_dataset_rows(existing, p)


def _check_dataset_rows(specs: List[str], problems: List[str]) -> None:
    """The row checks training runs before its first generation (:mod:`swift_tars.data.row_checks`), on the
    local datasets that exist here; listed as training would list them (capped, then a count)."""
    found, rows = check_specs(specs)
    problems += [f'dataset row: {p.render()}' for p in found[:MAX_LISTED]]
    if len(found) > MAX_LISTED:
        problems.append(f'dataset rows: ... and {len(found) - MAX_LISTED} more problem(s) among {rows} row(s)')


def _check_processes(env: Mapping[str, str], problems: List[str]) -> _Processes:
    """The launcher variables: process counts, visible devices, multi-node rendezvous."""
    procs = _Processes(_int_env(env, 'NPROC_PER_NODE', problems), _int_env(env, 'NNODES', problems))
    visible = env.get('CUDA_VISIBLE_DEVICES')
    if visible and env.get('NPROC_PER_NODE') and listed_devices(visible) < procs.nproc:
        problems.append(f'NPROC_PER_NODE={procs.nproc} but CUDA_VISIBLE_DEVICES={visible} lists fewer devices')
    if procs.nnodes > 1 and not env.get('MASTER_ADDR'):
        problems.append(f'NNODES={procs.nnodes} needs MASTER_ADDR (the address of node 0) on every node')
    if procs.nnodes > 1 and env.get('NODE_RANK') is None:
        problems.append(f'NNODES={procs.nnodes} needs NODE_RANK (0..{procs.nnodes - 1}) on every node')
    return procs


def _steps_per_generation(ns, world: int, problems: List[str]) -> int:
    """``steps_per_generation`` as ``RLHFArguments._init_generation_batch_params`` derives it (default: GA)."""
    per_device = ns.per_device_train_batch_size
    spg, gbs = ns.steps_per_generation, ns.generation_batch_size
    global_batch = per_device * world
    if gbs is None and spg is None:
        spg = ns.gradient_accumulation_steps or 1  # ms-swift's GRPO default
    elif gbs is not None and spg is None:
        if gbs % global_batch:
            problems.append(f'--generation_batch_size {gbs} must be divisible by per_device_train_batch_size × '
                            f'processes = {per_device} × {world} = {global_batch}')
        spg = max(1, gbs // global_batch)
    elif gbs is not None and spg is not None and gbs != global_batch * spg:
        problems.append(f'--generation_batch_size {gbs} must equal per_device × processes × steps_per_generation = '
                        f'{global_batch * spg}; set only one of them')
    if spg is not None and spg <= 0:
        problems.append(f'--steps_per_generation {spg} must be > 0')
        spg = 1
    return spg


def _evaluates(ns) -> bool:
    """Whether the run evaluates during training: an eval strategy (default: the save strategy) and eval data."""
    save_strategy = str(getattr(ns.save_strategy, 'value', ns.save_strategy))
    eval_strategy = ns.eval_strategy if ns.eval_strategy is not None else save_strategy
    eval_strategy = str(getattr(eval_strategy, 'value', eval_strategy))
    has_val = bool(ns.val_dataset or (ns.split_dataset_ratio or 0) > 0 or getattr(ns, 'cached_val_dataset', None))
    return eval_strategy != 'no' and has_val


def _check_batches(ns, world: int, problems: List[str]) -> _Batches:
    """ms-swift's own generation-batch rules for ``world`` processes (what it rejects at start-up)."""
    per_device = ns.per_device_train_batch_size
    spg = _steps_per_generation(ns, world, problems)
    G = ns.num_generations
    if G and (per_device * world * spg) % G:
        problems.append(f'generation batch = per_device {per_device} × processes {world} × steps_per_generation '
                        f'{spg} = {per_device * world * spg} is not divisible by --num_generations {G} (ms-swift '
                        'rejects this)')
    do_eval = _evaluates(ns)
    G_eval = ns.num_generations_eval or G
    if do_eval and G_eval and (ns.per_device_eval_batch_size * world) % G_eval:
        problems.append(f'the global eval batch {world} × {ns.per_device_eval_batch_size} is not divisible by '
                        f'--num_generations_eval {G_eval} (ms-swift rejects this)')
    return _Batches(per_device, ns.gradient_accumulation_steps or 1, spg, G, do_eval)


def _check_tars_batch_rules(ns, batches: _Batches, problems: List[str]) -> None:
    """ms-swift's truncation choices, then the TARS batch rules with ms-swift's defaults filled in."""
    truncation = ns.truncation_strategy or 'left'
    if truncation not in ('left', 'delete'):
        problems.append(f"--truncation_strategy {truncation}: ms-swift's GRPO accepts only left or delete")
    advantage_estimator = ns.advantage_estimator
    scale_rewards = ns.scale_rewards or {'grpo': 'group', 'rloo': 'none'}.get(advantage_estimator, 'batch')
    kl_in_reward = ns.kl_in_reward if ns.kl_in_reward is not None else advantage_estimator != 'grpo'
    problems += training_setup_problems(
        num_generations=batches.num_generations,
        per_device_train_batch_size=batches.per_device,
        steps_per_generation=batches.steps_per_generation,
        num_generations_eval=ns.num_generations_eval,
        per_device_eval_batch_size=ns.per_device_eval_batch_size,
        do_eval=batches.do_eval,
        dynamic_sample=bool(ns.dynamic_sample),
        padding_free=bool(ns.padding_free),
        sequence_parallel_size=ns.sequence_parallel_size,
        truncation_strategy='raise' if truncation == 'delete' else truncation,
        async_generate=bool(ns.async_generate),
        multi_turn_scheduler=ns.multi_turn_scheduler,
        advantage_estimator=advantage_estimator,
        scale_rewards=scale_rewards,
        kl_in_reward=bool(kl_in_reward),
        has_teacher=bool(ns.teacher_model or getattr(ns, 'teacher_model_server', None)))


def _check_rewards(ns, result: CheckResult) -> List[str]:
    """Every ``--reward_funcs`` name registered, tars_representation with tars_accuracy, the weight count."""
    from swift.rewards import orms

    p, w = result.problems, result.warnings
    funcs = list(ns.reward_funcs or [])
    if not funcs:
        p.append('--reward_funcs is empty: pass at least tars_accuracy tars_format')
    unknown = [f for f in funcs if f not in orms]
    if unknown:
        tars_names = sorted(k for k in orms if k.startswith('tars_'))
        hints = [f'{f} (did you mean {m[0]}?)' if (m := difflib.get_close_matches(f, list(orms), n=1)) else f
                 for f in unknown]
        p.append(f'--reward_funcs: not registered in swift.rewards.orms: {", ".join(hints)}; swift-tars registers '
                 f'{", ".join(tars_names) or "nothing (plugin not imported)"}')
    if 'tars_representation' in funcs and 'tars_accuracy' not in funcs:
        p.append('--reward_funcs: tars_representation needs tars_accuracy (it pairs speech rollouts with the text '
                 'rollouts that tars_accuracy scores correct)')
    elif funcs and 'tars_accuracy' not in funcs:
        w.append('--reward_funcs without tars_accuracy: nothing rewards correct answers')
    n_weights_expected = len(funcs) + len(ns.reward_model or [])
    if ns.reward_weights is not None and len(ns.reward_weights) != n_weights_expected:
        p.append(f'--reward_weights has {len(ns.reward_weights)} value(s) but there are {n_weights_expected} reward '
                 f'function(s)/model(s): {" ".join(funcs + list(ns.reward_model or []))}')
    return funcs


def _check_post_init_rules(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult) -> Optional[str]:
    """ms-swift ``__post_init__`` rules that need no model (vLLM mode, DeepSpeed); the DeepSpeed summary name."""
    p, w = result.problems, result.warnings
    if ns.vllm_mode is not None and not ns.use_vllm:
        p.append(f'--vllm_mode {ns.vllm_mode} needs --use_vllm true (ms-swift: vllm_mode is not supported when '
                 'use_vllm is false)')
    if ns.use_vllm and ns.vllm_mode is None:
        p.append('--use_vllm true needs --vllm_mode colocate or server')
    if ns.use_vllm and ns.vllm_mode == 'server' and not (ns.vllm_server_host or ns.vllm_server_base_url):
        p.append('--vllm_mode server needs --vllm_server_host (and --vllm_server_port) or --vllm_server_base_url')
    if getattr(ns, 'rollout_importance_sampling_mode', None) and not ns.use_vllm:
        w.append('--rollout_importance_sampling_mode has no effect without vLLM rollout (no rollout log-probs)')
    deepspeed = _check_deepspeed(ns.deepspeed, cwd, p)
    if deepspeed and 'zero3' in str(ns.deepspeed) and env.get('ENABLE_AUDIO_OUTPUT', '').lower() not in (
            '0', 'false'):
        p.append('DeepSpeed ZeRO-3 with Qwen2.5-Omni needs ENABLE_AUDIO_OUTPUT=0 (the talker is not built)')
    if ns.tuner_type == 'full' and ns.beta:
        w.append(f'--beta {ns.beta} with full fine-tuning loads a reference model copy; the paper uses --beta 0')
    return deepspeed


def _rlhf_summary(ns, procs: _Processes, batches: _Batches, funcs: List[str], deepspeed: Optional[str],
                  tars: TarsConfig) -> str:
    """The OK line: processes, completions per step, groups per rank, rewards, DeepSpeed, rollout, TARS_*."""
    world, per_device, ga = procs.world, batches.per_device, batches.gradient_accumulation
    G, spg = batches.num_generations, batches.steps_per_generation
    completions = per_device * ga * world
    weights = ns.reward_weights or [1.0] * len(funcs)
    rewards = ' '.join(f'{f}×{w_:g}' for f, w_ in zip(funcs, weights))
    rollout = f'vLLM {ns.vllm_mode}' if ns.use_vllm else 'HF generate'
    return (f'`swift rlhf` (ms-swift {swift_version()}): {ns.rlhf_type}, model {ns.model}, {ns.tuner_type}; '
            f'{world} process(es) = NPROC_PER_NODE {procs.nproc} × NNODES {procs.nnodes}; per_device {per_device} × '
            f'GA {ga} × {world} = {completions} completions/step = {completions // G if G else "?"} questions × {G} '
            f'rollouts ({G // 2} speech + {G // 2} text); B = {per_device} × steps_per_generation {spg} = '
            f'{per_device * spg} per rank = {per_device * spg // G if G else "?"} group(s); rewards {rewards}; '
            f'deepspeed {deepspeed or "none"}; rollout {rollout}; TARS_LAYERS={tars.layers} '
            f'TARS_REFERENCE={tars.reference}')


def check_rlhf(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    """``swift rlhf``: every check above, in the order a user fixes them; the summary when all pass."""
    _check_launch_basics(ns, cwd, plugins, result)
    procs = _check_processes(env, result.problems)
    batches = _check_batches(ns, procs.world, result.problems)
    _check_tars_batch_rules(ns, batches, result.problems)
    funcs = _check_rewards(ns, result)
    deepspeed = _check_post_init_rules(ns, env, cwd, result)
    tars = check_tars_env(env, result.problems)
    if tars is not None:
        text_terms = [f for f in funcs if f in TEXT_REFERENCE_REWARD_NAMES]
        text_terms += ['TARS_DISTILL_COEF > 0'] if tars.distill_coef > 0 else []
        result.problems += group_layout_problems(tars.group_layout, text_terms)
    if tars is not None and 'tars_representation' in funcs:
        _check_layers(tars.layers, ns.model, cwd, result.problems)
    if result.ok:
        result.summary = _rlhf_summary(ns, procs, batches, funcs, deepspeed, tars)
