"""The ``mmlu`` builder: blank rewriting, espeak TTS, filters, decontamination, ASR QC, errors, resume."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import soundfile as sf

from data_builders import asr as asr_module
from data_builders.cli import parse, run
from data_builders.mmlu import rewrite_blanks
from data_builders.pipeline import BuildError
from data_builders.speak import Speaker, speech_script
from data_builders.tts.base import TTSBackend
from swift_tars.data.rows import validate_row
from swift_tars.prompts import tars_text_prompt
from swift_tars.testing.data import mc_questions, voicebench_prompt, write_jsonl

REPO = Path(__file__).resolve().parents[1]


def read_rows(path):
    return [json.loads(line) for line in open(path, encoding='utf-8')]


def build(*argv):
    return run(parse(['mmlu', *argv, '--no-progress']))


@pytest.mark.parametrize('question, spoken', [
    ('The sun rises in the ___.', 'The sun rises in the  what?'),
    ('The ___ is hot.', 'The  what  is hot.'),
    ('___ is to ___ as hot is to cold.', ' first blank  is to  second blank  as hot is to cold.'),
    ('The ___ of the ___.', 'The  what  of the  what?'),  # the final blank first, then the single one left
    ('A single _ underscore and snake_case stay.', 'A single _ underscore and snake_case stay.'),
    ('__ ' * 11 + 'end', ''.join(f' {o} blank  ' for o in ['first', 'second', 'third', 'fourth', 'fifth', 'sixth',
                                                           'seventh', 'eighth', 'ninth', 'tenth', 'first']) + 'end'),
])
def test_rewrite_blanks_matches_upstream(question, spoken):
    assert rewrite_blanks(question) == spoken


def test_speech_script_adds_clause_pauses():
    assert speech_script('Which animal barks?\n\nOption A: cat\nOption B: dog.') == \
        'Which animal barks?\nOption A: cat.\nOption B: dog.'


def test_mmlu_build_from_local_jsonl_with_espeak(tmp_path, capsys):
    questions = mc_questions(4)
    questions[1]['question'] = 'The river flows into the ___.'
    questions[2] = {'question': 'Answer given as an index?', 'choices': ['w', 'x', 'y', 'z'], 'answer_index': 2}
    questions.append({'question': 'x' * 300, 'options': ['a', 'b', 'c', 'd'], 'answer': 'A', 'question_id': 'long'})
    source = write_jsonl(tmp_path / 'mcq.jsonl', questions)
    out = tmp_path / 'built'
    result = build('--source', str(source), '--tts', 'espeak', '--out', str(out), '--max-chars', '250')
    rows = read_rows(out / 'train.jsonl')
    assert [r['question_id'] for r in rows] == ['q000', 'q001', 'mcq@3', 'q003']  # 'long' filtered out
    assert rows[1]['text_query'] == tars_text_prompt('The river flows into the  what?', questions[1]['options'])
    assert rows[1]['question'] == 'The river flows into the ___.'
    assert [r['solution'] for r in rows] == ['A', 'B', 'C', 'D']
    assert [r.get('subject') for r in rows] == ['biology', 'physics', None, 'biology']
    for row in rows:
        validate_row(row, 'built', num_options=4)
        assert os.path.isabs(row['audios'][0]) and sf.info(row['audios'][0]).duration > 2.0
    m = result.manifest
    assert m['counts'] == {'source_records': 5, 'rows': 4, 'resumed': 0, 'new': 4, 'skipped': {'too_long': 1}}
    assert m['settings']['tts']['backend'] == 'espeak' and m['settings']['max_chars'] == 250
    assert m['audio']['files'] == 4 and m['audio']['sample_rate'] == 16000 and m['audio']['min_s'] > 2.0
    assert m['voices']['distinct'] >= 2  # speakers differ between questions
    assert m['this_run']['rows_per_s'] > 0
    with capsys.disabled():  # into the CI log
        print(f"\n[espeak build: {m['this_run']['rows_per_s']} rows/s with {m['this_run']['workers']} workers]")
    # the output folder loads as a dataset of exactly these rows (the dataset card hides wavs and manifests)
    import datasets
    loaded = datasets.load_dataset(str(out), split='train')
    assert loaded['question_id'] == [r['question_id'] for r in rows]
    # changed settings are refused unless --overwrite
    with pytest.raises(BuildError, match=r'other settings \(changed: max_chars\).*--overwrite'):
        build('--source', str(source), '--out', str(out), '--max-chars', '2000')
    result = build('--source', str(source), '--out', str(out), '--max-chars', '2000', '--overwrite')
    assert result.rows == 5 and result.new_rows == 5
    assert len(list((out / 'wav').rglob('*.wav'))) == 5  # the four cached wavs reused, one new


def test_decontamination_drops_and_counts_eval_questions(tmp_path):
    questions = mc_questions(5)
    questions[1]['question'] = 'There is most likely going to be fog around:'
    questions[3]['question'] = 'Which law applies here?'
    source = write_jsonl(tmp_path / 'train.jsonl', questions)
    obqa = write_jsonl(tmp_path / 'obqa.jsonl', [  # the raw VoiceBench layout
        {'prompt': voicebench_prompt('There is most likely going to be FOG around',
                                     ['a marsh', 'a tundra', 'the plains', 'a desert']), 'reference': 'A'}])
    mmsu = write_jsonl(tmp_path / 'mmsu.jsonl', [  # row-format eval rows carry `question`
        {'question': 'Which  law applies   here', 'text_query': 'Which law applies here?\nA. x', 'solution': 'A'},
        {'question': 'Unrelated?', 'text_query': 'Unrelated?\nA. x', 'solution': 'A'}])
    out = tmp_path / 'built'
    result = build('--source', str(source), '--out', str(out), '--exclude', str(obqa), str(mmsu))
    assert [r['question_id'] for r in read_rows(result.path)] == ['q000', 'q002', 'q004']
    assert result.manifest['counts']['skipped'] == {'contaminated': 2}
    d = result.manifest['decontamination']
    assert d['dropped'] == {'obqa.jsonl': 1, 'mmsu.jsonl': 1} and d['dropped_total'] == 2
    assert [s['questions'] for s in d['eval_sets']] == [1, 2]


@pytest.mark.parametrize('bad, message', [
    ({'question': 'Q?', 'options': ['a', 'b', 'c'], 'answer': 'A'}, 'wrong option count: expected 4 options, got 3'),
    ({'question': 'Q?', 'options': ['a', 'b', 'c', 'd'], 'answer': 'E'}, "gold answer 'E' is not among the options"),
    ({'question': 'Q?', 'options': ['a', 'b', 'c', 'd'], 'answer': 'z'}, "gold answer 'z' is not among the options"),
    ({'question': 'Q?', 'options': ['a', 'b', 'c', 'd'], 'answer': 7}, 'gold answer 7 is not among the options'),
    ({'question': ' ', 'options': ['a', 'b', 'c', 'd'], 'answer': 'A'}, 'empty question'),
    ({'question': 'Q?', 'options': ['a', 'b', 'c', 'd']}, 'no gold answer'),
    ('{not json', 'not valid JSON'),
])
def test_mmlu_errors_name_file_and_line(tmp_path, bad, message):
    source = tmp_path / 'src.jsonl'
    lines = [json.dumps(q) for q in mc_questions(2)]
    lines.insert(1, bad if isinstance(bad, str) else json.dumps(bad))
    source.write_text('\n'.join(lines) + '\n')
    with pytest.raises(BuildError) as e:
        build('--source', str(source), '--out', str(tmp_path / 'out'))
    assert f'{source} line 2' in str(e.value) and message in str(e.value)
    result = build('--source', str(source), '--out', str(tmp_path / 'out'), '--skip-invalid')
    assert result.rows == 2 and result.manifest['counts']['skipped'] == {'invalid': 1}
    assert f'{source} line 2' in result.manifest['skipped_examples'][0]


def test_duplicate_question_ids_are_an_error(tmp_path):
    questions = mc_questions(3)
    questions[2]['question_id'] = questions[0]['question_id']
    source = write_jsonl(tmp_path / 'dup.jsonl', questions)
    with pytest.raises(BuildError, match=r"dup\.jsonl line 3: duplicate question_id 'q000' \(first at .*line 1\)"):
        build('--source', str(source), '--out', str(tmp_path / 'out'))


class ScriptedTTS(TTSBackend):
    """Writes a short tone and remembers what it was asked to say."""
    name = 'scripted'

    def __init__(self):
        self.texts = []

    def synthesize(self, text, out_path, speaker=0):
        from swift_tars.data.audio import write_wav_atomic
        from swift_tars.testing.data import tone
        self.texts.append((text, speaker))
        write_wav_atomic(out_path, tone(16000, 0.25, 200 + len(self.texts)))
        return {'voice': f'v{speaker % 3}', 'duration_s': 0.25}


class ScriptedASR(asr_module.ASRBackend):
    """Mishears the first ``bad_takes`` takes, then returns exactly what the TTS said."""
    name = 'scripted'

    def __init__(self, tts, bad_takes):
        self.tts, self.bad_takes, self.calls = tts, bad_takes, 0

    def transcribe(self, wav_path):
        self.calls += 1
        return 'mumble mumble' if self.calls <= self.bad_takes else self.tts.texts[-1][0]


def test_asr_quality_control_keeps_the_best_take_and_its_transcript(tmp_path):
    tts = ScriptedTTS()
    speaker = Speaker(tts, tmp_path, asr=ScriptedASR(tts, bad_takes=1), max_wer=0.1, target_wer=0.05, takes=3)
    text = 'Which animal barks?\n\nOption A: cat\nOption B: dog\nOption C: cow\nOption D: fish'
    path, meta = speaker.speak('q1', text)
    assert meta['takes'] == [1.0, 0.0] and meta['wer'] == 0.0 and meta['transcript'] == tts.texts[1][0]
    assert tts.texts[0][1] != tts.texts[1][1]  # a deterministic backend retries with another voice
    assert sf.info(path).samplerate == 16000 and not list(tmp_path.rglob('.*'))  # the worse take is gone
    assert speaker.speak('q1', text) == (path, {**meta, 'voice': meta['voice'], 'duration_s': 0.25})  # cached
    assert len(tts.texts) == 2

    rejecting = Speaker(tts, tmp_path / 'r', asr=ScriptedASR(tts, bad_takes=99), takes=2)
    from data_builders.pipeline import SkipRow
    with pytest.raises(SkipRow, match=r'best WER 1\.000 > 0\.1 after 2 take'):
        rejecting.speak('q2', text)
    with pytest.raises(SkipRow):  # remembered: not synthesised again on a rerun
        rejecting.speak('q2', text)
    assert len(tts.texts) == 4


def test_asr_flags_through_the_builder(tmp_path, monkeypatch):
    class DeafASR(asr_module.ASRBackend):
        name = 'deaf'

        def __init__(self, model='none'):
            self.model = model

        def transcribe(self, wav_path):
            return ''

    monkeypatch.setitem(asr_module.ASR_BACKENDS, 'deaf', DeafASR)
    source = write_jsonl(tmp_path / 'src.jsonl', mc_questions(2))
    result = build('--source', str(source), '--out', str(tmp_path / 'out'), '--asr', 'deaf', '--tts-takes', '1')
    assert result.rows == 0 and result.manifest['counts']['skipped'] == {'asr_rejected': 2}
    assert result.manifest['settings']['asr_qc']['asr'] == {'backend': 'deaf'}


def test_word_error_rate():
    from data_builders.asr import script_wer, word_error_rate
    assert word_error_rate('The cat sat.', 'the cat sat') == 0.0
    assert word_error_rate('the cat sat on the mat', 'the cat sat on mat') == pytest.approx(1 / 6)
    assert word_error_rate('a b c', 'a x c d') == pytest.approx(2 / 3)
    assert word_error_rate("It isn't here", 'it is not here') == 0.0
    assert script_wer('Q? Option A: x. Option D: y.', 'q option a x') == 1.0  # cut before the last option


def test_build_killed_mid_run_and_rerun_yields_exactly_the_full_set(tmp_path, capsys):
    n = 30
    source = write_jsonl(tmp_path / 'src.jsonl', mc_questions(n))
    out = tmp_path / 'out'
    cmd = [sys.executable, '-m', 'data_builders.cli', 'mmlu', '--source', str(source), '--tts', 'espeak',
           '--tts-option', 'rates=300,350', '--out', str(out), '--workers', '2', '--no-progress']
    partial = out / '.train.partial.jsonl'
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if partial.exists() and partial.read_bytes().count(b'\n') >= 3:
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    done_before = partial.read_bytes().count(b'\n')
    assert not (out / 'train.jsonl').exists() and 3 <= done_before < n, 'the build must be killed mid-run'
    rerun = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = read_rows(out / 'train.jsonl')
    assert [r['question_id'] for r in rows] == [q['question_id'] for q in mc_questions(n)]  # all, once, in order
    for row in rows:
        info = sf.info(row['audios'][0])
        assert info.samplerate == 16000 and info.channels == 1 and info.frames > 16000
    wavs = list((out / 'wav').rglob('*.wav'))
    assert len(wavs) == n and not list((out / 'wav').rglob('.*'))  # no duplicate, no leftover temporary file
    manifest = json.loads((out / 'train.manifest.json').read_text())
    assert manifest['counts']['rows'] == n and manifest['counts']['resumed'] >= done_before
    assert manifest['counts']['resumed'] + manifest['counts']['new'] == n
    assert not partial.exists()
    with capsys.disabled():  # into the CI log
        print(f'\n[resume test: killed after {done_before} rows; rerun resumed {manifest["counts"]["resumed"]} and '
              f'made {manifest["counts"]["new"]} -> {len(rows)} rows, each once]')


def test_demo_dataset_is_built_by_the_mmlu_builder(demo_dataset):
    source = [json.loads(line) for line in
              (REPO / 'swift_tars' / 'resources' / 'demo_questions.jsonl').read_text().splitlines()]
    rows = read_rows(demo_dataset)
    assert [r['question_id'] for r in rows] == [q['question_id'] for q in source]
    assert [r['subject'] for r in rows] == [q['subject'] for q in source]
    assert [r['solution'] for r in rows] == [q['answer'] for q in source]
    for row in rows:
        assert os.path.isabs(row['audios'][0])
        validate_row(row, str(demo_dataset), num_options=4)
    manifest = json.loads((demo_dataset.parent / 'train.manifest.json').read_text())
    assert manifest['builder'] == 'mmlu' and manifest['settings']['tts']['backend'] == 'espeak'


def test_mmlu_layout_from_a_local_folder_and_limit_then_full_run(tmp_path):
    from swift_tars.testing.data import save_splits
    questions = mc_questions(3)
    # the cais/mmlu `auxiliary_train` config nests each row under "train"; answers are 0-based indices
    nested = [{'question': q['question'], 'choices': q['options'], 'answer': i % 4, 'subject': ''}
              for i, q in enumerate(questions)]
    src = save_splits({'auxiliary_train': {'train': nested}}, tmp_path / 'aux')
    out = tmp_path / 'out'
    first = build('--source', str(src), '--out', str(out), '--limit', '2')
    assert [r['question_id'] for r in read_rows(first.path)] == ['mmlu@1', 'mmlu@2']
    full = build('--source', str(src), '--out', str(out))  # a --limit run is resumed, not refused
    rows = read_rows(full.path)
    assert [r['question_id'] for r in rows] == ['mmlu@1', 'mmlu@2', 'mmlu@3']
    assert (full.manifest['counts']['resumed'], full.manifest['counts']['new']) == (2, 1)
    assert [r['solution'] for r in rows] == ['A', 'B', 'C'] and {r['source'] for r in rows} == {'mmlu_auxiliary_train'}
    assert all('subject' not in r for r in rows)  # MMLU's empty subject is left out
