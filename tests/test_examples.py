"""The launch scripts in ``examples/`` cannot rot: each training script is run for real with ``SWIFT`` replaced by
``swift-tars check-args``, which validates every ``swift rlhf`` / ``swift rollout`` call through ms-swift 4.6.0's own
argument classes plus swift-tars' batch, reward and ``TARS_*`` checks (no GPU, no model, no download).

To keep this fast, the scripts run with ``SWIFT="swift-tars check-args --record FILE"`` (each call is appended to
FILE in milliseconds) and one ``swift-tars check-args --replay`` process checks all of them; one script also runs
through the direct path (``SWIFT="swift-tars check-args"``), as a user would. The eval/probe/push/data scripts are
checked against swift-tars' own argument parsers.
"""
import argparse
import importlib
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / 'examples'
BIN = Path(sys.executable).parent
CHECK = f'{BIN / "swift-tars"} check-args'
MAIN = EXAMPLES / 'train_qwen2_5_omni_8xa100_zero3.sh'
TRAIN_SCRIPTS = sorted(EXAMPLES.glob('train_*.sh'))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


# extra environment per script for the dry run
SCRIPT_ENV: Dict[str, Dict[str, str]] = {
    'train_qwen2_5_omni_2nodes': {'NODE_RANK': '0', 'MASTER_ADDR': '127.0.0.1'},
    'train_qwen2_5_omni_ablations': {'ABLATIONS': 'base rep beh full', 'LAYER_SETS': 'all middle 11-20'},
    'train_qwen2_5_omni_vllm_server': {'MODE': 'both', 'SERVER_WAIT_S': '60'},
}


def script_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith('TARS_') and k not in (
        'NPROC_PER_NODE', 'NNODES', 'NODE_RANK', 'MASTER_ADDR', 'CUDA_VISIBLE_DEVICES')}
    env['PATH'] = f'{BIN}{os.pathsep}{env.get("PATH", "")}'  # swift-tars plugin-path inside the scripts
    env.update(extra)
    return env


def run_script(script: Path, cwd: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(['bash', str(script)], cwd=cwd, env=script_env(**env), capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope='module')
def checks(tmp_path_factory) -> Dict[str, List[dict]]:
    """Runs every training script (and three broken variants) in record mode, then checks all calls in ONE
    ``--replay`` process. Returns label -> list of results (one per `swift` call, in order)."""
    tmp = tmp_path_factory.mktemp('examples')
    jobs = {s.stem: (s, dict(SCRIPT_ENV.get(s.stem, {}))) for s in TRAIN_SCRIPTS}
    # the server script polls its server's port: use a free one so nothing else can answer
    jobs['train_qwen2_5_omni_vllm_server'][1]['VLLM_SERVER_PORT'] = str(_free_port())
    jobs['default_ablation'] = (EXAMPLES / 'train_qwen2_5_omni_ablations.sh', {})
    # negative variants: a misspelled flag in a copy of the main script, an odd group size, a misspelled TARS_ name
    typo = tmp / 'typo_flag.sh'
    typo.write_text(MAIN.read_text().replace('--num_generations "$NUM_GENERATIONS"', '--num_generatons 8'))
    (tmp / 'common.sh').write_text((EXAMPLES / 'common.sh').read_text())  # sourced by the copied script
    assert typo.read_text() != MAIN.read_text()
    jobs['typo_flag'] = (typo, {})
    jobs['odd_generations'] = (MAIN, {'NUM_GENERATIONS': '7'})
    jobs['typo_tars_variable'] = (MAIN, {'TARS_LAYER': 'middle'})

    records = []
    for label, (script, env) in jobs.items():
        record = tmp / f'{label}.jsonl'
        proc = run_script(script, tmp, SWIFT=f'{CHECK} --record {record}', **env)
        assert proc.returncode == 0, f'{label}: {proc.stderr[-2000:]}'
        assert record.is_file(), f'{label} never called $SWIFT'
        records.append(str(record))
    proc = subprocess.run([str(BIN / 'swift-tars'), 'check-args', '--json', '--replay', *records], cwd=tmp,
                          capture_output=True, text=True, timeout=600, env=script_env())
    results: Dict[str, List[dict]] = {}
    for line in proc.stdout.splitlines():
        if line.startswith('{'):
            r = json.loads(line)
            results.setdefault(r['label'].rsplit('#', 1)[0], []).append(r)
    assert set(results) == set(jobs), proc.stderr[-3000:]
    assert proc.returncode == 1  # the negative variants fail
    return results


@pytest.mark.parametrize('script', [s.stem for s in TRAIN_SCRIPTS])
def test_training_script_passes_swift_argument_parsing(checks, script):
    for r in checks[script]:
        assert r['ok'], f'{script}: ' + '\n'.join(r['problems'])
        assert r['summary']


def test_call_counts_and_batch_arithmetic(checks):
    main = checks['train_qwen2_5_omni_8xa100_zero3']
    assert [r['command'] for r in main] == ['rlhf']
    assert ('8 process(es) = NPROC_PER_NODE 8 × NNODES 1; per_device 4 × GA 2 × 8 = 64 completions/step = 8 '
            'questions × 8 rollouts (4 speech + 4 text); B = 4 × steps_per_generation 2 = 8 per rank') in main[0][
                'summary']
    assert 'tars_accuracy×1 tars_format×1 tars_representation×1 tars_behavior×1' in main[0]['summary']
    assert 'deepspeed zero3; rollout vLLM colocate' in main[0]['summary']
    [zero2] = checks['train_qwen2_5_omni_8xa100_zero2']  # the same recipe, only the DeepSpeed stage differs
    assert zero2['summary'] == main[0]['summary'].replace('deepspeed zero3;', 'deepspeed zero2;')
    server = checks['train_qwen2_5_omni_vllm_server']
    assert [r['command'] for r in server] == ['rollout', 'rlhf']  # the `swift rollout` part is checked too
    assert '56 completions/step = 7 questions' in server[1]['summary'] and 'vLLM server' in server[1]['summary']
    assert '16 process(es) = NPROC_PER_NODE 8 × NNODES 2' in checks['train_qwen2_5_omni_2nodes'][0]['summary']
    assert 'full;' in checks['train_qwen2_5_omni_full_ft'][0]['summary']
    debug = checks['train_qwen2_5_omni_1gpu_debug'][0]['summary']
    assert '1 process(es)' in debug and 'deepspeed none; rollout HF generate' in debug
    assert 'rewards tars_agreement×1;' in checks['train_qwen2_5_omni_cord_8xa100'][0]['summary']
    # ablations: base, rep × 3 layer sets, beh, full × 3 layer sets
    ablations = [r['summary'] for r in checks['train_qwen2_5_omni_ablations']]
    assert len(ablations) == 8
    assert 'rewards tars_accuracy×1 tars_format×1;' in ablations[0]
    assert [s.split('TARS_LAYERS=')[1].split()[0] for s in ablations[1:4]] == ['all', 'middle', '11-20']
    # the default of the ablation script is the behaviour-only configuration (R_rep hurt on Qwen in the paper)
    [default] = checks['default_ablation']
    assert 'rewards tars_accuracy×1 tars_format×1 tars_behavior×1;' in default['summary']


def test_misspelled_flag_fails_naming_the_flag(checks):
    [r] = checks['typo_flag']
    assert not r['ok']
    assert any('--num_generatons (did you mean --num_generations?)' in p and 'remaining_argv' in p
               for p in r['problems']), r['problems']


def test_odd_num_generations_fails_naming_the_flag(checks):
    [r] = checks['odd_generations']
    assert not r['ok']
    assert any(p.startswith('--num_generations 7 must be even') for p in r['problems']), r['problems']
    assert any('not a multiple of --num_generations 7' in p for p in r['problems'])


def test_unknown_tars_variable_fails(checks):
    [r] = checks['typo_tars_variable']
    assert not r['ok'] and any('TARS_LAYER' in p and 'unknown' in p for p in r['problems']), r['problems']


def test_direct_dry_run_like_a_user(tmp_path):
    """`SWIFT="swift-tars check-args" bash examples/...sh`: one OK line on stdout, exit 0; a typo exits 1."""
    proc = run_script(MAIN, tmp_path, SWIFT=CHECK, NUM_GENERATIONS='6', GRAD_ACC='3')
    assert proc.returncode == 0, proc.stderr[-3000:]
    [ok_line] = [line for line in proc.stdout.splitlines() if 'check-args: OK' in line]
    assert 'per_device 4 × GA 3 × 8 = 96 completions/step = 16 questions × 6 rollouts (3 speech + 3 text)' in ok_line


def test_all_scripts_are_bash_with_strict_mode():
    for script in EXAMPLES.glob('*.sh'):
        if script.name == 'common.sh':  # a sourced library of shared flags, not a script
            subprocess.run(['bash', '-n', str(script)], check=True)
            continue
        text = script.read_text()
        assert text.startswith('#!/usr/bin/env bash\n'), script
        assert 'set -euo pipefail' in text, script
        assert os.access(script, os.X_OK), f'{script} is not executable'
        subprocess.run(['bash', '-n', str(script)], check=True)
    for script in TRAIN_SCRIPTS:
        text = script.read_text()
        # the recipe (or the server script) defines SWIFT; overlays run the recipe or another overlay of it
        assert 'SWIFT=${SWIFT:-swift}' in text or re.search(r'exec bash .*train_qwen2_5_omni_\w+\.sh', text) \
            or 'RECIPE=' in text, script


def _swift_tars_parser() -> argparse.ArgumentParser:
    """The `swift-tars` parser exactly as swift_tars.cli builds it."""
    from swift_tars.cli import COMMANDS

    parser = argparse.ArgumentParser(prog='swift-tars')
    sub = parser.add_subparsers(dest='command', required=True)
    for name, (module_name, _) in COMMANDS.items():
        importlib.import_module(module_name).add_arguments(sub.add_parser(name))
    return parser


@pytest.mark.parametrize('script,env,expected', [
    ('eval_voicebench.sh', {'ADAPTERS': 'output/run/checkpoint-100'}, ['eval']),
    ('probe.sh', {'ADAPTERS': 'output/run/checkpoint-100'}, ['probe']),
    ('push_to_hub.sh', {'CHECKPOINT': 'output/run', 'HUB_MODEL_ID': 'me/tars', 'EVAL_SUMMARY': 's.json',
                        'MERGE_LORA': '1'}, ['push']),
    ('build_data.sh', {'PYTHON': 'true', 'DECONTAMINATE': '1'}, ['build-data'] * 3),
])
def test_other_scripts_use_valid_swift_tars_flags(tmp_path, script, env, expected):
    calls = tmp_path / 'calls.jsonl'
    recorder = tmp_path / 'swift-tars-recorder'
    recorder.write_text(f'#!{sys.executable}\nimport json, sys\n'
                        f'open({str(calls)!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")\n')
    recorder.chmod(0o755)
    proc = run_script(EXAMPLES / script, tmp_path, SWIFT_TARS=str(recorder), **env)
    assert proc.returncode == 0, proc.stderr
    argvs = [json.loads(line) for line in calls.read_text().splitlines()]
    assert [a[0] for a in argvs] == expected
    parser = _swift_tars_parser()
    for argv in argvs:
        parser.parse_args(argv)  # SystemExit (test error) on an unknown flag or a bad choice
    if script == 'push_to_hub.sh':
        assert '--merge_lora' in argvs[0] and '--private' in argvs[0]


# ---------------------------------------------------------------------------------------------------------------
# one recipe, overlays: no `swift rlhf` flag value is written in two training scripts

# `--flag value` where value is a literal: a bare word, a '…' string or a "…" string without expansions
FLAG_LITERAL = re.compile(r"""(--[A-Za-z][\w-]*)[ \t]+('[^']*'|"[^"$]*"|[^\s"'$\\()]+)""")


def flag_literals(text: str) -> Set[Tuple[str, str]]:
    """The (flag, literal value) pairs written in a bash script, comments left out."""
    pairs = set()
    for line in text.splitlines():
        code = re.sub(r'(^|\s)#.*$', '', line)
        for flag, value in FLAG_LITERAL.findall(code):
            if not value.startswith('--'):
                pairs.add((flag, value.strip('\'"')))
    return pairs


def test_flag_literal_parser():
    text = """x=1  # --save_steps 100 in a comment
$SWIFT rlhf \\
  --lora_alpha 32 --lora_rank "$LORA_RANK" --report_to $REPORT_TO \\
  --vllm_limit_mm_per_prompt '{"audio": 1}' --top_k -1 --use_vllm "true" --flag --other
"""
    assert flag_literals(text) == {('--lora_alpha', '32'), ('--vllm_limit_mm_per_prompt', '{"audio": 1}'),
                                   ('--top_k', '-1'), ('--use_vllm', 'true')}


def test_no_flag_value_is_written_in_two_training_scripts():
    """Overlays set the recipe's variables; they never restate a `--flag value` of another script (the drift
    that had `--lora_alpha 32` and `--report_to tensorboard` as literals in three scripts)."""
    files = [*TRAIN_SCRIPTS, EXAMPLES / 'common.sh']
    where: Dict[Tuple[str, str], List[str]] = {}
    for path in files:
        for pair in flag_literals(path.read_text()):
            where.setdefault(pair, []).append(path.name)
    assert ('--rlhf_type', 'grpo') in where and ('--beta', '0') in where  # the parser sees the recipe's flags
    twice = {f'{flag} {value}': names for (flag, value), names in where.items() if len(names) > 1}
    assert not twice, f'flag values written in more than one script (set a variable of {MAIN.name}): {twice}'


def test_one_swift_rlhf_command_and_overlays_exec_it():
    """Only the base recipe spells out `swift rlhf`; every other training script runs it (directly or through
    another overlay) and passes its own arguments on."""
    overlays = [s for s in TRAIN_SCRIPTS if s != MAIN]
    assert len(overlays) >= 8
    assert len(re.findall(r'^\$SWIFT rlhf', MAIN.read_text(), re.M)) == 1 and '"$@"' in MAIN.read_text()
    names = {s.name for s in TRAIN_SCRIPTS}
    for script in overlays:
        code = '\n'.join(line for line in script.read_text().splitlines() if not line.lstrip().startswith('#'))
        assert 'rlhf' not in code.replace('rlhf`', ''), f'{script.name} restates `swift rlhf`'
        runs = set(re.findall(r'(train_qwen2_5_omni_\w+\.sh)', code)) & names
        assert runs, f'{script.name} does not run the base recipe or an overlay of it'
        assert '"$@"' in code or '"${EXTRA_ARGS[@]}"' in code, f'{script.name} drops extra `swift rlhf` arguments'


@pytest.mark.parametrize('script,env', [
    ('train_qwen2_5_omni_8xa100_zero2.sh', {}),
    ('train_qwen2_5_omni_1gpu_debug.sh', {}),
    ('train_qwen2_5_omni_vllm_server.sh', {'MODE': 'train'}),
    ('train_qwen2_5_omni_ablations.sh', {}),
])
def test_extra_arguments_reach_swift_rlhf_last(tmp_path, script, env):
    """`bash examples/<overlay>.sh --save_steps 7`: the flag reaches `swift rlhf` after the recipe's, so it wins."""
    calls = tmp_path / 'calls.jsonl'
    recorder = tmp_path / 'swift-recorder'
    recorder.write_text(f'#!{sys.executable}\nimport json, sys\n'
                        f'open({str(calls)!r}, "a").write(json.dumps(sys.argv[1:]) + "\\n")\n')
    recorder.chmod(0o755)
    proc = subprocess.run(['bash', str(EXAMPLES / script), '--save_steps', '7'], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120, env=script_env(SWIFT=str(recorder), PLUGIN='plugin.py', **env))
    assert proc.returncode == 0, proc.stderr[-2000:]
    [argv] = [json.loads(line) for line in calls.read_text().splitlines()]
    assert argv[0] == 'rlhf' and argv[-2:] == ['--save_steps', '7'] and argv.count('--save_steps') == 2


def test_readme_names_every_example_script():
    """README's list of scripts matches examples/: every script is named, and every examples/*.sh it names exists."""
    readme = (ROOT / 'README.md').read_text()
    scripts = {s.name for s in EXAMPLES.glob('*.sh')}
    assert not {s for s in scripts if f'`{s}`' not in readme and f'examples/{s}' not in readme}
    named = set(re.findall(r'\b((?:train_qwen2_5_omni_|build_|eval_|probe|push_)\w*\.sh)\b', readme))
    assert named <= scripts, f'README names scripts that do not exist: {named - scripts}'
