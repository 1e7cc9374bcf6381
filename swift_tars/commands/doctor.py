"""``swift-tars doctor``: is this machine ready for swift-tars, and does a recipe fit its GPUs?

Why: a wrong pin, a talker that gets built, a typo in a ``TARS_*`` variable, a hub that cannot be reached or a
recipe that does not fit in memory all fail late (after downloads, or minutes into a multi-GPU job). The doctor
checks them in seconds and prints every problem with its fix; the exit code is 1 when something would fail.

Checks: package versions against the pins of the installed swift-tars (its metadata: ``install_requires`` and the
``[vllm]`` extra — the one source); torch/CUDA and the GPUs; ``ENABLE_AUDIO_OUTPUT``; every ``TARS_*`` variable
(each one separately, through ``TarsConfig.from_env``); offline mode or a short hub probe (``--offline`` skips
it); free disk under ``--data_dir`` / ``--output_dir``; with ``--recipe``, the memory plan of each ``swift rlhf``
call of the script (:mod:`swift_tars.commands.memory_plan`). Tokens are reported as set/unset only.
"""
import argparse
import difflib
import os
import shutil
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional

from swift_tars.commands import memory_plan as mp
from swift_tars.config import TARS_VARIABLES, TarsConfig, TarsConfigError

NO_GPU = 'no GPU: training recipes need CUDA GPUs; the offline demo and tests run on CPU'
DATA_NEED_GB = 23        # 203 h of speech as 16 kHz 16-bit wav (the full training set)
OUTPUT_NEED_GB = {'lora': 10, 'full': 100}  # save_total_limit 5 LoRA adapters / full 7B checkpoints
VERSIONED = ('torch', 'ms-swift', 'transformers', 'trl', 'peft', 'deepspeed', 'accelerate', 'datasets',
             'sentence-transformers', 'vllm', 'flash-attn')
SECRETS = ('HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'HUGGINGFACE_HUB_TOKEN', 'MODELSCOPE_API_TOKEN', 'WANDB_API_KEY')
OFFLINE_VARS = ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE', 'HF_DATASETS_OFFLINE')
FALSE = ('0', 'false', 'no', 'off')


@dataclass
class Finding:
    """One line of the report: ``level`` is ok, info, warn or fail; ``fix`` says what to do."""
    level: str
    topic: str
    message: str
    fix: str = ''

    def render(self) -> str:
        text = f'[{self.level.upper():>4}] {self.topic}: {self.message}'
        return text + (f'\n       fix: {self.fix}' if self.fix else '')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--recipe', help='a training script (examples/train_....sh): does it fit these GPUs?')
    parser.add_argument('--offline', action='store_true', help='skip the hub reachability probe')
    parser.add_argument('--data_dir', default='data', help='where the training wavs go (~23 GB for the full set)')
    parser.add_argument('--output_dir', default='output', help='where checkpoints go')
    parser.add_argument('--gpu_memory_gib', type=float, default=80.0,
                        help='GPU size for the plan when no GPU is visible (default: A100-80GB)')
    parser.add_argument('--probe_timeout', type=float, default=3.0, help='seconds for the hub probe')


# ---------------------------------------------------------------------------------------------------------------
# versions


def pins() -> Dict[str, list]:
    """name -> [Requirement] from the installed swift-tars metadata (base requirements and the ``vllm`` extra)."""
    from importlib import metadata

    from packaging.requirements import Requirement
    out: Dict[str, list] = {}
    for line in metadata.requires('swift-tars') or []:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate({'extra': 'vllm'}):
            out.setdefault(_norm(req.name), []).append(req)
    return out


def _norm(name: str) -> str:
    return name.lower().replace('_', '-')


def _installed(name: str) -> Optional[str]:
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def check_versions(pinned: Mapping[str, list], needs_vllm: bool, needs_flash: bool) -> List[Finding]:
    """Each package of VERSIONED against every requirement on it (the ``[vllm]`` pins only once vLLM is there)."""
    vllm_there = _installed('vllm') is not None
    out = []
    for name in VERSIONED:
        version = _installed(name)
        reqs = [r for r in pinned.get(name, []) if vllm_there or r.marker is None]
        spec = ', '.join(str(r.specifier) or 'any' for r in reqs) or 'not pinned'
        optional = name in ('vllm', 'flash-attn') or not any(r.marker is None for r in pinned.get(name, []))
        if version is None:
            needed = (name == 'vllm' and needs_vllm) or (name == 'flash-attn' and needs_flash)
            fix = ("pip install -e '.[vllm]' (or make setup VLLM=1; CUDA only)" if name == 'vllm' else
                   'pip install flash-attn --no-build-isolation (CUDA only), or --attn_impl sdpa' if
                   name == 'flash-attn' else 'make setup (or pip install -r requirements/lock.txt -e .)')
            level = 'fail' if needed or not optional else 'info'
            out.append(Finding(level, name, 'not installed' + (' (optional)' if level == 'info' else ''),
                               fix if level == 'fail' else ''))
            continue
        bad = [r for r in reqs if not r.specifier.contains(version, prereleases=True)]
        if bad:
            out.append(Finding('fail', name, f'{version} does not satisfy {spec}',
                               f'pip install -c requirements/lock.txt "{bad[0]}" (or make setup)'))
        else:
            out.append(Finding('ok', name, f'{version} ({spec})'))
    if vllm_there and 'vllm' not in pinned:
        out.append(Finding('warn', 'vllm', 'the installed swift-tars metadata has no [vllm] pins (stale install)',
                           'make setup (reinstalls swift-tars with its extras)'))
    espeak = shutil.which('espeak-ng')
    out.append(Finding('ok', 'espeak-ng', espeak) if espeak else
               Finding('fail', 'espeak-ng', 'binary not found (speech synthesis for the demo and build-data)',
                       'apt-get install espeak-ng'))
    return out


def check_torch() -> List[Finding]:
    """torch build, CUDA and every visible GPU with its memory."""
    import torch
    gpus = []
    if torch.cuda.is_available():
        for i in range(torch.cuda.device_count()):
            p = torch.cuda.get_device_properties(i)
            gpus.append(f'cuda:{i} {p.name} {p.total_memory / 1024 ** 3:.0f} GiB')
    found = [Finding('ok', 'torch', f'{torch.__version__}, CUDA {torch.version.cuda or "none (CPU build)"}')]
    found.append(Finding('ok', 'GPUs', '; '.join(gpus)) if gpus else Finding('info', 'GPUs', NO_GPU))
    return found


def gpu_memory_gib() -> List[float]:
    import torch
    if not torch.cuda.is_available():
        return []
    return [torch.cuda.get_device_properties(i).total_memory / 1024 ** 3 for i in range(torch.cuda.device_count())]


# ---------------------------------------------------------------------------------------------------------------
# environment


def check_audio_output(env: Mapping[str, str]) -> Finding:
    """Qwen2.5-Omni training wants the talker not built (memory; required with ZeRO-3)."""
    value = env.get('ENABLE_AUDIO_OUTPUT')
    if value is not None and value.strip().lower() in FALSE:
        return Finding('ok', 'ENABLE_AUDIO_OUTPUT', f'{value} (talker not built)')
    what = 'unset: ms-swift keeps the model config\'s default and builds the talker' if value is None else \
        f'{value}: the talker is built (~2 GB more per GPU, and ZeRO-3 training fails)'
    return Finding('warn', 'ENABLE_AUDIO_OUTPUT', what, 'export ENABLE_AUDIO_OUTPUT=0 for training and eval '
                   '(the example recipes set it)')


def check_tars_env(env: Mapping[str, str]) -> List[Finding]:
    """Every ``TARS_*`` variable on its own, so that each bad one is reported."""
    names = sorted(k for k in env if k.startswith('TARS_'))
    out = []
    for name in names:
        if name not in TARS_VARIABLES:
            close = difflib.get_close_matches(name, TARS_VARIABLES, n=1)
            out.append(Finding('fail', name, 'unknown swift-tars variable (the run would stop)',
                               f'unset {name}' + (f' (did you mean {close[0]}?)' if close else '')))
            continue
        try:
            TarsConfig.from_env({name: env[name]})
        except TarsConfigError as e:
            out.append(Finding('fail', name, str(e),
                               f'unset {name} (default {TARS_VARIABLES[name][0]!r}) or set a value listed above'))
    if not out:
        out.append(Finding('ok', 'TARS_*', f'{len(names)} set, all valid' if names else 'none set (defaults)'))
    return out


def check_hub(env: Mapping[str, str], offline: bool, timeout: float) -> List[Finding]:
    """Tokens as set/unset, offline variables, and (unless offline) a short probe of the hub endpoint."""
    out = [Finding('info', 'tokens', ', '.join(f'{k} {"set" if env.get(k) else "unset"}' for k in SECRETS))]
    off = [k for k in OFFLINE_VARS if env.get(k, '').strip().lower() in ('1', 'true', 'yes', 'on')]
    if off or offline:
        out.append(Finding('ok', 'hub', 'offline mode (' + ', '.join(off or ['--offline']) + '): models and '
                           'datasets must be local paths or already cached; no probe'))
        return out
    import urllib.request
    endpoint = env.get('HF_ENDPOINT', 'https://huggingface.co').rstrip('/')
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint + '/api/models/Qwen/Qwen2.5-Omni-7B', method='HEAD'),
                               timeout=timeout)
        out.append(Finding('ok', 'hub', f'{endpoint} reachable'))
    except Exception as e:  # noqa: BLE001 - any failure means "not reachable" here
        out.append(Finding('warn', 'hub', f'{endpoint} not reachable in {timeout:g} s ({type(e).__name__})',
                           'pre-download models and data and set HF_HUB_OFFLINE=1 (local paths work too), '
                           'set HF_ENDPOINT to a mirror, or skip this probe with --offline'))
    return out


def check_disk(path: str, need_gb: float, what: str, strict: bool) -> Finding:
    """Free space where ``path`` is (or would be created)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    free = shutil.disk_usage(probe).free / 1e9
    if free >= need_gb:
        return Finding('ok', f'disk {path}', f'{free:.0f} GB free (≥ {need_gb:g} GB for {what})')
    return Finding('fail' if strict else 'warn', f'disk {path}', f'{free:.0f} GB free, {what} needs ~{need_gb:g} GB',
                   f'free space or point {"--data_dir" if "wav" in what else "--output_dir"} elsewhere')


# ---------------------------------------------------------------------------------------------------------------
# recipe


def check_recipe(script: str, gpus: List[float], default_gib: float) -> List[Finding]:
    """Memory plan of every ``swift rlhf`` call of ``script`` on these GPUs (or ``default_gib`` ones, assumed)."""
    try:
        records = mp.record_recipe(script)
    except Exception as e:  # noqa: BLE001 - a broken script is a finding, not a crash
        return [Finding('fail', 'recipe', f'could not read {script}: {e}',
                        f'SWIFT="swift-tars check-args" bash {script}  # shows what is wrong')]
    gib = min(gpus) if gpus else default_gib
    out = []
    for i, rec in enumerate(records):
        launch = mp.launch_from_record(rec['argv'], rec['env'])
        p = mp.plan(launch, gib)
        title = f'{os.path.basename(script)}#{i}' + ('' if gpus else f' (assumed {gib:g} GiB GPUs)')
        print(mp.render(p, title))
        per_node = int(rec['env'].get('NPROC_PER_NODE') or 1)
        if not gpus:
            out.append(Finding('fail', 'recipe', f'{NO_GPU}; {title} needs {per_node} CUDA GPU(s) per node',
                               'run the recipe on a CUDA machine; here: SWIFT="swift-tars check-args" bash '
                               f'{script} validates it'))
        elif len(gpus) < per_node:
            out.append(Finding('fail', 'recipe', f'{title} starts {per_node} ranks but {len(gpus)} GPU(s) are '
                               'visible', 'NPROC_PER_NODE=<GPUs> and GRAD_ACC to keep the completions per step'))
        if not p.fits:
            out.append(Finding('fail', 'recipe', f'{title} needs ≈ {p.peak:.1f} GiB per GPU of {gib:.0f} GiB',
                               'lower PER_DEVICE_BATCH (even; keep groups whole with GRAD_ACC) or '
                               'VLLM_GPU_MEMORY_UTILIZATION, or use DEEPSPEED=zero3 / OFFLOAD_MODEL=true'))
        audio = rec['env'].get('ENABLE_AUDIO_OUTPUT', '')
        if audio.strip().lower() not in FALSE:
            out.append(Finding('fail', 'recipe', f'{title} runs with ENABLE_AUDIO_OUTPUT={audio or "(unset)"}',
                               'export ENABLE_AUDIO_OUTPUT=0 in the recipe'))
    if not out:
        out.append(Finding('ok', 'recipe', f'{len(records)} launch(es) fit (estimates until a GPU measurement '
                           'exists)'))
    return out


def _needs(script: Optional[str]) -> Dict[str, bool]:
    """Which optional packages the recipe's launches need (vLLM rollout, FlashAttention)."""
    if not script:
        return {'vllm': False, 'flash': False, 'full': False}
    try:
        flags = [mp.flag_values(r['argv']) for r in mp.record_recipe(script)]
    except Exception:  # noqa: BLE001 - reported by check_recipe
        return {'vllm': False, 'flash': False, 'full': False}
    return {'vllm': any((f.get('use_vllm') or ['false'])[0].lower() == 'true' for f in flags),
            'flash': any((f.get('attn_impl') or [''])[0] in ('flash_attn', 'flash_attention_2') for f in flags),
            'full': any((f.get('tuner_type') or f.get('train_type') or [''])[0] == 'full' for f in flags)}


def redact(text: str, env: Mapping[str, str]) -> str:
    """Never print a token, whatever a sub-check echoed."""
    for name in SECRETS:
        value = env.get(name, '')
        if len(value) >= 4:
            text = text.replace(value, '***')
    return text


def main(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
    needs = _needs(args.recipe)
    findings = check_versions(pins(), needs['vllm'], needs['flash'] and bool(gpu_memory_gib()))
    findings += check_torch()
    findings.append(check_audio_output(env))
    findings += check_tars_env(env)
    findings += check_hub(env, args.offline, args.probe_timeout)
    tuner = 'full' if needs['full'] else 'lora'
    findings.append(check_disk(args.data_dir, DATA_NEED_GB, 'the full training set\'s wavs', bool(args.recipe)))
    findings.append(check_disk(args.output_dir, OUTPUT_NEED_GB[tuner], 'checkpoints', False))
    if args.recipe:
        findings += check_recipe(args.recipe, gpu_memory_gib(), args.gpu_memory_gib)
    for f in findings:
        print(redact(f.render(), env))
    failed = [f for f in findings if f.level == 'fail']
    print(f'swift-tars doctor: {len(failed)} problem(s)' + (' — see the fixes above' if failed else ', ready'))
    return 1 if failed else 0
