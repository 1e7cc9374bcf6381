"""``swift-tars push``: a real 1-step `swift rlhf` checkpoint of the tiny Qwen2.5-Omni, uploaded to a local stand-in
of the Hugging Face hub API (127.0.0.1, a thread in this process) — the upload calls are made, nothing leaves the
machine. The stand-in implements what ``huggingface_hub`` calls for ``create_repo`` + ``upload_folder``:
``POST /api/repos/create``, ``POST /api/models/{repo}/preupload/{rev}`` (answered "regular", so file contents
arrive inline, base64, in the commit) and ``POST /api/models/{repo}/commit/{rev}`` (NDJSON), and records them.
"""
import base64
import json
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Dict, List

import pytest
from conftest import run_swift

from swift_tars.testing.runs import offline_env, tiny_rlhf_command

TOKEN = 'hf_TARS_TEST_token_0123456789abcdef'  # must never appear in any output or uploaded file
SECRET_IN_ARGS = 'hf_secret_from_training_args_42'  # as if the run had been started with --hub_token
REPO = 'tars-tester/tiny-tars'


# --------------------------------------------------------------------------------------------------------------
# local stand-in of the hub API


class FakeHub:
    """Records every request; ``commits[i]['files']`` maps path -> bytes of the committed files."""

    def __init__(self):
        self.requests: List[dict] = []
        self.repos: List[dict] = []
        self.commits: List[dict] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _reply(self, status: int, payload) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header('Content-Type', 'application/json')
                self.send_header('Content-Length', str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get('Content-Length') or 0))

            def do_GET(self):
                hub.requests.append({'method': 'GET', 'path': self.path, 'auth': self.headers.get('authorization')})
                self._reply(404, {'error': f'not implemented in the stand-in: GET {self.path}'})

            def do_POST(self):
                body = self._body()
                path = self.path.split('?')[0]
                hub.requests.append({'method': 'POST', 'path': path, 'auth': self.headers.get('authorization')})
                if path == '/api/repos/create':
                    payload = json.loads(body)
                    hub.repos.append(payload)
                    repo_id = f'{payload["organization"]}/{payload["name"]}'
                    return self._reply(200, {'url': f'{hub.url}/{repo_id}', 'name': repo_id})
                if path == '/api/validate-yaml':
                    return self._reply(200, {'errors': [], 'warnings': []})
                if '/preupload/' in path:
                    files = json.loads(body)['files']
                    return self._reply(200, {'files': [{'path': f['path'], 'uploadMode': 'regular',
                                                        'shouldIgnore': False, 'oid': None} for f in files]})
                if '/commit/' in path:
                    lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                    commit = {'path': path, 'header': None, 'files': {}, 'other': []}
                    for item in lines:
                        if item['key'] == 'header':
                            commit['header'] = item['value']
                        elif item['key'] == 'file':
                            value = item['value']
                            assert value['encoding'] == 'base64'
                            commit['files'][value['path']] = base64.b64decode(value['content'])
                        else:
                            commit['other'].append(item)
                    hub.commits.append(commit)
                    repo_id = path.split('/api/models/')[1].split('/commit/')[0]
                    return self._reply(200, {'commitUrl': f'{hub.url}/{repo_id}/commit/{"0" * 40}',
                                             'commitOid': '0' * 40, 'pullRequestUrl': None})
                self._reply(404, {'error': f'not implemented in the stand-in: POST {path}'})

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------------------------------------------
# fixtures: one real checkpoint, an eval summary


def _randomize_lora_b(path: Path) -> None:
    """LoRA B starts at zero and one step may leave it there (lr 0 on the first step, or equal rewards within a
    modality); seeded random B values make the merge visible in every projection."""
    import torch
    from safetensors.torch import load_file, save_file

    weights = load_file(path)
    generator = torch.Generator().manual_seed(0)
    for name, value in weights.items():
        if 'lora_B' in name:
            weights[name] = torch.randn(value.shape, generator=generator, dtype=value.dtype) * 0.1
    save_file(weights, path)


@pytest.fixture(scope='module')
def checkpoint(tmp_path_factory, tiny_omni, demo_dataset) -> Path:
    """A LoRA checkpoint of a 1-step `swift rlhf` run with the plugin (plus the run dir's tars_config.json)."""
    tmp = tmp_path_factory.mktemp('release-run')
    out = tmp / 'out'
    cmd = tiny_rlhf_command(tiny_omni, demo_dataset, out, ['tars_accuracy', 'tars_format'], '--max_steps', '1',
                            '--num_generations', '4', '--per_device_train_batch_size', '4', '--save_strategy',
                            'steps', '--save_steps', '1')
    run_swift(cmd, tmp / 'rlhf.log')
    [ckpt] = list(out.glob('v*/checkpoint-1'))
    assert (ckpt / 'adapter_config.json').is_file() and (ckpt.parent / 'tars_config.json').is_file()
    _randomize_lora_b(ckpt / 'adapter_model.safetensors')
    # as if the run had been launched with `--hub_token`: ms-swift writes it into args.json
    args = json.loads((ckpt / 'args.json').read_text())
    args['hub_token'] = SECRET_IN_ARGS
    (ckpt / 'args.json').write_text(json.dumps(args))
    return ckpt


@pytest.fixture(scope='module')
def eval_summary(tmp_path_factory) -> Path:
    """summary.json as `swift-tars eval` writes it (its own summarize + write_summary)."""
    from swift_tars.evaluation.metrics import Reference, summarize
    from swift_tars.evaluation.report import write_summary

    def records(n_speech, n_text, n=10):
        return [{'question_id': f'q{i}', 'mode': mode, 'correct': i < n_correct, 'extraction_failed': False}
                for mode, n_correct in (('speech', n_speech), ('text', n_text)) for i in range(n)]

    summary = summarize({'mmsu': records(6, 7), 'obqa': records(8, 9)}, Reference(source='paper', value=77.70))
    summary['run'] = {'max_new_tokens': 1000, 'temperature': 0.0, 'infer_backend': 'transformers'}
    json_path, _ = write_summary(summary, tmp_path_factory.mktemp('eval'))
    return json_path


def push(args: List[str], log: Path, **env: str) -> subprocess.CompletedProcess:
    """`swift-tars push` in a subprocess (its own stdout/stderr are checked for the token); HF_HOME is a fresh
    folder next to ``log`` so whatever huggingface_hub writes there is checked too."""
    full_env = offline_env(**env)
    full_env['HF_HOME'] = str(log.parent / 'hf_home')
    for name in ('HF_HUB_OFFLINE', 'TRANSFORMERS_OFFLINE'):  # uploads are online; the endpoint is the stand-in
        full_env.pop(name, None)
    full_env.pop('HF_TOKEN', None)
    full_env.update(env)
    proc = subprocess.run([sys.executable, '-m', 'swift_tars.cli', 'push', *args], env=full_env,
                          capture_output=True, text=True, timeout=600)
    log.write_text(proc.stdout + '\n----- stderr -----\n' + proc.stderr)
    return proc


def assert_no_secret(*texts_or_dirs) -> None:
    for item in texts_or_dirs:
        if isinstance(item, Path) and item.is_dir():
            for f in item.rglob('*'):
                if f.is_file():
                    data = f.read_bytes()
                    assert TOKEN.encode() not in data and SECRET_IN_ARGS.encode() not in data, f
        else:
            data = item if isinstance(item, bytes) else str(item).encode()
            assert TOKEN.encode() not in data and SECRET_IN_ARGS.encode() not in data


def front_matter(card: str) -> Dict:
    import yaml

    assert card.startswith('---\n')
    return yaml.safe_load(card.split('---\n')[1])


# --------------------------------------------------------------------------------------------------------------
# tests


def test_push_adapter_to_local_hub(tmp_path, checkpoint, eval_summary):
    out = tmp_path / 'upload'
    with FakeHub() as hub:
        proc = push(['--checkpoint', str(checkpoint.parent), '--hub_model_id', REPO, '--private', '--eval_summary',
                     str(eval_summary), '--base_model', 'Qwen/Qwen2.5-Omni-7B', '--output_dir', str(out)],
                    tmp_path / 'push.log', HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN)
        assert proc.returncode == 0, proc.stderr[-3000:]

    # the repo was created (private) and one commit carried the card and the adapter with the exact bytes
    assert [(r['organization'], r['name'], r['visibility']) for r in hub.repos] == [('tars-tester', 'tiny-tars',
                                                                                     'private')]
    assert len(hub.commits) == 1
    files = hub.commits[0]['files']
    assert hub.commits[0]['path'] == f'/api/models/{REPO}/commit/main'
    for name in ('adapter_model.safetensors', 'adapter_config.json', 'trainer_state.json', 'additional_config.json'):
        assert files[name] == (checkpoint / name).read_bytes(), name
    for name in ('optimizer.pt', 'scheduler.pt', 'rng_state.pth', 'training_args.bin'):
        assert name not in files
    assert json.loads(files['tars_config.json']) == json.loads((checkpoint.parent / 'tars_config.json').read_text())
    assert json.loads(files['eval_summary.json'])['sets'].keys() == {'mmsu', 'obqa'}
    uploaded_args = json.loads(files['args.json'])
    assert uploaded_args['hub_token'] is None and uploaded_args['num_generations'] == 4
    # every upload call authenticated with the token (so it was used), and the token nowhere else
    assert {r['auth'] for r in hub.requests if r['method'] == 'POST'} == {f'Bearer {TOKEN}'}
    assert_no_secret(proc.stdout, proc.stderr, out, tmp_path, *files.values())

    card = files['README.md'].decode()
    assert card == (out / 'README.md').read_text()
    meta = front_matter(card)
    assert meta['base_model'] == 'Qwen/Qwen2.5-Omni-7B'
    assert meta['library_name'] == 'peft'
    assert meta['tags'] == ['speech', 'grpo', 'tars', 'qwen2.5-omni']
    assert 'datasets' not in meta  # the demo data was built from a local file (its build-data manifest says so)
    assert 'built by `swift-tars build-data mmlu`, 16 rows' in card
    for needle in ('`tars_accuracy`', '`tars_format`', '4 rollouts per question = 2 speech + 2 text',
                   'TARS_LAYERS', 'TARS_REFERENCE', '| LoRA rank | `lora_rank` | 4 |', '| loss | `loss_type` | dapo |',
                   'optimiser steps | 1', 'MRR', '÷ 77.70', '| mmsu | 10 | 60.00 | 70.00 |',
                   'fixed denominator per model family'):
        assert needle in card, needle


def test_push_merged_lora_dry_run_then_upload(tmp_path, checkpoint, tiny_omni):
    """--merge_lora goes through ms-swift's `swift export --merge_lora true`: the merged weights differ from the
    base exactly where LoRA was applied; --dry_run uploads nothing; a second push reuses the merged folder."""
    from safetensors.torch import load_file

    out = tmp_path / 'merged'
    with FakeHub() as hub:
        dry = push(['--checkpoint', str(checkpoint), '--hub_model_id', REPO, '--merge_lora', '--dry_run',
                    '--output_dir', str(out)], tmp_path / 'dry.log', HF_ENDPOINT=hub.url, HF_TOKEN=TOKEN)
        assert dry.returncode == 0, dry.stderr[-3000:]
        assert hub.requests == []  # dry run: no network at all
        assert 'dry run: nothing uploaded' in dry.stdout and 'model.safetensors' in dry.stdout
        proc = push(['--checkpoint', str(checkpoint), '--hub_model_id', REPO, '--merge_lora', '--output_dir',
                     str(out), '--token', TOKEN], tmp_path / 'push.log', HF_ENDPOINT=hub.url)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert 'reusing it' in proc.stdout
    files = hub.commits[0]['files']
    assert files['model.safetensors'] == (out / 'model.safetensors').read_bytes()
    assert 'adapter_model.safetensors' not in files and 'config.json' in files
    meta = front_matter(files['README.md'].decode())
    assert meta['library_name'] == 'transformers' and 'base_model' not in meta  # the run used a local model path

    # LoRA (all-linear on the thinker LLM) merged into every projection of every decoder layer, nothing else
    merged, base = load_file(out / 'model.safetensors'), load_file(Path(tiny_omni) / 'model.safetensors')
    assert merged.keys() == base.keys()
    changed = [k for k in base if not (merged[k] == base[k]).all()]
    n_layers = json.loads((Path(tiny_omni) / 'config.json').read_text())['thinker_config']['text_config'][
        'num_hidden_layers']
    assert all(k.startswith('thinker.model.layers.') for k in changed), changed
    assert {k.split('.')[-2] for k in changed} == {'q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj',
                                                   'down_proj'}
    assert len(changed) == 7 * n_layers
    assert_no_secret(dry.stdout, dry.stderr, proc.stdout, proc.stderr, tmp_path, *files.values())


def test_push_errors_never_show_the_token(tmp_path, checkpoint):
    # the stand-in is not running: the connection fails; the message must not contain the token
    proc = push(['--checkpoint', str(checkpoint), '--hub_model_id', REPO, '--output_dir', str(tmp_path / 'u')],
                tmp_path / 'push.log', HF_ENDPOINT='http://127.0.0.1:9', HF_TOKEN=TOKEN)
    assert proc.returncode == 1 and 'swift-tars push: error' in proc.stderr
    assert_no_secret(proc.stdout, proc.stderr)
    bad = push(['--checkpoint', str(tmp_path), '--hub_model_id', REPO], tmp_path / 'bad.log', HF_TOKEN=TOKEN)
    assert bad.returncode == 1 and 'neither a LoRA adapter' in bad.stderr


def test_model_card_unit():
    """Card from plain dicts: hub-id base model, registered dataset, layer ranges, secrets dropped from args."""
    from swift_tars.release.model_card import build_card, sanitize_args

    args = {'model': 'Qwen/Qwen2.5-Omni-7B', 'dataset': ['tars-mmlu-speech'], 'num_generations': 8,
            'per_device_train_batch_size': 4, 'gradient_accumulation_steps': 2, 'global_world_size': 8,
            'tuner_type': 'lora', 'lora_rank': 8, 'lora_alpha': 32, 'deepspeed': {'zero_optimization': {'stage': 3}},
            'hub_token': 'x', 'max_new_tokens': 64}
    tars = {'tars': {'layers': 'middle', 'reference': 'round_robin'}, 'layers_1_based': list(range(10, 19)),
            'reward_funcs': ['TarsAccuracy', 'TarsFormat', 'TarsBehavior'], 'reward_weights': [1.0, 0.5, 1.0],
            'num_generations': 8, 'scale_rewards': 'none', 'advantages': 'per-modality'}
    card = build_card(hub_model_id='me/tars', kind='adapter', args=args, tars_config=tars)
    meta = front_matter(card)
    assert meta['base_model'] == 'Qwen/Qwen2.5-Omni-7B' and meta['library_name'] == 'peft'
    assert meta['datasets'] == ['yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1']
    assert 'decoder layers 10–18 (1-based, 9 layers)' in card
    assert '| `tars_format` | 0.5 |' in card and '| DeepSpeed | `deepspeed` | ZeRO-3 |' in card
    assert '4 × 2 × 8 = 64 = 8 questions × 8 rollouts' in card
    assert 'No evaluation summary was attached' in card
    clean = sanitize_args(args, secrets=['Qwen2.5'])
    assert clean['hub_token'] is None and clean['max_new_tokens'] == 64 and clean['model'] == 'Qwen/<redacted>-Omni-7B'
