"""Conversions of data that already has audio: the wav cache, the upstream release and VoiceBench.

Fixtures are local ``save_to_disk`` datasets with an HF ``Audio`` column, built here from tones.
"""
import json

import pytest
import soundfile as sf

from data_builders.cli import parse, run
from data_builders.pipeline import BuildError
from swift_tars.data.rows import RowError, validate_row
from swift_tars.data.upstream import upstream_fields
from swift_tars.data.voicebench import parse_prompt, voicebench_fields
from swift_tars.data.wavcache import store_audio
from swift_tars.testing.data import save_dataset, save_splits, upstream_rows, voicebench_prompt, wav_bytes


def read_rows(path):
    return [json.loads(line) for line in open(path, encoding='utf-8')]


def wav_files(folder):
    return sorted(p for p in folder.rglob('*.wav'))


# --- the wav cache -------------------------------------------------------------------------------------------

@pytest.mark.parametrize('sample_rate, seconds, channels', [(24000, 1.5, 1), (44100, 2.25, 1), (48000, 0.7, 2),
                                                            (16000, 1.0, 1), (22050, 0.9731, 1)])
def test_store_audio_resamples_to_16k_with_the_same_duration(tmp_path, sample_rate, seconds, channels):
    frames_in = int(round(sample_rate * seconds))
    for value in ({'bytes': wav_bytes(sample_rate, seconds, channels=channels), 'path': 'x.wav'},
                  {'array': sf.read(__import__('io').BytesIO(wav_bytes(sample_rate, seconds, channels=channels)),
                                    dtype='float32')[0], 'sampling_rate': sample_rate}):
        path, duration = store_audio(value, tmp_path / 'wav', where='t')
        info = sf.info(path)
        assert (info.samplerate, info.channels) == (16000, 1)
        assert abs(info.frames - frames_in * 16000 / sample_rate) <= 1
        assert duration == info.frames / 16000


def test_store_audio_is_content_addressed(tmp_path):
    a = {'bytes': wav_bytes(24000, 1.0, 220), 'path': 'a.wav'}
    b = {'bytes': wav_bytes(24000, 1.0, 330), 'path': 'b.wav'}
    first = store_audio(a, tmp_path, where='row 0')[0]
    assert store_audio(dict(a, path='renamed.wav'), tmp_path, where='row 1')[0] == first  # same audio, same file
    assert store_audio(b, tmp_path, where='row 2')[0] != first
    src = tmp_path / 'src.wav'
    src.write_bytes(a['bytes'])
    assert store_audio(str(src), tmp_path, where='row 3')[0] == first  # a path to the same bytes
    assert len(wav_files(tmp_path)) == 3  # the two converted files and src.wav: no duplicate
    # a half-written file under the final name is never trusted: it is rewritten
    open(first, 'wb').write(b'RIFF')
    assert sf.info(store_audio(a, tmp_path, where='row 4')[0]).frames == 16000


def test_store_audio_errors_name_the_row(tmp_path):
    with pytest.raises(RowError, match=r'up \[train\] row 3: audio file not found: .*nowhere\.wav'):
        store_audio({'bytes': None, 'path': str(tmp_path / 'nowhere.wav')}, tmp_path, where='up [train] row 3')
    with pytest.raises(RowError, match=r'row 4: unreadable audio \(12 bytes'):
        store_audio({'bytes': b'not an audio', 'path': 'x.wav'}, tmp_path, where='row 4')
    with pytest.raises(RowError, match=r'row 5: the row has no audio'):
        store_audio(None, tmp_path, where='row 5')
    with pytest.raises(RowError, match=r'row 6: the audio is empty'):
        store_audio({'array': [], 'sampling_rate': 16000}, tmp_path, where='row 6')


# --- upstream ------------------------------------------------------------------------------------------------

def test_upstream_fields_on_hand_written_rows():
    row = {'key': 'mmlu@12', 'question_id': 12, 'question': 'The sun rises in the ___.',
           'options': ['east', 'west', 'north', 'south'], 'answer_index': 0,
           'prompt_for_tts': 'The sun rises in the  what?\n\nOption A: east\nOption B: west\nOption C: north\n'
                             'Option D: south', 'category': 'astronomy'}
    f = upstream_fields(row, where='r')
    assert f == {'question_id': 'mmlu@12', 'question': 'The sun rises in the ___.',
                 'options': ['east', 'west', 'north', 'south'], 'solution': 'A', 'text_query': row['prompt_for_tts'],
                 'subject': 'astronomy', 'source': 'mmlu_auxiliary_train'}
    no_key = dict(row, key=None, question_id=77, answer_index=3)
    assert upstream_fields(no_key, where='r')['question_id'] == '77'
    assert upstream_fields(no_key, where='r')['solution'] == 'D'
    assert upstream_fields(no_key, where='r')['source'] is None


@pytest.mark.parametrize('change, message', [
    ({'options': ['a', 'b', 'c']}, 'wrong option count: expected 4 options, got 3'),
    ({'answer_index': 4}, 'gold answer 4 is not among the options A, B, C, D'),
    ({'answer_index': None}, 'gold answer None is not among the options'),
    ({'question': '  '}, 'empty question'),
    ({'prompt_for_tts': ''}, 'empty prompt_for_tts'),
    ({'key': None, 'question_id': None}, 'neither "key" nor "question_id"'),
])
def test_upstream_fields_errors(change, message):
    row = {'key': 'mmlu@5', 'question': 'q?', 'options': ['a', 'b', 'c', 'd'], 'answer_index': 1,
           'prompt_for_tts': 'q?\n\nOption A: a'}
    row.update(change)
    with pytest.raises(RowError) as e:
        upstream_fields(row, where='/data/up [train] row 5')
    assert str(e.value).startswith('/data/up [train] row 5') and message in str(e.value)


def test_upstream_builder_converts_24k_and_44k_audio(tmp_path):
    durations = [(24000, 1.5), (44100, 2.25), (24000, 0.8)]
    cols = upstream_rows([{'bytes': wav_bytes(sr, s, 200 + 50 * i), 'path': f'mmlu@{i + 1}.wav'}
                          for i, (sr, s) in enumerate(durations)])
    src = save_dataset(cols, tmp_path / 'released', split='train')
    out = tmp_path / 'out'
    result = run(parse(['upstream', '--source', str(src), '--out', str(out), '--no-progress']))
    rows = read_rows(out / 'train.jsonl')
    assert [r['question_id'] for r in rows] == ['mmlu@1', 'mmlu@2', 'mmlu@3']
    for row, (sr, seconds), prompt, gold in zip(rows, durations, cols['prompt_for_tts'], cols['answer_index']):
        validate_row(row, 'out', num_options=4)
        assert row['text_query'] == prompt and row['solution'] == 'ABCD'[gold]
        assert row['source'] == 'mmlu_auxiliary_train'
        info = sf.info(row['audios'][0])
        assert info.samplerate == 16000 and abs(info.frames - round(sr * seconds) * 16000 / sr) <= 1
    manifest = json.loads((out / 'train.manifest.json').read_text())
    assert manifest['counts'] == {'source_records': 3, 'rows': 3, 'resumed': 0, 'new': 3, 'skipped': {}}
    assert manifest['audio']['files'] == 3 and abs(manifest['audio']['max_s'] - 2.25) < 1e-3
    assert result.rows == 3
    # rerun: nothing redone, no duplicate wav
    again = run(parse(['upstream', '--source', str(src), '--out', str(out), '--no-progress']))
    assert again.new_rows == 0 and again.manifest['counts']['resumed'] == 3
    assert read_rows(out / 'train.jsonl') == rows and len(wav_files(out)) == 3


def test_upstream_builder_errors_and_skips(tmp_path):
    cols = upstream_rows([{'bytes': wav_bytes(24000, 0.5), 'path': 'a.wav'}, {'bytes': b'garbage', 'path': 'b.wav'},
                          {'bytes': wav_bytes(24000, 0.5, 300), 'path': 'c.wav'}])
    cols['options'][2] = ['only', 'three', 'options']
    src = save_dataset(cols, tmp_path / 'released')
    out = tmp_path / 'out'
    with pytest.raises(BuildError) as e:
        run(parse(['upstream', '--source', str(src), '--out', str(out), '--no-progress', '--workers', '1']))
    message = str(e.value)
    assert f"{src} [train] row 1 (question_id='mmlu@2'): unreadable audio" in message or \
        f"{src} [train] row 2 (question_id='mmlu@3'): wrong option count" in message
    assert '--skip-invalid' in message
    result = run(parse(['upstream', '--source', str(src), '--out', str(out), '--no-progress', '--skip-invalid']))
    assert [r['question_id'] for r in read_rows(result.path)] == ['mmlu@1']
    assert result.manifest['counts']['skipped'] == {'invalid': 2}
    assert len(result.manifest['skipped_examples']) == 2


# --- VoiceBench ----------------------------------------------------------------------------------------------

def test_parse_prompt_keeps_multi_line_questions_and_ignores_option_like_question_lines():
    prompt = ('A. Smith argued that contracts bind.\nB. Jones replied that they do not.\nWhich view is older?\n'
              'A. Smith\nB. Jones\nC. both\nD. neither\n'
              'What is the answer to the above multiple choice question? Select one of the following: A, B, C, or D.')
    question, options = parse_prompt(prompt)
    assert question == 'A. Smith argued that contracts bind.\nB. Jones replied that they do not.\nWhich view is older?'
    assert options == ['Smith', 'Jones', 'both', 'neither']
    # a question line that starts like an option, right before the real options
    question, options = parse_prompt('A. Lincoln was president in\nA. 1861\nB. 1901\nC. 1950\nD. 2001\nWhat is it?')
    assert question == 'A. Lincoln was president in' and options == ['1861', '1901', '1950', '2001']
    # options out of order are not an option block
    with pytest.raises(RowError, match='no option lines'):
        parse_prompt('Pick one\nB. x\nA. y')
    with pytest.raises(RowError, match='empty question'):
        parse_prompt('A. x\nB. y\nC. z\nD. w')


def test_voicebench_fields_mmsu_and_obqa():
    prompt = voicebench_prompt('Which law?\nChoose carefully.', ['tort', 'contract', 'crime', 'equity'])
    mmsu = {'prompt': prompt, 'reference': 'C', 'src': 'ori_mmlu-jurisprudence', 'question_id': 886,
            'category': 'law', 'cot_content': ''}
    f = voicebench_fields(mmsu, index=0, where='vb [law] row 0', split='law')
    assert f == {'question_id': 'ori_mmlu-jurisprudence_886', 'question': 'Which law?\nChoose carefully.',
                 'options': ['tort', 'contract', 'crime', 'equity'], 'solution': 'C', 'text_query': prompt,
                 'subject': 'law', 'source': 'voicebench_mmsu'}
    obqa = {'prompt': voicebench_prompt('Predators eat', ['lions', 'humans', 'bunnies', 'grass']), 'reference': 'C'}
    f = voicebench_fields(obqa, index=17, where='vb [test] row 17')
    assert (f['question_id'], f['solution'], f['subject'], f['source']) == ('obqa_17', 'C', None,
                                                                            'voicebench_openbookqa')
    with pytest.raises(RowError, match=r"vb \[test\] row 3 \(question_id='obqa_3'\): gold answer 'E' is not among"):
        voicebench_fields(dict(obqa, reference='E'), index=3, where='vb [test] row 3')
    three = {'prompt': voicebench_prompt('Q?', ['a', 'b', 'c']), 'reference': 'A'}
    with pytest.raises(RowError, match='wrong option count: expected 4 options, got 3'):
        voicebench_fields(three, index=0, where='vb [test] row 0')


def test_voicebench_builder_on_local_splits(tmp_path):
    def split(domain, n, offset):
        return {'prompt': [voicebench_prompt(f'{domain} question {i}?', ['w', 'x', 'y', 'z']) for i in range(n)],
                'reference': ['ABCD'[i % 4] for i in range(n)], 'question_id': [offset + i for i in range(n)],
                'src': [f'ori_mmlu-{domain}'] * n, 'category': [domain] * n, 'cot_content': [''] * n,
                'audio': [{'bytes': wav_bytes(16000, 0.3 + 0.1 * i, 250 + offset + i), 'path': None}
                          for i in range(n)]}

    src = save_splits({'law': split('law', 2, 0), 'physics': split('physics', 3, 100)}, tmp_path / 'vb')
    result = run(parse(['voicebench', '--subset', 'mmsu', '--source', str(src), '--out', str(tmp_path / 'eval'),
                        '--no-progress']))
    rows = read_rows(result.path)
    assert result.path.name == 'mmsu.jsonl'
    assert [r['question_id'] for r in rows] == ['ori_mmlu-law_0', 'ori_mmlu-law_1', 'ori_mmlu-physics_100',
                                                'ori_mmlu-physics_101', 'ori_mmlu-physics_102']
    assert [r['subject'] for r in rows] == ['law'] * 2 + ['physics'] * 3
    assert rows[2]['text_query'].endswith('Select one of the following: A, B, C, or D.')
    assert [round(sf.info(r['audios'][0]).frames / 16000, 3) for r in rows] == [0.3, 0.4, 0.3, 0.4, 0.5]
    # the OBQA layout (prompt, reference, audio only) and an explicit split
    prompt = voicebench_prompt('Predators eat', ['lions', 'humans', 'bunnies', 'grass'])
    obqa = save_splits({'test': {'prompt': [prompt],
                                 'reference': ['C'],
                                 'audio': [{'bytes': wav_bytes(16000, 0.5), 'path': None}]}}, tmp_path / 'obqa')
    result = run(parse(['voicebench', '--subset', 'openbookqa', '--source', str(obqa), '--split', 'test',
                        '--out', str(tmp_path / 'eval'), '--no-progress']))
    (row, ) = read_rows(result.path)
    assert (row['question_id'], row['solution'], row['options'][2]) == ('obqa_0', 'C', 'bunnies')


def test_hub_sources_fail_offline_with_a_way_out(tmp_path):
    with pytest.raises(RowError, match=r"could not load 'hlt-lab/voicebench' \(config 'openbookqa'\) from the Hugging "
                       r"Face hub: .*save_to_disk\(DIR\)`\) and pass --source DIR"):
        run(parse(['voicebench', '--subset', 'openbookqa', '--out', str(tmp_path / 'o'), '--no-progress']))
