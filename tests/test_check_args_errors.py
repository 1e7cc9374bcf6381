"""``swift-tars check-args`` reports every problem at once (all bad TARS_*, missing paths, dataset rows, batch rules)
and never a traceback for a user error; ``--replay`` checks every record even after a bad one."""
import json

import pytest
import soundfile as sf

from swift_tars.cli import main as cli_main
from swift_tars.cli import plugin_path
from swift_tars.commands.check_args import check
from swift_tars.data.rows import make_row
from swift_tars.testing.data import tone


def argv(dataset='tars-mmlu-speech', *extra):
    return ['--rlhf_type', 'grpo', '--model', 'Qwen/Qwen2.5-Omni-7B', '--external_plugins', plugin_path(),
            '--dataset', dataset, '--reward_funcs', 'tars_accuracy', 'tars_format', '--num_generations', '4',
            '--per_device_train_batch_size', '4', *extra]


def test_a_valid_command_line_passes():
    result = check('rlhf', argv(), env={})
    assert result.ok, result.problems


def test_every_bad_tars_variable_and_the_batch_rules_at_once(tmp_path):
    env = {'TARS_EMBEDDING_MODEL': '/nonexistent', 'TARS_REFERENCE': 'nearest', 'TARS_LAYERZ': 'all',
           'TARS_AGREEMENT_JUDGE': str(tmp_path / 'no-judge')}
    result = check('rlhf', argv('tars-mmlu-speech', '--per_device_train_batch_size', '3'), env=env)
    text = '\n'.join(result.problems)
    for expected in ('TARS_EMBEDDING_MODEL=/nonexistent: no such model folder', "TARS_REFERENCE='nearest' is not "
                     'valid', 'unknown swift-tars variable(s) TARS_LAYERZ', 'TARS_AGREEMENT_JUDGE=',
                     '--per_device_train_batch_size 3 must be even'):
        assert expected in text, (expected, result.problems)


def test_no_traceback_for_a_missing_model_path(capsys, monkeypatch):
    monkeypatch.setenv('TARS_EMBEDDING_MODEL', '/nonexistent')
    assert cli_main(argv=['check-args', 'rlhf', *argv()]) == 1
    err = capsys.readouterr().err
    assert 'Traceback' not in err and 'TARS_EMBEDDING_MODEL=/nonexistent: no such model folder' in err


def test_dataset_rows_are_checked_like_training_checks_them(tmp_path):
    wav = tmp_path / 'q.wav'
    sf.write(wav, tone(16000, 0.2), 16000)
    query = 'Q?\nOption A: a\nOption B: b'
    good = make_row(audio=str(wav), text_query=query, solution='A', question_id='q0', options=['a', 'b'])
    bad = make_row(audio=str(tmp_path / 'gone.wav'), text_query=query, solution='A', question_id='q1',
                   options=['a', 'b'])
    data = tmp_path / 'train.jsonl'
    data.write_text(json.dumps(good) + '\n' + json.dumps(bad) + '\n')
    result = check('rlhf', argv(str(data)), env={})
    [problem] = [p for p in result.problems if p.startswith('dataset row:')]
    assert problem.startswith(f"dataset row: {data} line 2 (question_id='q1'): audio file not found: "
                              f"{tmp_path / 'gone.wav'} (fix the path")


def test_replay_goes_through_every_record(tmp_path, capsys):
    record = tmp_path / 'calls.jsonl'
    lines = [json.dumps({'command': 'rlhf', 'argv': argv(), 'env': {'TARS_EMBEDDING_MODEL': '/nonexistent'},
                         'cwd': str(tmp_path)}),
             '{"command": "rlhf", broken',
             json.dumps({'command': 'rlhf', 'argv': argv(), 'env': {}, 'cwd': str(tmp_path)})]
    record.write_text('\n'.join(lines) + '\n')
    assert cli_main(argv=['check-args', '--json', '--replay', str(record), str(tmp_path / 'missing.jsonl')]) == 1
    out = capsys.readouterr()
    results = [json.loads(line) for line in out.out.splitlines() if line.startswith('{')]
    assert 'Traceback' not in out.err
    by_label = {r['label']: r for r in results}
    assert any('line 2: not a recorded command line' in p for p in by_label['calls']['problems'])
    assert any('/nonexistent' in p for p in by_label['calls#0']['problems'])
    assert by_label['calls#1']['ok']  # the record after the bad ones was still checked
    assert any('cannot be read' in p for p in by_label['missing']['problems'])


@pytest.mark.parametrize('env', [{'TARS_DISTILL_COEF': '-1', 'TARS_FORMAT_SCORES': 'x'}])
def test_config_error_lists_each_variable(env):
    from swift_tars.config import TarsConfig, TarsConfigError

    with pytest.raises(TarsConfigError) as e:
        TarsConfig.from_env(env)
    assert len(e.value.problems) == 2 and str(e.value).startswith('2 TARS_* problems:')
