"""Running the real ``swift rlhf`` offline on CPU in tests and the demo: environment, command line, and
reading back what ms-swift logged.
"""
import json
import os
import shutil
import sys
from pathlib import Path
from typing import Dict, List, Sequence, Union

from swift_tars.cli import plugin_path

PathLike = Union[str, os.PathLike]


OFFLINE_ENV = {
    'HF_HUB_OFFLINE': '1',
    'TRANSFORMERS_OFFLINE': '1',
    'HF_DATASETS_OFFLINE': '1',
    'MODELSCOPE_OFFLINE': '1',
    'USE_HF': '1',
    'CUDA_VISIBLE_DEVICES': '',
    'TOKENIZERS_PARALLELISM': 'false',
}


# `swift rlhf` flags for a short GRPO run of the tiny model on CPU (see cpu-ci notes in the README).
CPU_RLHF_ARGS = [
    '--rlhf_type', 'grpo', '--torch_dtype', 'float32', '--fp16', 'false',
    '--bf16', 'false', '--use_vllm', 'false', '--beta', '0', '--loss_type', 'dapo', '--scale_rewards', 'none',
    '--temperature', '1.0', '--tuner_type', 'lora', '--lora_rank', '4', '--lora_alpha', '16', '--report_to',
    'none', '--logging_steps', '1', '--save_strategy', 'no', '--dataloader_num_workers', '0', '--check_model',
    'false', '--max_length', '1024', '--max_completion_length', '32', '--log_completions', 'true',
    '--dataset_shuffle', 'false', '--seed', '42'
]


def multi_process_env(nproc: int, master_port: str, deepspeed: bool = False) -> Dict[str, str]:
    """The extra environment of a ``swift rlhf`` run with ``nproc`` processes on CPU (torchrun over gloo).

    Plain DDP needs ``ACCELERATE_USE_CPU=1`` together with ``--ddp_backend gloo``: without it accelerate never forms
    the process group. DeepSpeed must run without it: accelerate then skips DeepSpeed's communication setup and its
    DeepSpeed mode, so ZeRO-3's ``zero.Init`` counts one process (``train_batch_size is not equal to
    micro_batch_per_gpu * gradient_acc_step * world_size 8 != 2 * 2 * 1``). Without it, accelerate counts one
    process instead (``4 != 2 * 2 * 2``) unless its state gets a backend, which is what the test plugin
    ``tests/plugins/cpu_deepspeed.py`` does; pass it to :func:`tiny_rlhf_command` with ``--deepspeed``.
    """
    return {'NPROC_PER_NODE': str(nproc), 'MASTER_PORT': str(master_port),
            'ACCELERATE_USE_CPU': '0' if deepspeed else '1'}


def offline_env(**extra: str) -> Dict[str, str]:
    """``os.environ`` plus the hub-offline, CPU-only settings (and ``extra``), for a subprocess."""
    env = dict(os.environ)
    env.update(OFFLINE_ENV)
    env.update(extra)
    return env


def swift_executable() -> str:
    """The ``swift`` console script of the running interpreter's environment."""
    candidate = Path(sys.executable).parent / 'swift'
    found = str(candidate) if candidate.exists() else shutil.which('swift')
    if not found:
        raise FileNotFoundError('the `swift` command of ms-swift is not installed in this environment; '
                                'run `make setup` (or pip install ms-swift==4.6.0)')
    return found


def tiny_rlhf_command(model: PathLike,
                      dataset: PathLike,
                      output_dir: PathLike,
                      reward_funcs: Sequence[str],
                      *extra: str,
                      plugins: Sequence[PathLike] = (),
                      model_type: str = 'qwen2_5_omni') -> List[str]:
    """The full ``swift rlhf`` command of a tiny CPU run of a ``model_type`` model with the swift-tars plugin (plus
    ``plugins``)."""

    return [
        swift_executable(), 'rlhf', *CPU_RLHF_ARGS, '--model_type', model_type, '--model',
        str(model), '--dataset',
        str(dataset), '--output_dir',
        str(output_dir), '--external_plugins',
        plugin_path(), *map(str, plugins), '--reward_funcs', *reward_funcs, *extra
    ]


def read_logging(output_dir: PathLike) -> List[dict]:
    """The training-step records of the newest ``logging.jsonl`` under ``output_dir`` (no summary lines)."""
    logs = sorted(Path(output_dir).glob('v*/logging.jsonl'), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise FileNotFoundError(f'no logging.jsonl under {output_dir}: did `swift rlhf` run?')
    records = [json.loads(line) for line in logs[-1].read_text().splitlines() if line.strip()]
    return [r for r in records if 'loss' in r and 'global_step/max_steps' in r]


def read_completions(output_dir: PathLike) -> List[dict]:
    """One dict per rollout from the newest ``completions.jsonl`` (``--log_completions true``).

    ms-swift's final ``log`` call writes the last step's table a second time; that repeat is dropped.
    """
    logs = sorted(Path(output_dir).glob('v*/completions.jsonl'), key=lambda p: p.stat().st_mtime)
    if not logs:
        raise FileNotFoundError(f'no completions.jsonl under {output_dir}: pass --log_completions true')
    rows, previous = [], None
    for line in logs[-1].read_text().splitlines():
        record = json.loads(line)
        if record == previous:
            continue
        previous = record
        keys = [k for k, v in record.items() if isinstance(v, list)]
        rows.extend({k: record[k][i] for k in keys} for i in range(len(record['completion'])))
    return rows
