"""The training data as the model card names it: registered swift-tars dataset names and hub ids go to the front
matter's ``datasets``, local ``swift-tars build-data`` outputs are described from their ``<name>.manifest.json``.

Pure functions of names and the files next to them (no network).
"""
import json
import os
import re
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

# registered dataset names (swift_tars.data.datasets) -> hub ids
_REGISTERED = {
    'tars-mmlu-speech': 'yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1',
    'tars-voicebench-mmsu': 'hlt-lab/voicebench',
    'tars-voicebench-obqa': 'hlt-lab/voicebench',
}
_BUILDER_DEFAULT_SOURCE = {'mmlu': 'cais/mmlu', 'upstream': _REGISTERED['tars-mmlu-speech'],
                           'voicebench': 'hlt-lab/voicebench'}


def is_hub_id(name: Optional[str]) -> bool:
    """``org/name`` that is not a local path (``hf::`` prefix, ``:subset`` and ``#N`` allowed).

    >>> is_hub_id('Qwen/Qwen2.5-Omni-7B'), is_hub_id('hf::hlt-lab/voicebench:mmsu#100'), is_hub_id('data/train.jsonl')
    (True, True, False)
    """
    if not name:
        return False
    name = name.split('hf::', 1)[-1].split('#')[0].split(':')[0]
    return (re.fullmatch(r'[\w.-]+/[\w.-]+', name) is not None and not os.path.exists(name)
            and not name.endswith(('.jsonl', '.json', '.csv')))


def _hub_id(name: str) -> str:
    return name.split('hf::', 1)[-1].split('#')[0].split(':')[0]


def dataset_manifest(path: str) -> Optional[dict]:
    """``<stem>.manifest.json`` next to a local dataset file written by ``swift-tars build-data``."""
    p = Path(path.split('#')[0])
    manifest = p.with_name(p.stem + '.manifest.json')
    if manifest.is_file():
        try:
            return json.loads(manifest.read_text())
        except json.JSONDecodeError:
            return None
    return None


def describe_datasets(names: Sequence[str]) -> Tuple[List[str], List[str]]:
    """(hub ids for the front matter, one markdown line per dataset)."""
    hub, lines = [], []
    for name in names:
        if name in _REGISTERED:
            hub.append(_REGISTERED[name])
            lines.append(f'`{name}` (swift-tars registered dataset: `{_REGISTERED[name]}`)')
        elif is_hub_id(name):
            hub.append(_hub_id(name))
            lines.append(f'`{name}` (hub)')
        else:
            manifest = dataset_manifest(name)
            if manifest:
                builder = manifest.get('builder')
                source = (manifest.get('settings') or {}).get('source') or _BUILDER_DEFAULT_SOURCE.get(builder)
                if is_hub_id(source):
                    hub.append(_hub_id(source))
                counts, audio = manifest.get('counts') or {}, manifest.get('audio') or {}
                details = [f'built by `swift-tars build-data {builder}`' if builder else None,
                           f'from `{source}`' if source and is_hub_id(source) else None,
                           f'{counts["rows"]:,} rows' if 'rows' in counts else None,
                           f'{audio["total_hours"]:.1f} h of 16 kHz speech' if 'total_hours' in audio else None]
                lines.append(f'`{os.path.basename(name)}` (' + ', '.join(d for d in details if d) + ')')
            else:
                lines.append(f'`{os.path.basename(name)}` (local file)')
    return list(dict.fromkeys(hub)), lines
