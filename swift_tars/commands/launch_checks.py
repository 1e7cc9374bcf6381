"""swift-tars' checks on parsed ``swift`` arguments: the result type, the helpers every command shares, and the
``swift rollout`` / ``swift export`` checks (``swift rlhf`` has its own module, :mod:`.rlhf_checks`).

Each ``check_<command>`` adds what it finds to a :class:`CheckResult` and, when nothing is wrong, writes the
one-line summary that ``swift-tars check-args`` prints.
"""
import argparse
import os
from dataclasses import dataclass, field
from typing import List, Mapping, Optional

from swift_tars.commands.swift_arguments import swift_version
from swift_tars.config import TarsConfig, TarsConfigError


@dataclass
class CheckResult:
    """What ``swift-tars check-args`` found for one command line; ``ok`` is False when ``problems`` is non-empty."""
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


# ---------------------------------------------------------------------------------------------------------------
# shared helpers: paths, devices, plugins, TARS_*


def resolve_path(path: str, cwd: Optional[str]) -> str:
    """``path`` with ``~`` expanded, relative to ``cwd`` (the launch directory) when given."""
    path = os.path.expanduser(path)
    return path if os.path.isabs(path) or not cwd else os.path.join(cwd, path)


def looks_local(path: str) -> bool:
    """Whether a dataset/adapter name is a local path (so its absence is worth a warning), not a hub id."""
    return path.startswith(('/', './', '../', '~')) or path.split('#')[0].endswith(('.jsonl', '.json', '.csv'))


def listed_devices(visible: str) -> int:
    """How many devices ``CUDA_VISIBLE_DEVICES`` lists."""
    return len([d for d in visible.split(',') if d.strip()])


def import_plugins(ns: argparse.Namespace, cwd: Optional[str], problems: List[str]) -> List[str]:
    """Imports ``--external_plugins`` / ``--custom_register_path`` as ``swift`` does; their real paths."""
    from swift.utils import import_external_file

    paths = list(getattr(ns, 'external_plugins', None) or [])
    register = getattr(ns, 'custom_register_path', None) or []
    paths += [register] if isinstance(register, str) else list(register)
    imported = []
    for path in paths:
        full = resolve_path(path, cwd)
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


def check_tars_env(env: Mapping[str, str], problems: List[str]) -> Optional[TarsConfig]:
    """``TarsConfig.from_env`` on the ``TARS_*`` variables; None (and one problem per bad variable) when they are
    wrong."""
    try:
        return TarsConfig.from_env(env)
    except TarsConfigError as e:  # every bad variable, one problem each (a missing path included)
        problems.extend(e.problems)
        return None


# ---------------------------------------------------------------------------------------------------------------
# swift rollout, swift export


def check_rollout(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    """``swift rollout`` (the vLLM server of ``--vllm_mode server``): model, parallelism, single-turn."""
    p = result.problems
    if not ns.model:
        p.append('--model is required (the same model as the trainer\'s --model)')
    if ns.vllm_pipeline_parallel_size > 1:
        p.append('swift rollout does not support --vllm_pipeline_parallel_size > 1')
    if ns.multi_turn_scheduler:
        p.append(f'--multi_turn_scheduler {ns.multi_turn_scheduler}: TARS groups are single-turn; remove it')
    devices = ns.vllm_data_parallel_size * ns.vllm_tensor_parallel_size
    visible = env.get('CUDA_VISIBLE_DEVICES')
    if visible and listed_devices(visible) < devices:
        p.append(f'vllm_data_parallel_size × vllm_tensor_parallel_size = {devices} GPUs but CUDA_VISIBLE_DEVICES='
                 f'{visible}')
    check_tars_env(env, p)
    if result.ok:
        result.summary = (f'`swift rollout` (ms-swift {swift_version()}): model {ns.model} on {ns.host}:{ns.port}, '
                          f'{devices} GPU(s) (tp {ns.vllm_tensor_parallel_size} × dp {ns.vllm_data_parallel_size}), '
                          f'vllm_enable_lora {ns.vllm_enable_lora}')


def check_export(ns, env: Mapping[str, str], cwd: Optional[str], result: CheckResult, plugins: List[str]) -> None:
    """``swift export`` (merge LoRA, push): a checkpoint or model, the hub id, where the push goes."""
    p, w = result.problems, result.warnings
    if not ns.model and not ns.adapters and not getattr(ns, 'ckpt_dir', None):
        p.append('--adapters <checkpoint> or --model is required')
    for a in ns.adapters or []:
        if looks_local(a) and not os.path.isdir(resolve_path(a, cwd)):
            w.append(f'--adapters {a} does not exist (yet) on this machine')
    if ns.push_to_hub and not ns.hub_model_id:
        p.append('--push_to_hub true needs --hub_model_id user/name')
    if ns.push_to_hub:
        w.append('`swift export --push_to_hub` uploads without the TARS model card; `swift-tars push` writes one')
    if ns.push_to_hub and not ns.use_hf and env.get('USE_HF', '').lower() not in ('1', 'true'):
        w.append('without --use_hf true (or USE_HF=1) ms-swift pushes to ModelScope, not Hugging Face')
    if result.ok:
        what = 'merge LoRA' if ns.merge_lora else 'export'
        result.summary = (f'`swift export` (ms-swift {swift_version()}): {what} {" ".join(ns.adapters) or ns.model}'
                          + (f' -> hub {ns.hub_model_id}' if ns.push_to_hub else ''))

