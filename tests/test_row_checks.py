"""Dataset rows are checked before the first generation, on every path; one error lists every bad row (file, line,
question_id, what, how to fix), or TARS_SKIP_INVALID=1 drops and counts them. One test per input of the issue."""
import json
import logging

import pytest
import soundfile as sf

from swift_tars.data import row_checks
from swift_tars.data.row_checks import InvalidRowsError, check_loaded, local_files, prepare_specs, skipped_summary
from swift_tars.data.rows import make_row
from swift_tars.testing.data import tone

QUERY = 'Which animal barks?\n\nOption A: cat\nOption B: dog\nOption C: cow\nOption D: fish'


@pytest.fixture()
def wav(tmp_path):
    path = tmp_path / 'q.wav'
    sf.write(path, tone(16000, 0.3), 16000, subtype='PCM_16')
    return str(path)


@pytest.fixture(autouse=True)
def fresh_counts():
    row_checks._SKIPPED.clear()
    yield
    row_checks._SKIPPED.clear()


def rows(wav, n=3):
    return [make_row(audio=wav, text_query=QUERY.replace('barks', f'barks {i}'), solution='B', question_id=f'q{i}',
                     options=['cat', 'dog', 'cow', 'fish']) for i in range(n)]


def write(path, items):
    path.write_text(''.join((x if isinstance(x, str) else json.dumps(x)) + '\n' for x in items))
    return str(path)


def error_of(specs, **kwargs):
    with pytest.raises(InvalidRowsError) as e:
        prepare_specs(specs, skip=False, **kwargs)
    assert 'Traceback' not in str(e.value) and 'TARS_SKIP_INVALID=1' in str(e.value)
    return str(e.value)


def test_valid_rows_pass_unchanged(tmp_path, wav):
    path = write(tmp_path / 'train.jsonl', rows(wav))
    assert prepare_specs([path, 'tars-mmlu-speech', 'org/hub-set'], skip=False) == [path, 'tars-mmlu-speech',
                                                                                     'org/hub-set']


def test_missing_wav_names_file_line_and_question_id(tmp_path, wav):
    bad = rows(wav)
    bad[1]['audios'] = [str(tmp_path / 'gone.wav')]
    path = write(tmp_path / 'train.jsonl', bad)
    message = error_of([path])
    assert f"{path} line 2 (question_id='q1'): audio file not found: {tmp_path / 'gone.wav'}" in message
    assert '1 invalid dataset row(s) or file(s) among 3 row(s)' in message


def test_corrupt_wav_is_named_with_the_reader_error(tmp_path, wav):
    broken = tmp_path / 'broken.wav'
    broken.write_bytes(b'RIFF\x00\x00\x00\x00WAVEfmt garbage')
    bad = rows(wav)
    bad[2]['audios'] = [str(broken)]
    message = error_of([write(tmp_path / 'train.jsonl', bad)])
    assert "line 3 (question_id='q2'): audio file" in message and 'is not readable audio (' in message
    assert 'Error' in message.split('is not readable audio (')[1]  # the reader's error type, never an empty message


def test_empty_file_and_non_json_line_name_the_file_and_line(tmp_path, wav):
    empty = write(tmp_path / 'empty.jsonl', [])
    assert f'{empty}: the file is empty' in error_of([empty])
    broken = write(tmp_path / 'train.jsonl', rows(wav, 2) + ['{"messages": [], "trailing": 1} extra'])
    message = error_of([broken])
    assert f'{broken} line 3: this line is not JSON (Extra data, column 33)' in message


@pytest.mark.parametrize('change, expected', [
    (lambda r: r.pop('solution'), "no gold answer: set 'solution'"),
    (lambda r: r.update(solution='E'), "solution 'E' is not among the option letters A, B, C, D"),
    (lambda r: (r.pop('solution'), r.update(answer_index=4)), 'answer_index 4 is not a 0-based index of the 4'),
    (lambda r: r.update(options=['cat', 'dog', 'cow']), 'option count disagrees: 3 options but text_query lists 4'),
    (lambda r: r.update(text_query=' '), 'text_query (the question and options as text) is empty'),
    (lambda r: r.pop('text_query'), "missing column(s) ['text_query']"),
])
def test_gold_options_and_text_query_problems(tmp_path, wav, change, expected):
    bad = rows(wav)
    change(bad[0])
    assert f"line 1 (question_id='q0'): {expected}" in error_of([write(tmp_path / 'train.jsonl', bad)])


def test_answer_index_without_solution_and_other_rates_are_accepted(tmp_path, wav):
    ok = rows(wav)
    del ok[0]['solution']
    ok[0]['answer_index'] = 1
    stereo = tmp_path / 'cd.wav'
    sf.write(stereo, tone(44100, 0.3, channels=2), 44100)
    ok[1]['audios'] = [str(stereo)]
    path = write(tmp_path / 'train.jsonl', ok)
    assert prepare_specs([path], skip=False) == [path]


def test_duplicate_question_id_with_different_content_names_both_rows(tmp_path, wav):
    dup = rows(wav)
    dup[2]['question_id'] = 'q0'
    other = write(tmp_path / 'more.jsonl', [rows(wav)[0], dict(rows(wav)[1], question_id='q0')])
    path = write(tmp_path / 'train.jsonl', dup)
    message = error_of([path, other])
    assert (f"{path} line 3 (question_id='q0'): question_id 'q0' is already used by a different question ({path} "
            'line 1)') in message
    assert f"{other} line 2 (question_id='q0')" in message  # across files too
    assert f"{other} line 1 (" not in message  # the very same question repeated is fine


def test_one_error_lists_every_bad_row_up_to_a_cap(tmp_path, wav):
    bad = rows(wav, 30)
    for r in bad[:25]:
        r['solution'] = 'Z'
    message = error_of([write(tmp_path / 'train.jsonl', bad)])
    assert message.count('\n  - ') == row_checks.MAX_LISTED and '... and 5 more problem(s) not listed' in message
    assert '25 invalid dataset row(s) or file(s) among 30 row(s)' in message


def test_skip_invalid_drops_counts_and_logs(tmp_path, wav, caplog):
    bad = rows(wav, 4)
    bad[1]['audios'] = [str(tmp_path / 'gone.wav')]
    path = write(tmp_path / 'train.jsonl', bad[:2] + ['not json'] + bad[2:])
    empty = write(tmp_path / 'empty.jsonl', [])
    with caplog.at_level(logging.WARNING, logger='swift_tars'):
        specs = prepare_specs([path, empty, 'tars-mmlu-speech'], skip=True)
    assert len(specs) == 2 and specs[1] == 'tars-mmlu-speech' and specs[0] != path
    kept = [json.loads(line)['question_id'] for line in open(specs[0])]
    assert kept == ['q0', 'q2', 'q3']
    assert skipped_summary() == {'rows': 3, 'by_source': {path: 2, empty: 1}}
    assert 'TARS_SKIP_INVALID=1: dropped 3 invalid row(s)' in caplog.text and 'line 3: this line is not JSON' in caplog.text


def test_build_data_folder_reads_the_file_of_its_dataset_card(tmp_path, wav):
    folder = tmp_path / 'built'
    folder.mkdir()
    write(folder / 'train.jsonl', rows(wav))
    (folder / 'train.manifest.json').write_text('{}')
    (folder / 'README.md').write_text('---\nconfigs:\n- config_name: default\n  data_files:\n  - split: train\n'
                                      '    path: train.jsonl\n---\n')
    assert local_files(str(folder)) == [str(folder / 'train.jsonl')]
    assert local_files(f'{folder}#2') == [str(folder / 'train.jsonl')]
    assert local_files('tars-voicebench-obqa') is None and local_files('/no/such/train.jsonl') == []
    bad = rows(wav)
    bad[0]['solution'] = 'E'
    write(folder / 'train.jsonl', bad)
    assert f"{folder / 'train.jsonl'} line 1 (question_id='q0')" in error_of([str(folder)])


def test_the_swift_rlhf_hook_checks_dataset_and_val_dataset_before_loading(tmp_path, wav, monkeypatch):
    """``RLHFArguments.load_dataset`` wrapped: the val file is checked too, and ms-swift never reads a bad file."""
    from swift_tars.data.datasets import _checked_load_dataset

    train = write(tmp_path / 'train.jsonl', rows(wav))
    val = write(tmp_path / 'val.jsonl', rows(wav, 1) + ['{oops'])
    calls = []
    args = type('Args', (), {'dataset': [train], 'val_dataset': [val]})()
    monkeypatch.delenv('TARS_SKIP_INVALID', raising=False)
    with pytest.raises(InvalidRowsError, match=f'{val} line 2: this line is not JSON'):
        _checked_load_dataset(lambda self: calls.append(1))(args)
    assert not calls  # nothing was loaded
    monkeypatch.setenv('TARS_SKIP_INVALID', '1')
    assert _checked_load_dataset(lambda self: (None, None))(args) == (None, None)
    assert args.dataset == [train] and args.val_dataset[0] != val


def test_loaded_rows_of_registered_datasets_are_checked_too(wav):
    """Registered (tars-*) and hub datasets are checked after ms-swift converted them: duplicate ids, row checks."""
    import datasets

    loaded = rows(wav, 3)
    loaded[2]['question_id'] = 'q0'
    ds = datasets.Dataset.from_list([dict(r, dataset='tars-mmlu-speech') for r in loaded])
    with pytest.raises(InvalidRowsError, match=r"tars-mmlu-speech \(loaded train row 2\) \(question_id='q0'\): "
                       'question_id .q0. is already used'):
        check_loaded(ds, skip=False)
    assert check_loaded(ds, skip=True)['question_id'] == ['q0', 'q1']
    assert skipped_summary()['by_source'] == {'tars-mmlu-speech': 1}
    assert len(check_loaded(ds.select([0, 1]), skip=False)) == 2
