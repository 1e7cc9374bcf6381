"""``swift-tars push``: upload a swift-tars checkpoint to the Hugging Face hub with a TARS model card.

``--checkpoint`` is a checkpoint of ``swift rlhf`` (``.../v0-.../checkpoint-2400``: a LoRA adapter or a full
model) or a run directory (its ``last-checkpoint`` or highest ``checkpoint-N`` is used). The upload folder
(``--output_dir``, default ``<checkpoint>-hub``, or ``<checkpoint>-merged`` with ``--merge_lora``) holds:

- the adapter files (linked, not copied), or with ``--merge_lora`` the merged model written by ms-swift's own
  export (``swift export --adapters <ckpt> --merge_lora true``; reused when the folder already holds it);
- ``README.md``: the model card (:mod:`swift_tars.release.model_card`) from ``args.json``, ``tars_config.json``
  (checkpoint or its run directory), ``trainer_state.json`` and the ``--eval_summary`` of ``swift-tars eval``;
- ``args.json`` without credentials, ``tars_config.json``, ``eval_summary.json`` when given.

Training state (optimizer, scheduler, RNG, DeepSpeed shards, ``training_args.bin``) is never uploaded.

The token comes from ``--token``, ``HF_TOKEN`` / ``HUGGING_FACE_HUB_TOKEN`` or the token saved by
``hf auth login``; it is passed to ``huggingface_hub.HfApi`` only and never printed or written to a file. The
hub endpoint is ``HF_ENDPOINT`` (default https://huggingface.co). ``--dry_run`` writes the folder and the card
and lists what would be uploaded, without any network access.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import swift_tars
from swift_tars import __version__
from swift_tars.evaluation.report import markdown
from swift_tars.release.model_card import build_card, sanitize_args

MARKER = '.swift-tars-push'
# training state and files that are regenerated; never uploaded from the checkpoint
EXCLUDE = re.compile(r'^(optimizer.*|scheduler\.pt|rng_state.*\.pth|training_args\.bin|latest|zero_to_fp32\.py|'
                     r'global_step\d+|README\.md|args\.json|\..*)$')
WEIGHTS = re.compile(r'.*\.(safetensors|bin|pt|pth|gguf)$')


class ReleaseError(RuntimeError):
    """A problem the user can fix; the message says how."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--checkpoint', required=True,
                        help='checkpoint dir of `swift rlhf` (LoRA adapter or full model), or its run dir')
    parser.add_argument('--hub_model_id', required=True, help='user/name on the Hugging Face hub')
    parser.add_argument('--merge_lora', action='store_true',
                        help='merge the LoRA into the base model through `swift export --merge_lora true` and '
                        'upload the merged model (default: upload the adapter)')
    parser.add_argument('--private', action='store_true', help='create the repository as private')
    parser.add_argument('--eval_summary', default=None, help='summary.json written by `swift-tars eval`: its table '
                        'goes into the card and the file is uploaded as eval_summary.json')
    parser.add_argument('--token', default=None, help='hub token (prefer the HF_TOKEN environment variable: '
                        'command-line arguments are visible to other users of the machine)')
    parser.add_argument('--dry_run', action='store_true',
                        help='write the upload folder and the card, list the files; no network access')
    parser.add_argument('--output_dir', default=None,
                        help='upload folder (default: <checkpoint>-hub, or <checkpoint>-merged with --merge_lora)')
    parser.add_argument('--base_model', default=None,
                        help='hub id for the card\'s base_model (default: --model of the run when it is a hub id)')
    parser.add_argument('--datasets', nargs='*', default=None,
                        help='hub dataset ids for the card (default: derived from the run\'s --dataset)')
    parser.add_argument('--license', default=None, help='license for the card front matter, e.g. apache-2.0')
    parser.add_argument('--commit_message', default='Upload TARS checkpoint with swift-tars')
    parser.add_argument('--enable_audio_output', choices=['auto', 'true', 'false'], default='auto',
                        help='--merge_lora only: ENABLE_AUDIO_OUTPUT for the merge (auto: the base model\'s '
                        'config decides, i.e. the talker is kept for Qwen2.5-Omni; false drops it)')


# ---------------------------------------------------------------------------------------------------------------
# the checkpoint and what the run wrote


def resolve_checkpoint(path: str) -> Path:
    """The checkpoint dir itself, or for a run dir its ``last-checkpoint`` / highest ``checkpoint-N``."""
    p = Path(path).expanduser()
    if not p.is_dir():
        raise ReleaseError(f'--checkpoint {path}: no such directory')
    if checkpoint_kind(p):
        return p
    if (p / 'last-checkpoint').is_dir() and checkpoint_kind(p / 'last-checkpoint'):
        return (p / 'last-checkpoint').resolve()
    numbered = sorted((c for c in p.glob('checkpoint-*') if c.name.split('-')[-1].isdigit() and checkpoint_kind(c)),
                      key=lambda c: int(c.name.split('-')[-1]))
    if numbered:
        return numbered[-1]
    raise ReleaseError(f'--checkpoint {path} holds neither a LoRA adapter (adapter_config.json) nor a model '
                       '(config.json + weights), nor checkpoint-N folders')


def checkpoint_kind(p: Path) -> Optional[str]:
    """``adapter``, ``full`` or None."""
    if (p / 'adapter_config.json').is_file():
        return 'adapter'
    if (p / 'config.json').is_file() and any(WEIGHTS.match(f.name) for f in p.iterdir() if f.is_file()):
        return 'full'
    return None


def _read_json(*candidates: Path) -> Tuple[Optional[dict], Optional[Path]]:
    for c in candidates:
        if c.is_file():
            try:
                return json.loads(c.read_text(encoding='utf-8')), c
            except json.JSONDecodeError as e:
                raise ReleaseError(f'{c} is not valid JSON: {e}') from None
    return None, None


def run_metadata(ckpt: Path) -> Dict[str, Optional[dict]]:
    """``args``, ``tars_config``, ``trainer_state`` from the checkpoint dir or its parent (the run dir)."""
    args, _ = _read_json(ckpt / 'args.json', ckpt.parent / 'args.json')
    tars, _ = _read_json(ckpt / 'tars_config.json', ckpt.parent / 'tars_config.json')
    state, _ = _read_json(ckpt / 'trainer_state.json')
    return {'args': args, 'tars_config': tars, 'trainer_state': state}


def eval_table(summary_path: Optional[str]) -> Tuple[Optional[dict], Optional[str]]:
    """(summary dict, markdown table) of a ``swift-tars eval`` summary.json."""
    if not summary_path:
        return None, None
    path = Path(summary_path)
    summary, _ = _read_json(path)
    if summary is None:
        raise ReleaseError(f'--eval_summary {summary_path}: no such file')
    if 'sets' not in summary:
        raise ReleaseError(f'--eval_summary {summary_path} is not a summary.json of `swift-tars eval` (no "sets")')
    try:
        return summary, markdown(summary)
    except Exception:  # the evaluation package changed or is missing: fall back to its own markdown file
        md = path.with_suffix('.md')
        return summary, md.read_text(encoding='utf-8') if md.is_file() else None


# ---------------------------------------------------------------------------------------------------------------
# the upload folder


def _prepare_folder(out: Path, keep: bool) -> None:
    """Creates ``out``; an existing folder must be one of ours (marker file) or empty."""
    if out.exists():
        if not (out / MARKER).exists() and any(out.iterdir()) and not keep:
            raise ReleaseError(f'{out} exists and was not written by `swift-tars push`; choose another --output_dir')
        if not keep:
            shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / MARKER).write_text('written by swift-tars push\n')


def link_files(ckpt: Path, out: Path) -> None:
    """Symlinks the checkpoint's model or adapter files (not its training state) into ``out``."""
    for f in sorted(ckpt.iterdir()):
        if EXCLUDE.match(f.name) or not f.is_file():
            continue
        (out / f.name).symlink_to(f.resolve())


def merge_lora(ckpt: Path, out: Path, audio_output: str = 'auto') -> None:
    """``swift export --adapters <ckpt> --merge_lora true --output_dir <out>`` (ms-swift's merge and save)."""
    swift = Path(sys.executable).parent / 'swift'
    cmd = [str(swift) if swift.exists() else 'swift', 'export', '--adapters', str(ckpt), '--merge_lora', 'true',
           '--output_dir', str(out), '--exist_ok', 'true']
    env = dict(os.environ)
    env.pop('ENABLE_AUDIO_OUTPUT', None)
    if audio_output != 'auto':
        env['ENABLE_AUDIO_OUTPUT'] = '1' if audio_output == 'true' else '0'
    print(f'[push] merging the LoRA: {" ".join(cmd)}', flush=True)
    proc = subprocess.run(cmd, env=env)
    if proc.returncode != 0 or checkpoint_kind(out) != 'full':
        raise ReleaseError(f'`swift export --merge_lora true` failed (exit {proc.returncode}); see its log above')


def write_release_files(out: Path, meta: Dict[str, Optional[dict]], summary: Optional[dict], card: str,
                        secrets: List[str]) -> None:

    if meta['args'] is not None:
        (out / 'args.json').unlink(missing_ok=True)
        (out / 'args.json').write_text(json.dumps(sanitize_args(meta['args'], secrets), indent=2,
                                                  ensure_ascii=False) + '\n')
    if meta['tars_config'] is not None:
        (out / 'tars_config.json').unlink(missing_ok=True)
        (out / 'tars_config.json').write_text(json.dumps(meta['tars_config'], indent=2) + '\n')
    if summary is not None:
        (out / 'eval_summary.json').write_text(json.dumps(summary, indent=2, ensure_ascii=False) + '\n')
    (out / 'README.md').unlink(missing_ok=True)
    (out / 'README.md').write_text(card, encoding='utf-8')


def upload_files(out: Path) -> List[Tuple[str, int]]:
    """(path in repo, size) of every file that would be uploaded."""
    files = []
    for f in sorted(out.rglob('*')):
        rel = f.relative_to(out).as_posix()
        if f.is_file() and not rel.startswith('.') and '/.' not in rel:
            files.append((rel, f.stat().st_size))
    return files


# ---------------------------------------------------------------------------------------------------------------
# token and upload


def resolve_token(cli_token: Optional[str]) -> Optional[str]:
    """``--token``, else ``HF_TOKEN`` / ``HUGGING_FACE_HUB_TOKEN``; None lets huggingface_hub use its saved token."""
    return cli_token or os.environ.get('HF_TOKEN') or os.environ.get('HUGGING_FACE_HUB_TOKEN') or None


def upload(out: Path, repo_id: str, token: Optional[str], private: bool, commit_message: str) -> str:
    """``create_repo(exist_ok=True)`` + ``upload_folder``; returns the repository URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    url = api.create_repo(repo_id, private=private or None, exist_ok=True, repo_type='model')
    api.upload_folder(repo_id=repo_id, folder_path=str(out), repo_type='model', commit_message=commit_message,
                      ignore_patterns=[MARKER, '.*'])
    return str(url)


def _redact(text: str, secrets: List[str]) -> str:
    for s in secrets:
        if s:
            text = text.replace(s, '<redacted>')
    return text


def main(args: argparse.Namespace) -> int:
    token = resolve_token(args.token)
    secrets = [token] if token else []
    try:
        return _main(args, token, secrets)
    except (ReleaseError, OSError) as e:
        print(f'swift-tars push: error: {_redact(str(e), secrets)}', file=sys.stderr)
        return 1
    except Exception as e:  # hub errors: never let a token reach the terminal
        print(f'swift-tars push: error: {type(e).__name__}: {_redact(str(e), secrets)}', file=sys.stderr)
        return 1


def _main(args: argparse.Namespace, token: Optional[str], secrets: List[str]) -> int:

    if not re.fullmatch(r'[\w.-]+/[\w.-]+', args.hub_model_id):
        raise ReleaseError(f'--hub_model_id {args.hub_model_id!r} must look like user/name')
    if not args.dry_run:
        from huggingface_hub import constants

        if constants.HF_HUB_OFFLINE:
            raise ReleaseError('offline mode is on (HF_HUB_OFFLINE or TRANSFORMERS_OFFLINE is set): unset it to '
                               'upload, or use --dry_run')
    ckpt = resolve_checkpoint(args.checkpoint)
    kind = checkpoint_kind(ckpt)
    if args.merge_lora and kind != 'adapter':
        raise ReleaseError(f'--merge_lora: {ckpt} is already a full model (no adapter_config.json)')
    meta = run_metadata(ckpt)
    summary, table = eval_table(args.eval_summary)
    out = Path(args.output_dir or f'{ckpt}-{"merged" if args.merge_lora else "hub"}').expanduser()
    print(f'[push] checkpoint {ckpt} ({kind}{", merging the LoRA" if args.merge_lora else ""}) -> {out}', flush=True)

    if args.merge_lora:
        if not checkpoint_kind(out):
            if out.exists() and any(out.iterdir()):
                raise ReleaseError(f'{out} exists but holds no merged model; remove it or choose another --output_dir')
            merge_lora(ckpt, out, args.enable_audio_output)
        else:
            print(f'[push] {out} already holds the merged model; reusing it (delete it to merge again)', flush=True)
        _prepare_folder(out, keep=True)
        card_kind = 'merged'
    else:
        _prepare_folder(out, keep=False)
        link_files(ckpt, out)
        card_kind = kind

    swift_version = (meta['args'] or {}).get('swift_version') or getattr(swift_tars, 'SWIFT_VERSION', None)
    card = build_card(hub_model_id=args.hub_model_id, kind=card_kind, args=meta['args'],
                      tars_config=meta['tars_config'], trainer_state=meta['trainer_state'], eval_summary=summary,
                      eval_markdown=table, base_model=args.base_model, datasets=args.datasets, license=args.license,
                      swift_tars_version=__version__, swift_version=swift_version)
    write_release_files(out, meta, summary, card, secrets)
    files = upload_files(out)
    total = sum(size for _, size in files)
    print(f'[push] model card: {out / "README.md"}', flush=True)
    print(f'[push] {len(files)} file(s), {total / 1e6:.1f} MB:', flush=True)
    for rel, size in files:
        print(f'  {rel}  ({size:,} bytes)', flush=True)
    if args.dry_run:
        print(f'[push] dry run: nothing uploaded (would upload to {args.hub_model_id}, '
              f'{"private" if args.private else "public"})', flush=True)
        return 0
    url = upload(out, args.hub_model_id, token, args.private, args.commit_message)
    print(f'[push] uploaded to {_redact(url, secrets)}', flush=True)
    return 0
