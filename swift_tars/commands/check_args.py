"""``swift-tars check-args``: validate a ``swift rlhf`` / ``rollout`` / ``export`` command line without running it.

Invoked exactly like ``swift`` (``swift-tars check-args rlhf --model ... --external_plugins ...``), so a
launch script that runs ``$SWIFT rlhf ...`` can be dry-run with ``SWIFT="swift-tars check-args"``. Nothing is
loaded and nothing is downloaded:

1. a YAML/JSON config file as the first argument is expanded the way ``swift`` does (``parse_yaml_args``);
2. the arguments are parsed by ms-swift's own argument dataclass (``RLHFArguments``, ``RolloutArguments``,
   ``ExportArguments``) through ``transformers.HfArgumentParser`` with ms-swift's type-hint patch, as in
   ``swift.utils.parse_args`` — but with ``parse_known_args`` only, never ``__post_init__`` (which loads model
   configs). Unknown flags are an error, as in ``SwiftPipeline._parse_args`` (``ValueError: remaining_argv``),
   with the closest known flag suggested; bad choices and types fail as argparse fails in ms-swift; values that
   look like JSON (``--vllm_limit_mm_per_prompt '{...}'``) must parse;
3. the ``--external_plugins`` files are imported with ``swift.utils.import_external_file`` (so the ``tars_*``
   rewards are registered);
4. swift-tars' checks on the parsed values: the batch rules of :func:`swift_tars.grpo.guards.check_training_setup`
   (``steps_per_generation`` defaults to ``gradient_accumulation_steps``), ms-swift's own generation-batch
   arithmetic for ``NPROC_PER_NODE × NNODES`` processes, every ``--reward_funcs`` name registered in
   ``swift.rewards.orms``, the ``--reward_weights`` count, ``--deepspeed`` a built-in name, a file or JSON,
   ``TarsConfig.from_env()`` for the ``TARS_*`` variables, a few ms-swift ``__post_init__`` rules
   (``--vllm_mode`` with ``--use_vllm``, truncation strategy, ...).

Prints one ``OK`` line with the batch arithmetic, or every problem found and exits 1.

Batch mode for tests (one Python start-up for many command lines): ``--record FILE`` appends the command line,
the working directory and the relevant environment to ``FILE`` (JSON lines) and exits 0 without importing
anything heavy; ``--replay FILE...`` checks every recorded line in one process.
"""
import argparse
import contextlib
import difflib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

from swift_tars.cli import plugin_path
from swift_tars.config import TarsConfig, TarsConfigError, parse_layers
from swift_tars.grpo.guards import TarsSetupError, check_training_setup

COMMANDS = ('rlhf', 'rollout', 'export')
ARGUMENT_CLASSES = {'rlhf': 'RLHFArguments', 'rollout': 'RolloutArguments', 'export': 'ExportArguments'}
BUILTIN_DEEPSPEED = ('zero0', 'zero1', 'zero2', 'zero3', 'zero2_offload', 'zero3_offload')
# environment read by `swift` (torchrun re-execution) and by the checks; recorded with --record
RECORDED_ENV = ('NPROC_PER_NODE', 'NNODES', 'NODE_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'CUDA_VISIBLE_DEVICES',
                'ENABLE_AUDIO_OUTPUT', 'USE_HF', 'SWIFT_AUDIO_LOAD_BACKEND')


@dataclass
class CheckResult:
    """What :func:`check` found; ``ok`` is False when ``problems`` is non-empty."""
    command: str
    problems: List[str] = field(default_factory=list)
    warnings: List[str] = field(default_factory=list)
    summary: str = ''
    label: str = ''

    @property
    def ok(self) -> bool:
        return not self.problems

    def render(self) -> str:
        prefix = f'[{self.label}] ' if self.label else ''
        lines = [f'{prefix}swift-tars check-args: ' + (f'OK {self.summary}' if self.ok else
                                                       f'FAILED `swift {self.command}` ({len(self.problems)} '
                                                       'problem(s)):')]
        lines += [f'  - {p}' for p in self.problems]
        lines += [f'  warning: {w}' for w in self.warnings]
        return '\n'.join(lines)


class _ArgparseError(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------
# parsing through ms-swift's argument classes


def _argument_class(command: str):
    import swift.arguments

    return getattr(swift.arguments, ARGUMENT_CLASSES[command])


def _hf_parser(cls):
    """``HfArgumentParser([cls])`` built as ``swift.utils.parse_args`` builds it (JSON-string fields stay str)."""
    from transformers import HfArgumentParser

    try:
        from swift.utils.utils import _patch_get_type_hints
    except ImportError:  # pragma: no cover - ms-swift is pinned; keep a usable error if it moves
        _patch_get_type_hints = contextlib.nullcontext
    with _patch_get_type_hints():
        parser = HfArgumentParser([cls])

    def error(message):  # argparse would print usage and exit 2
        raise _ArgparseError(message)

    parser.error = error
    return parser


def _dict_fields(cls) -> List[str]:
    """Fields whose annotation allows a dict: ms-swift reads them from JSON strings (or files)."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    names = []
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        args = typing.get_args(hint)
        if hint is dict or dict in args or any(typing.get_origin(a) is dict for a in args):
            names.append(f.name)
    return names


def _unknown_flags(remaining: Sequence[str], known: Sequence[str]) -> List[str]:
    out = []
    for item in remaining:
        if not item.startswith('-') or item.lstrip('-').replace('.', '', 1).isdigit():  # values like -1
            continue
        flag = item.split('=', 1)[0]
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
        out.append(f'{flag} (did you mean {close[0]}?)' if close else flag)
    return out


def parse(command: str, argv: Sequence[str]) -> Tuple[argparse.Namespace, List[str], List[str]]:
    """Parses ``argv`` with ms-swift's argument class of ``command`` (no ``__post_init__``).

    Returns ``(namespace, problems, warnings)``; ``namespace`` holds every field with its default.
    """
    cls = _argument_class(command)
    parser = _hf_parser(cls)
    problems, warnings = [], []
    try:
        namespace, remaining = parser.parse_known_args(list(argv))
    except _ArgparseError as e:
        return argparse.Namespace(), [f'ms-swift rejects the arguments: {e}'], []
    if remaining:
        known = [o for o in parser._option_string_actions if o.startswith('--')]
        flags = _unknown_flags(remaining, known)
        msg = (f'unknown argument(s) for `swift {command}`: {", ".join(flags) or " ".join(remaining)} — ms-swift '
               f'{_swift_version()} stops with `ValueError: remaining_argv: {remaining}`')
        if getattr(namespace, 'ignore_args_error', False):
            warnings.append(msg + ' (ignored because of --ignore_args_error true)')
        else:
            problems.append(msg)
    for name in _dict_fields(cls):
        value = getattr(namespace, name, None)
        if isinstance(value, str) and value.strip()[:1] in ('{', '['):
            try:
                json.loads(value)
            except json.JSONDecodeError as e:
                problems.append(f'--{name} {value!r} is not valid JSON ({e}); check the shell quoting')
    return namespace, problems, warnings


def _swift_version() -> str:
    import swift

    return swift.__version__


# ---------------------------------------------------------------------------------------------------------------
# environment handling


@contextlib.contextmanager
def _environ(env: Optional[Mapping[str, str]]) -> Iterator[None]:
    """``os.environ`` with the ``TARS_*`` / launcher variables of ``env`` (``None``: unchanged)."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith('TARS_') or key in RECORDED_ENV:
                del os.environ[key]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _int_env(env: Mapping[str, str], name: str, problems: List[str]) -> int:
    raw = env.get(name)
    if raw is None or raw == '':
        return 1
    if not raw.strip().isdigit() or int(raw) < 1:
        problems.append(f'{name}={raw!r} must be a positive integer')
        return 1
    return int(raw)


def _resolve(path: str, cwd: Optional[str]) -> str:
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) or not cwd else os.path.join(cwd, path)


# ---------------------------------------------------------------------------------------------------------------
# plugins, rewards, deepspeed


def _import_plugins(ns: argparse.Namespace, cwd: Optional[str], problems: List[str]) -> List[str]:
    from swift.utils import import_external_file

    paths = list(getattr(ns, 'external_plugins', None) or [])
    register = getattr(ns, 'custom_register_path', None) or []
    paths += [register] if isinstance(register, str) else list(register)
    imported = []
    for path in paths:
        full = _resolve(path, cwd)
        if not os.path.isfile(full):
            problems.append(f'--external_plugins {path}: no such file')
            continue
        try:
            import_external_file(full)
        except Exception as e:  # the plugin's own error, e.g. an ms-swift version mismatch
            problems.append(f'--external_plugins {path}: importing it failed: {type(e).__name__}: {e}')
            continue
        imported.append(os.path.realpath(full))
    return imported


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
    if os.path.isfile(_resolve(value, cwd)):
        return os.path.basename(value)
    problems.append(f'--deepspeed {value!r} is neither one of ms-swift\'s configs ({", ".join(BUILTIN_DEEPSPEED)}), '
                    'nor an existing file, nor a JSON object')
    return value


def _looks_local(path: str) -> bool:
    return path.startswith(('/', './', '../', '~')) or path.split('#')[0].endswith(('.jsonl', '.json', '.csv'))


# ---------------------------------------------------------------------------------------------------------------
# the checks per command


def _check_tars_env(env: Mapping[str, str], problems: List[str]):

    try:
        return TarsConfig.from_env(env)
    except TarsConfigError as e:
        problems.append(str(e))
        return None


def _check_rlhf(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    from swift.rewards import orms


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
    for d in list(ns.dataset or []) + list(ns.val_dataset or []):
        if _looks_local(d) and not os.path.exists(_resolve(d.split('#')[0], cwd)):
            w.append(f'dataset {d} does not exist (yet) on this machine')

    # processes: what `swift` passes to torchrun
    nproc = _int_env(env, 'NPROC_PER_NODE', p)
    nnodes = _int_env(env, 'NNODES', p)
    world = nproc * nnodes
    visible = env.get('CUDA_VISIBLE_DEVICES')
    if visible and env.get('NPROC_PER_NODE') and len([d for d in visible.split(',') if d.strip()]) < nproc:
        p.append(f'NPROC_PER_NODE={nproc} but CUDA_VISIBLE_DEVICES={visible} lists fewer devices')
    if nnodes > 1 and not env.get('MASTER_ADDR'):
        p.append(f'NNODES={nnodes} needs MASTER_ADDR (the address of node 0) on every node')
    if nnodes > 1 and env.get('NODE_RANK') is None:
        p.append(f'NNODES={nnodes} needs NODE_RANK (0..{nnodes - 1}) on every node')

    # batch arithmetic, as RLHFArguments._set_default / _init_generation_batch_params compute it
    per_device = ns.per_device_train_batch_size
    ga = ns.gradient_accumulation_steps or 1  # ms-swift's GRPO default
    spg, gbs = ns.steps_per_generation, ns.generation_batch_size
    global_batch = per_device * world
    if gbs is None and spg is None:
        spg = ga
    elif gbs is not None and spg is None:
        if gbs % global_batch:
            p.append(f'--generation_batch_size {gbs} must be divisible by per_device_train_batch_size × processes = '
                     f'{per_device} × {world} = {global_batch}')
        spg = max(1, gbs // global_batch)
    elif gbs is not None and spg is not None and gbs != global_batch * spg:
        p.append(f'--generation_batch_size {gbs} must equal per_device × processes × steps_per_generation = '
                 f'{global_batch * spg}; set only one of them')
    if spg is not None and spg <= 0:
        p.append(f'--steps_per_generation {spg} must be > 0')
        spg = 1
    G = ns.num_generations
    if G and (global_batch * spg) % G:
        p.append(f'generation batch = per_device {per_device} × processes {world} × steps_per_generation {spg} = '
                 f'{global_batch * spg} is not divisible by --num_generations {G} (ms-swift rejects this)')
    save_strategy = str(getattr(ns.save_strategy, 'value', ns.save_strategy))
    eval_strategy = ns.eval_strategy if ns.eval_strategy is not None else save_strategy
    eval_strategy = str(getattr(eval_strategy, 'value', eval_strategy))
    has_val = bool(ns.val_dataset or (ns.split_dataset_ratio or 0) > 0 or getattr(ns, 'cached_val_dataset', None))
    do_eval = eval_strategy != 'no' and has_val
    G_eval = ns.num_generations_eval or G
    if do_eval and G_eval and (ns.per_device_eval_batch_size * world) % G_eval:
        p.append(f'the global eval batch {world} × {ns.per_device_eval_batch_size} is not divisible by '
                 f'--num_generations_eval {G_eval} (ms-swift rejects this)')
    truncation = ns.truncation_strategy or 'left'
    if truncation not in ('left', 'delete'):
        p.append(f"--truncation_strategy {truncation}: ms-swift's GRPO accepts only left or delete")
    advantage_estimator = ns.advantage_estimator
    scale_rewards = ns.scale_rewards or {'grpo': 'group', 'rloo': 'none'}.get(advantage_estimator, 'batch')
    kl_in_reward = ns.kl_in_reward if ns.kl_in_reward is not None else advantage_estimator != 'grpo'
    try:
        check_training_setup(
            num_generations=G,
            per_device_train_batch_size=per_device,
            steps_per_generation=spg,
            num_generations_eval=ns.num_generations_eval,
            per_device_eval_batch_size=ns.per_device_eval_batch_size,
            do_eval=do_eval,
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
    except TarsSetupError as e:
        p.extend(line.strip()[2:] for line in str(e).splitlines()[1:] if line.strip().startswith('- '))

    # rewards
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

    # ms-swift __post_init__ rules that need no model
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

    tars = _check_tars_env(env, p)
    if tars is not None and 'tars_representation' in funcs:
        _check_layers(tars.layers, ns.model, cwd, p)
    if not result.ok:
        return
    completions = per_device * ga * world
    weights = ns.reward_weights or [1.0] * len(funcs)
    rewards = ' '.join(f'{f}×{w_:g}' for f, w_ in zip(funcs, weights))
    rollout = f'vLLM {ns.vllm_mode}' if ns.use_vllm else 'HF generate'
    result.summary = (
        f'`swift rlhf` (ms-swift {_swift_version()}): {ns.rlhf_type}, model {ns.model}, {ns.tuner_type}; '
        f'{world} process(es) = NPROC_PER_NODE {nproc} × NNODES {nnodes}; per_device {per_device} × GA {ga} × '
        f'{world} = {completions} completions/step = {completions // G if G else "?"} questions × {G} rollouts '
        f'({G // 2} speech + {G // 2} text); B = {per_device} × steps_per_generation {spg} = {per_device * spg} '
        f'per rank = {per_device * spg // G if G else "?"} group(s); rewards {rewards}; '
        f'deepspeed {deepspeed or "none"}; rollout {rollout}; TARS_LAYERS={tars.layers} '
        f'TARS_REFERENCE={tars.reference}')


# decoder layers of the thinker LLM of models whose config is not local
KNOWN_NUM_LAYERS = {'qwen2.5-omni-7b': 28, 'qwen2.5-omni-3b': 36}


def _num_layers(model: Optional[str], cwd: Optional[str]) -> Optional[int]:
    if not model:
        return None
    config = os.path.join(_resolve(model, cwd), 'config.json')
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


def _check_rollout(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    p = result.problems
    if not ns.model:
        p.append('--model is required (the same model as the trainer\'s --model)')
    if ns.vllm_pipeline_parallel_size > 1:
        p.append('swift rollout does not support --vllm_pipeline_parallel_size > 1')
    if ns.multi_turn_scheduler:
        p.append(f'--multi_turn_scheduler {ns.multi_turn_scheduler}: TARS groups are single-turn; remove it')
    devices = ns.vllm_data_parallel_size * ns.vllm_tensor_parallel_size
    visible = env.get('CUDA_VISIBLE_DEVICES')
    if visible and len([d for d in visible.split(',') if d.strip()]) < devices:
        p.append(f'vllm_data_parallel_size × vllm_tensor_parallel_size = {devices} GPUs but CUDA_VISIBLE_DEVICES='
                 f'{visible}')
    _check_tars_env(env, p)
    if result.ok:
        result.summary = (f'`swift rollout` (ms-swift {_swift_version()}): model {ns.model} on {ns.host}:{ns.port}, '
                          f'{devices} GPU(s) (tp {ns.vllm_tensor_parallel_size} × dp {ns.vllm_data_parallel_size}), '
                          f'vllm_enable_lora {ns.vllm_enable_lora}')


def _check_export(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    p, w = result.problems, result.warnings
    if not ns.model and not ns.adapters and not getattr(ns, 'ckpt_dir', None):
        p.append('--adapters <checkpoint> or --model is required')
    for a in ns.adapters or []:
        if _looks_local(a) and not os.path.isdir(_resolve(a, cwd)):
            w.append(f'--adapters {a} does not exist (yet) on this machine')
    if ns.push_to_hub and not ns.hub_model_id:
        p.append('--push_to_hub true needs --hub_model_id user/name')
    if ns.push_to_hub:
        w.append('`swift export --push_to_hub` uploads without the TARS model card; `swift-tars push` writes one')
    if ns.push_to_hub and not ns.use_hf and env.get('USE_HF', '').lower() not in ('1', 'true'):
        w.append('without --use_hf true (or USE_HF=1) ms-swift pushes to ModelScope, not Hugging Face')
    if result.ok:
        what = 'merge LoRA' if ns.merge_lora else 'export'
        result.summary = (f'`swift export` (ms-swift {_swift_version()}): {what} {" ".join(ns.adapters) or ns.model}'
                          + (f' -> hub {ns.hub_model_id}' if ns.push_to_hub else ''))


_CHECKS = {'rlhf': _check_rlhf, 'rollout': _check_rollout, 'export': _check_export}


def check(command: str, argv: Sequence[str], env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
          label: str = '') -> CheckResult:
    """Validates ``swift <command> <argv>`` as described in the module docstring; never raises for bad input.

    ``env``: the environment of the command (default ``os.environ``); ``cwd``: resolves relative paths.
    """
    result = CheckResult(command=command, label=label)
    if command not in COMMANDS:
        result.problems.append(f'unsupported command {command!r}; use one of {", ".join(COMMANDS)}')
        return result
    env = dict(os.environ if env is None else env)
    argv = list(argv)
    if argv and argv[0].endswith(('.json', '.yaml', '.yml')):
        from swift.cli.main import parse_yaml_args

        with _environ(env):
            parse_yaml_args(argv)  # expands the config file in place; its ENV block fills missing variables
            env.update({k: v for k, v in os.environ.items() if k.startswith('TARS_') or k in RECORDED_ENV})
    namespace, problems, warnings = parse(command, argv)
    result.problems += problems
    result.warnings += warnings
    if not vars(namespace):  # argparse itself failed
        return result
    with _environ(env):
        plugins = _import_plugins(namespace, cwd, result.problems)
        _CHECKS[command](namespace, env, cwd, result, plugins)
    return result


# ---------------------------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = ('Validate a `swift rlhf|rollout|export` command line through ms-swift\'s own argument '
                          'parsing plus swift-tars\' batch/reward/TARS_* checks, without loading anything. Use it '
                          'like `swift`: SWIFT="swift-tars check-args" bash examples/train_....sh')
    parser.add_argument('--record', metavar='FILE', help='append the command line and environment to FILE (JSON '
                        'lines) and exit 0 without checking; check later with --replay')
    parser.add_argument('--replay', nargs='+', metavar='FILE', help='check every command line recorded in FILE(s)')
    parser.add_argument('--json', action='store_true', help='print one JSON object per check')
    # (not `command`: the swift-tars dispatcher stores the subcommand name there)
    parser.add_argument('swift_command', nargs='?', metavar='COMMAND', help='rlhf, rollout or export')
    parser.add_argument('swift_args', nargs=argparse.REMAINDER, help='the arguments `swift <command>` would get')


def _record(path: str, command: str, argv: List[str]) -> int:
    env = {k: v for k, v in os.environ.items() if k.startswith('TARS_') or k in RECORDED_ENV}
    line = json.dumps({'command': command, 'argv': argv, 'env': env, 'cwd': os.getcwd()})
    with open(path, 'a', encoding='utf-8') as f:
        f.write(line + '\n')
    return 0


def _replay(paths: Sequence[str]) -> Iterator[CheckResult]:
    for path in paths:
        stem = os.path.basename(path).rsplit('.', 1)[0]
        with open(path, encoding='utf-8') as f:
            records = [json.loads(line) for line in f if line.strip()]
        if not records:
            yield CheckResult(command='?', label=stem, problems=[f'{path}: nothing was recorded (did the script call '
                                                                 '$SWIFT?)'])
        for i, rec in enumerate(records):
            yield check(rec['command'], rec['argv'], env=rec['env'], cwd=rec.get('cwd'), label=f'{stem}#{i}')


def main(args: argparse.Namespace) -> int:
    _quiet()
    if args.replay:
        results = list(_replay(args.replay))
    else:
        argv = list(args.swift_args or [])
        if argv[:1] == ['--']:
            argv = argv[1:]
        if args.swift_command not in COMMANDS:
            print(f'swift-tars check-args: give the swift command to check ({", ".join(COMMANDS)}), e.g. '
                  '`swift-tars check-args rlhf --rlhf_type grpo ...`', file=sys.stderr)
            return 2
        if args.record:
            return _record(args.record, args.swift_command, argv)
        results = [check(args.swift_command, argv)]
    for r in results:
        if args.json:
            print(json.dumps({**asdict(r), 'ok': r.ok}))
        else:
            print(r.render(), file=sys.stdout if r.ok else sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _quiet() -> None:
    """ms-swift and transformers log at import; keep the output to the verdict."""
    os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
    os.environ.setdefault('LOG_LEVEL', 'WARNING')  # ms-swift's logger
    import logging
    import warnings

    warnings.filterwarnings('ignore')
    logging.getLogger('swift').setLevel(logging.ERROR)
