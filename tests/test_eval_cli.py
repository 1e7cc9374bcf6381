"""``swift-tars eval`` on the tiny offline Qwen2.5-Omni and the spoken demo set (ms-swift's TransformersEngine).

- the console script end to end: killed with SIGKILL after its first batches, rerun to completion; the table,
  ``summary.json`` and ``summary.md`` come out and no row is duplicated or redone;
- in process, with a counting wrapper around one shared engine: a predictions file cut to a subset (plus a
  torn line) is completed with exactly the missing rows; a finished run loads no model at all;
- a LoRA adapter through ms-swift's ``adapters`` loading.
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from swift_tars.evaluation import eval_cli
from swift_tars.testing.runs import offline_env

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')
LIMIT, TOTAL = 8, 16  # the console-script test: 8 demo rows x 2 modes


@pytest.fixture(scope='module')
def engine(tiny_omni):
    """One ms-swift TransformersEngine on the tiny model, shared by the in-process tests."""
    from swift_tars.evaluation.engine import create_engine

    return create_engine(str(tiny_omni), model_type='qwen2_5_omni', torch_dtype='float32', batch_size=4)


class CountingEngine:
    """Wraps an engine and counts ``infer`` calls and requests."""

    def __init__(self, engine):
        self.engine, self.calls, self.requests = engine, 0, 0

    def infer(self, requests, *args, **kwargs):
        self.calls += 1
        self.requests += len(requests)
        return self.engine.infer(requests, *args, **kwargs)




def _records(path: Path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _keys(records):
    return [(r['set'], r['question_id'], r['mode']) for r in records]


def test_resume_redoes_only_missing_rows(engine, tiny_omni, demo_dataset, tmp_path):
    out = tmp_path / 'eval'
    argv = eval_cli.parse(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={demo_dataset}',
                  '--output_dir', str(out), '--limit', '6', '--batch_size', '4', '--max_new_tokens', '32',
                  '--no_progress'])
    wrappers = []

    def factory():
        wrappers.append(CountingEngine(engine))
        return wrappers[-1]

    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert (wrappers[0].calls, wrappers[0].requests) == (4, 12)  # per mode: a batch of 4, then of 2
    predictions = out / 'predictions.jsonl'
    first = _records(predictions)
    assert len(first) == 12 and len(set(_keys(first))) == 12
    assert {r['mode'] for r in first} == {'speech', 'text'}
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['sets']['demo']['speech']['n'] == 6 and summary['counts']['generated'] == 12

    # a kill: only 5 finished rows survive, plus half of a sixth line that was being written
    lines = predictions.read_text().splitlines(keepends=True)
    predictions.write_text(''.join(lines[:5]) + lines[5][:40])
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert (wrappers[1].calls, wrappers[1].requests) == (3, 7)  # speech: 1 row left; text: 4 + 2
    second = _records(predictions)
    assert second[:5] == first[:5]  # finished rows untouched (same completions, same timestamps)
    assert len(second) == 12 and sorted(_keys(second)) == sorted(_keys(first))  # complete, no duplicate
    again = json.loads((out / 'summary.json').read_text())
    assert again['counts'] == {**again['counts'], 'done_before': 5, 'generated': 7}

    # nothing left: the summary is rebuilt without creating an engine
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert len(wrappers) == 2
    assert len(_records(predictions)) == 12


def test_console_script_killed_then_resumed(tiny_omni, demo_dataset, tmp_path, capsys):
    out = tmp_path / 'eval'
    predictions = out / 'predictions.jsonl'
    exe = str(Path(sys.executable).parent / 'swift-tars')
    cmd = [exe, 'eval', '--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--torch_dtype', 'float32',
           '--eval_sets', f'demo={demo_dataset}', '--output_dir', str(out), '--batch_size', '2',
           '--max_new_tokens', '32', '--limit', str(LIMIT)]
    with open(tmp_path / 'first.log', 'w') as log:
        proc = subprocess.Popen(cmd, env=offline_env(), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 300
        while proc.poll() is None and time.time() < deadline:
            if predictions.exists() and len(predictions.read_bytes().splitlines()) >= 2:
                break
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (tmp_path / 'first.log').read_text()[-3000:]
    complete = [line for line in predictions.read_text().splitlines(keepends=True) if line.endswith('\n')]
    done = len(complete)
    assert 2 <= done < TOTAL

    second = subprocess.run(cmd + ['--reference_text_acc', '90'], env=offline_env(), capture_output=True, text=True,
                            timeout=600)
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-3000:]
    with capsys.disabled():  # into the CI log: the eval table of the tiny model on the builder's spoken set
        print(f'\n[swift-tars eval on the tiny model, {LIMIT} rows, resumed after a kill]\n{second.stdout}')
    assert f'{done} of {TOTAL} answers already in' in second.stdout
    assert f'| demo | {LIMIT} |' in second.stdout and '(÷ 90.00)' in second.stdout
    records = _records(predictions)
    assert len(records) == TOTAL and len(set(_keys(records))) == TOTAL
    assert predictions.read_text().startswith(''.join(complete))  # rows finished before the kill kept as they were
    summary = json.loads((out / 'summary.json').read_text())
    demo = summary['sets']['demo']
    assert demo['speech']['n'] == demo['text']['n'] == LIMIT
    assert summary['counts']['generated'] == TOTAL - done
    assert demo['gap'] == pytest.approx(demo['text']['accuracy'] - demo['speech']['accuracy'])
    assert demo['mrr']['denominator'] == 90.0 and demo['mrr']['denominator_source'] == '--reference_text_acc 90'
    assert len(demo['subjects']) >= 2
    assert 'unweighted_mean_over_sets' in summary['overall'] and 'item_weighted' in summary['overall']
    assert (out / 'summary.md').read_text() in second.stdout
    for r in records:
        assert r['pred'] is None or r['pred'] in 'ABCD'
        assert r['correct'] == (r['pred'] == r['gold'])


def test_lora_adapter_is_loaded_by_ms_swift(tiny_omni, tiny_lora, demo_dataset, tmp_path, monkeypatch):
    from swift_tars.evaluation import engine as engine_module

    created = []
    original = engine_module.create_engine

    def recording(*args, **kwargs):
        created.append(original(*args, **kwargs))
        return created[-1]

    monkeypatch.setattr(eval_cli, 'create_engine', recording)
    out = tmp_path / 'lora-eval'
    argv = eval_cli.parse(['--model', str(tiny_omni), '--adapters', str(tiny_lora), '--eval_sets', f'demo={demo_dataset}',
                  '--modes', 'text', '--limit', '2', '--max_new_tokens', '16', '--torch_dtype', 'float32',
                  '--output_dir', str(out), '--no_progress'])
    assert eval_cli.main(argv) == 0
    assert 'PeftModel' in type(created[0].model).__name__
    summary = json.loads((out / 'summary.json').read_text())
    assert summary['run']['adapters'] == [str(tiny_lora.resolve())]
    assert summary['sets']['demo']['text']['n'] == 2 and 'speech' not in summary['sets']['demo']


def _write_rows(path: Path, rows) -> Path:
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


def _summary_matches_predictions(out: Path):
    """summary.json's counts are those of predictions.jsonl, record by record."""
    summary, records = json.loads((out / 'summary.json').read_text()), _records(out / 'predictions.jsonl')
    for name, s in summary['sets'].items():
        for mode in ('speech', 'text'):
            rs = [r for r in records if r['set'] == name and r['mode'] == mode]
            assert (s[mode]['n'], s[mode]['correct']) == (len(rs), sum(r['correct'] for r in rs))
    return summary, {(r['set'], r['question_id'], r['mode']): r for r in records}


def test_edited_eval_file_regenerates_exactly_the_changed_items(engine, tiny_omni, demo_rows, tmp_path):
    rows = [dict(r) for r in demo_rows[:4]]
    eval_file, out = _write_rows(tmp_path / 'set.jsonl', rows), tmp_path / 'eval'
    argv = eval_cli.parse(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={eval_file}',
                  '--output_dir', str(out), '--batch_size', '4', '--max_new_tokens', '16', '--no_progress',
                  '--bootstrap_resamples', '200'])
    wrappers = []

    def factory():
        wrappers.append(CountingEngine(engine))
        return wrappers[-1]

    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert wrappers[0].requests == 8
    _, first = _summary_matches_predictions(out)

    # a gold letter edited: no generation, only that item's two records are re-scored
    qid = rows[1]['question_id']
    rows[1]['solution'] = next(letter for letter in 'ABCD' if letter != rows[1]['solution'])
    _write_rows(eval_file, rows)
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert len(wrappers) == 1  # nothing to generate: no engine
    summary, second = _summary_matches_predictions(out)
    assert summary['counts']['rescored'] == 2 and summary['counts']['generated'] == 0
    for key, record in second.items():
        if key[1] == qid:
            assert record['gold'] == rows[1]['solution'] and record['correct'] == (record['pred'] == record['gold'])
            assert record['completion'] == first[key]['completion']
        else:
            assert record == first[key]

    # a question edited (its text prompt): only that item's text answer is regenerated
    edited = rows[2]['question_id']
    rows[2]['text_query'] = 'Please answer. ' + rows[2]['text_query']
    _write_rows(eval_file, rows)
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert (wrappers[1].calls, wrappers[1].requests) == (1, 1)
    summary, third = _summary_matches_predictions(out)
    assert summary['counts']['regenerated_changed_prompt'] == 1 and summary['counts']['generated'] == 1
    assert [k for k in third if third[k] != second[k]] == [('demo', edited, 'text')]

    # an item removed from the file: gone from the summary and from the predictions
    _write_rows(eval_file, rows[:3])
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert len(wrappers) == 2
    summary, fourth = _summary_matches_predictions(out)
    assert summary['sets']['demo']['n_items'] == 3 and len(fourth) == 6
    assert summary['counts']['dropped_not_in_eval_file'] == 2
    assert summary['sets']['demo']['paired']['n'] == 3 and set(summary['sets']['demo']['intervals']) == {
        'speech_accuracy', 'text_accuracy', 'gap'}

    # another model in the same output dir is refused with a clear message
    other = eval_cli.parse(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={eval_file}',
                   '--output_dir', str(out), '--max_new_tokens', '8', '--no_progress'])
    assert eval_cli.main(other, engine_factory=factory) == 2 and len(wrappers) == 2


def test_compare_two_runs_on_the_tiny_model(engine, tiny_omni, demo_rows, tmp_path):
    rows = [dict(r) for r in demo_rows[:6]]
    eval_file = _write_rows(tmp_path / 'set.jsonl', rows)

    def run(out: Path, tokens: str) -> None:
        argv = eval_cli.parse(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={eval_file}',
                      '--output_dir', str(out), '--batch_size', '6', '--max_new_tokens', tokens, '--no_progress'])
        assert eval_cli.main(argv, engine_factory=lambda: engine) == 0

    run(tmp_path / 'a', '4')
    run(tmp_path / 'b', '16')
    exe = str(Path(sys.executable).parent / 'swift-tars')
    cmd = [exe, 'eval', '--compare', str(tmp_path / 'a'), str(tmp_path / 'b'), '--output_dir', str(tmp_path / 'cmp')]
    done = subprocess.run(cmd, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((tmp_path / 'cmp' / 'compare.json').read_text())
    a, b = _records(tmp_path / 'a' / 'predictions.jsonl'), _records(tmp_path / 'b' / 'predictions.jsonl')
    from swift_tars.evaluation.paired import mcnemar_exact

    for mode in ('speech', 'text'):
        right_a = {r['question_id']: r['correct'] for r in a if r['mode'] == mode}
        right_b = {r['question_id']: r['correct'] for r in b if r['mode'] == mode}
        d = result['sets']['demo'][mode]
        only_a = sum(right_a[q] and not right_b[q] for q in right_a)
        only_b = sum(right_b[q] and not right_a[q] for q in right_a)
        assert (d['n'], d['only_a_right'], d['only_b_right']) == (6, only_a, only_b)
        assert d['difference'] == pytest.approx(100 * (sum(right_b.values()) - sum(right_a.values())) / 6)
        assert d['mcnemar_p'] == pytest.approx(mcnemar_exact(only_a, only_b))
    assert '| demo | speech | 6 |' in done.stdout and 'McNemar exact p' in done.stdout

    # run B again on an edited gold letter: the two runs no longer share an eval set, and --compare says where
    rows[3]['solution'] = next(letter for letter in 'ABCD' if letter != rows[3]['solution'])
    _write_rows(eval_file, rows)
    run(tmp_path / 'b', '16')
    refused = subprocess.run(cmd, env=offline_env(), capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and 'Traceback' not in refused.stderr
    assert "set 'demo' differs in content" in refused.stderr
    assert f"question_id '{rows[3]['question_id']}': gold" in refused.stderr


def test_a_corrupt_wav_stops_eval_and_probe_before_generation(tiny_omni, demo_rows, tmp_path):
    """The audio rule of training (issue 12): the file, line, question_id and fix; no traceback, nothing generated."""
    rows = [dict(r) for r in demo_rows[:3]]
    corrupt = tmp_path / 'corrupt.wav'
    corrupt.write_bytes(b'RIFF\x24\x00\x00\x00WAVEfmt this is not a wav at all')
    rows[1]['audios'] = [str(corrupt)]
    rows[2]['audios'] = [str(tmp_path / 'gone.wav')]
    eval_file, out = _write_rows(tmp_path / 'set.jsonl', rows), tmp_path / 'eval'
    exe = str(Path(sys.executable).parent / 'swift-tars')
    commands = {'eval': [exe, 'eval', '--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets',
                         f'demo={eval_file}', '--output_dir', str(out)],
                'probe': [exe, 'probe', '--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_set',
                          f'demo={eval_file}', '--output_dir', str(tmp_path / 'probe'), '--n', '2']}
    for name, cmd in commands.items():
        done = subprocess.run(cmd, env=offline_env(), capture_output=True, text=True, timeout=300)
        assert done.returncode != 0 and 'Traceback' not in done.stderr, done.stderr[-3000:]
        assert f"{eval_file} line 2 (question_id={rows[1]['question_id']!r}): audio file {corrupt} is not readable " \
               'audio' in done.stderr, done.stderr
        assert 're-create it' in done.stderr  # the fix
        assert f"{eval_file} line 3 (question_id={rows[2]['question_id']!r}): audio file not found: " in done.stderr
    assert not (out / 'predictions.jsonl').exists()


def test_a_44k_stereo_wav_is_evaluated_with_the_training_note(engine, tiny_omni, demo_rows, tmp_path, monkeypatch,
                                                             caplog):
    import librosa
    import numpy as np
    import soundfile as sf

    from swift_tars.data import rows as rows_module

    rows = [dict(r) for r in demo_rows[:2]]
    audio, sr = sf.read(rows[0]['audios'][0], dtype='float32')
    stereo = tmp_path / 'q0-44k-stereo.wav'
    resampled = librosa.resample(audio, orig_sr=sr, target_sr=44100)
    sf.write(stereo, np.stack([resampled, 0.5 * resampled], axis=1), 44100)
    rows[0]['audios'] = [str(stereo)]
    eval_file, out = _write_rows(tmp_path / 'set.jsonl', rows), tmp_path / 'eval'
    monkeypatch.setattr(rows_module, '_FORMAT_NOTED', [])  # the note is logged once per process
    argv = eval_cli.parse(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={eval_file}',
                  '--output_dir', str(out), '--modes', 'speech', '--max_new_tokens', '8', '--no_progress'])
    with caplog.at_level('WARNING', logger='swift_tars'):
        assert eval_cli.main(argv, engine_factory=lambda: engine) == 0
    assert f'audio file {stereo} is 44100 Hz with 2 channel(s); it is resampled to 16000 Hz mono' in caplog.text
    records = _records(out / 'predictions.jsonl')
    assert [(r['question_id'], r['mode']) for r in records] == [(r['question_id'], 'speech') for r in rows]
