"""The row format: ``make_row`` and every error path of ``validate_row`` (each names the row and file)."""
import json

import numpy as np
import pytest
import soundfile as sf

from swift_tars.data.rows import RowError, make_row, validate_row
from swift_tars.prompts import SYSTEM_THINK
from swift_tars.testing.data import tone


@pytest.fixture()
def wav16k(tmp_path):
    path = tmp_path / 'q.wav'
    sf.write(path, tone(16000, 0.5), 16000, subtype='PCM_16')
    return str(path)


def good_row(audio):
    return make_row(audio=audio, text_query='Which animal barks?\n\nOption A: cat\nOption B: dog',
                    solution='B', question_id='q1', options=['cat', 'dog'], subject='biology', source=None)


def test_make_row_layout(wav16k):
    row = good_row(wav16k)
    assert row['messages'] == [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': '<audio>'}]
    assert row['audios'] == [wav16k] and row['solution'] == 'B' and row['question_id'] == 'q1'
    assert row['subject'] == 'biology' and 'source' not in row  # None-valued optional columns are left out
    assert make_row(audio=wav16k, text_query='x', solution='A', question_id=3, options=['a', 'b'],
                    system='custom')['messages'][0]['content'] == 'custom'
    assert validate_row(row, 'train.jsonl line 1') is row


@pytest.mark.parametrize('mutate, message', [
    (lambda r: r.pop('text_query'), "missing column(s) ['text_query']"),
    (lambda r: r.update(text_query='  '), 'text_query (the question and options as text) is empty'),
    (lambda r: r.update(options=['cat', 'dog', 'cow']), 'expected 2 options, got 3'),
    (lambda r: r.update(options=['cat', '']), 'option(s) B are empty'),
    (lambda r: r.update(solution='C'), "solution 'C' is not among the option letters A, B"),
    (lambda r: r.update(solution=1), "solution 1 is not among the option letters"),
    (lambda r: r.update(question_id=''), 'question_id must be a non-empty string'),
    (lambda r: r.update(audios=['a.wav', 'b.wav']), 'audios must hold exactly one wav path'),
    (lambda r: r['messages'].__setitem__(1, {'role': 'user', 'content': 'hi'}), 'exactly one <audio> tag'),
    (lambda r: r['messages'].append({'role': 'assistant', 'content': 'B'}), 'the last message must be the user turn'),
    (lambda r: r.update(dataset='x'), "column(s) ['dataset'] are reserved by ms-swift"),
])
def test_validate_row_errors_name_row_and_file(wav16k, mutate, message):
    row = json.loads(json.dumps(good_row(wav16k)))
    mutate(row)
    with pytest.raises(RowError) as e:
        validate_row(row, 'data/train.jsonl line 7', num_options=2)
    assert 'data/train.jsonl line 7' in str(e.value)
    assert message in str(e.value)


def test_validate_row_audio_errors(tmp_path, wav16k):
    row = good_row(str(tmp_path / 'missing.wav'))
    with pytest.raises(RowError, match=r"eval\.jsonl line 2 \(question_id='q1'\): audio file not found: .*missing"):
        validate_row(row, 'eval.jsonl line 2')
    assert validate_row(row, 'x', check_audio=False) is row  # structure only

    broken = tmp_path / 'broken.wav'
    broken.write_bytes(b'RIFF\x00\x00not really a wav file')
    with pytest.raises(RowError, match=r'broken\.wav is not readable audio'):
        validate_row(good_row(str(broken)), 'eval.jsonl line 3')

    empty = tmp_path / 'empty.wav'
    sf.write(empty, np.zeros(0, dtype=np.float32), 16000)
    with pytest.raises(RowError, match=r'empty'):
        validate_row(good_row(str(empty)), 'eval.jsonl line 6')


def test_other_rates_and_channels_are_accepted_with_one_note(tmp_path, caplog):
    """One audio rule for validate_row, training and eval: any rate / channel count is resampled to 16 kHz mono
    on load (ms-swift's load_audio), noted once per process; only missing, unreadable or empty files fail."""
    import logging

    from swift_tars.data import rows as rows_module

    monkey = rows_module._FORMAT_NOTED
    monkey.clear()
    stereo = tmp_path / 'cd.wav'
    sf.write(stereo, tone(44100, 0.5, channels=2), 44100)
    fast = tmp_path / 'fast.wav'
    sf.write(fast, tone(24000, 0.5), 24000)
    with caplog.at_level(logging.WARNING, logger='swift_tars'):
        assert validate_row(good_row(str(stereo)), 'eval.jsonl line 4')['audios'] == [str(stereo)]
        validate_row(good_row(str(fast)), 'eval.jsonl line 5')
    notes = [r.getMessage() for r in caplog.records if 'resampled to 16000 Hz mono' in r.getMessage()]
    assert len(notes) == 1 and 'eval.jsonl line 4' in notes[0] and '44100 Hz with 2 channel(s)' in notes[0]
    monkey.clear()


def test_answer_index_is_accepted_instead_of_solution(wav16k):
    row = good_row(wav16k)
    del row['solution']
    row['answer_index'] = 1
    assert validate_row(row, 'train.jsonl line 1') is row
    row['answer_index'] = 4
    with pytest.raises(RowError, match=r'answer_index 4 is not a 0-based index of the 2 options'):
        validate_row(row, 'train.jsonl line 1')
    del row['answer_index']
    with pytest.raises(RowError, match="no gold answer: set 'solution'"):
        validate_row(row, 'train.jsonl line 1')


def test_option_count_must_match_the_options_listed_in_text_query(wav16k):
    row = good_row(wav16k)
    row['text_query'] += '\nOption C: cow'
    with pytest.raises(RowError, match=r'line 9 \(question_id=.q1.\): .*2 options but text_query lists 3'):
        validate_row(row, 'train.jsonl line 9')
    row['text_query'] = 'Which animal barks?\nA. cat\nB. dog\nC. cow\nD. fish\nAnswer with the letter.'
    row['options'] = ['cat', 'dog', 'cow']
    with pytest.raises(RowError, match='3 options but text_query lists 4'):
        validate_row(row, 'x')
    row['text_query'] = 'Which animal barks: cat, dog or cow?'  # options not spelled out as lines: not counted
    validate_row(row, 'x')


def test_text_view_messages_is_the_one_text_prompt():
    """Training (pairing), CORD's teacher and text-mode eval all build their text prompt with this function."""
    from swift_tars.data.rows import text_view_messages

    speech = [{'role': 'system', 'content': 'S'}, {'role': 'user', 'content': 'earlier'},
              {'role': 'user', 'content': '<audio>'}, {'role': 'assistant', 'content': 'The answer is B.'}]
    out = text_view_messages(speech, 'Q?')
    assert [m['content'] for m in out] == ['S', 'earlier', 'Q?', 'The answer is B.']  # last user turn only
    assert speech[2]['content'] == '<audio>'  # the input is untouched
    with pytest.raises(RowError, match=r"row 3 has no 'text_query' .*needed for text mode"):
        text_view_messages(speech, '  ', 'row 3', 'text mode')
    with pytest.raises(RowError, match='no user message'):
        text_view_messages(speech[:1], 'Q?')


def test_the_wav_cache_uses_the_row_format_wav_check(tmp_path, wav16k):
    from swift_tars.data.wavcache import existing_duration

    assert existing_duration(wav16k) == pytest.approx(0.5)
    stereo = tmp_path / 'stereo.wav'
    sf.write(stereo, np.zeros((1600, 2), dtype=np.float32), 16000)
    other_rate = tmp_path / 'rate.wav'
    sf.write(other_rate, np.zeros(2400, dtype=np.float32), 24000)
    broken = tmp_path / 'broken.wav'
    broken.write_bytes(b'RIFF')
    for path in (stereo, other_rate, broken, tmp_path / 'absent.wav'):
        assert existing_duration(path) is None


def test_undecoded_audio_casts_audio_columns():
    import datasets

    from swift_tars.data.wavcache import undecoded_audio

    ds = datasets.Dataset.from_dict({'audio': [None], 'other': [None], 'text': ['x']}).cast_column(
        'audio', datasets.Audio()).cast_column('other', datasets.Audio())
    assert not undecoded_audio(ds).features['audio'].decode and not undecoded_audio(ds).features['other'].decode
    only = undecoded_audio(ds, ('audio', 'audios'))
    assert not only.features['audio'].decode and only.features['other'].decode


def test_more_options_than_letters_is_a_row_error():
    from swift_tars.data.rows import check_options

    with pytest.raises(RowError, match='27 options are more than there are option letters'):
        check_options([f'o{i}' for i in range(27)], 'row 0', None)
