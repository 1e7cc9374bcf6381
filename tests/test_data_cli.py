"""``swift-tars build-data`` as users run it: a subprocess of the console script."""
import json
import subprocess
import sys
from pathlib import Path

from swift_tars.testing.data import mc_questions, write_jsonl
from swift_tars.testing.runs import offline_env

SWIFT_TARS = str(Path(sys.executable).parent / 'swift-tars')


def test_build_data_mmlu_console_script(tmp_path):
    source = write_jsonl(tmp_path / 'mcq.jsonl', mc_questions(3))
    out = tmp_path / 'data'
    proc = subprocess.run([SWIFT_TARS, 'build-data', 'mmlu', '--source', str(source), '--tts', 'espeak', '--out',
                           str(out), '--workers', '2'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert 'build-data mmlu: 100%' in proc.stderr and '3/3' in proc.stderr  # the progress bar
    assert '[build-data mmlu] 3 rows ->' in proc.stderr and 'rows/s with 2 worker(s)' in proc.stderr  # the summary
    rows = [json.loads(line) for line in (out / 'train.jsonl').read_text().splitlines()]
    assert [r['question_id'] for r in rows] == ['q000', 'q001', 'q002']
    manifest = json.loads((out / 'train.manifest.json').read_text())
    assert manifest['counts']['rows'] == 3 and manifest['settings']['tts']['backend'] == 'espeak'


def test_build_data_errors_exit_1_with_the_row(tmp_path):
    questions = mc_questions(2)
    questions[1]['options'] = ['only', 'two']
    source = write_jsonl(tmp_path / 'mcq.jsonl', questions)
    proc = subprocess.run([SWIFT_TARS, 'build-data', 'mmlu', '--source', str(source), '--out', str(tmp_path / 'o'),
                           '--no-progress'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert f"swift-tars build-data mmlu: error: {source} line 2: wrong option count: expected 4 options, got 2" \
        in proc.stderr
    assert 'Traceback' not in proc.stderr
    offline = offline_env(HF_HOME=str(tmp_path / 'hf'))
    proc = subprocess.run([SWIFT_TARS, 'build-data', 'upstream', '--source', str(tmp_path / 'missing'), '--out',
                           str(tmp_path / 'o2'), '--no-progress'], capture_output=True, text=True, timeout=300,
                          env=offline)
    assert proc.returncode == 1 and f"source '{tmp_path / 'missing'}' does not exist" in proc.stderr
