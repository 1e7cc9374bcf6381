"""The ASR diagnostic: WER with Whisper's English normaliser (hand-computed values), ASR rows,
``build-data librispeech`` on a local stand-in shaped like ``openslr/librispeech_asr``, and ``swift-tars eval
--task asr`` on the tiny model with espeak-spoken sentences of known text (resumed: nothing regenerated)."""
import json
import subprocess
from pathlib import Path

import pytest
import soundfile as sf

from data_builders.cli import parse, run
from swift_tars.data.asr_rows import asr_row_problems, validate_asr_row
from swift_tars.data.rows import RowError
from swift_tars.evaluation.wer import corpus_wer, normalize, score_transcript, word_counts
from swift_tars.testing.data import save_splits, wav_bytes

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')
SENTENCES = ['HE HOPED THERE WOULD BE STEW FOR DINNER', 'THE CAT SAT ON THE MAT',
             'TWENTY FIVE DOLLARS IS TOO MUCH FOR A BOOK']


# --- WER, by hand ----------------------------------------------------------------------------------------------

def test_wer_hand_computed():
    # reference "the cat sat" (3 words), hypothesis adds "down": 1 insertion -> 1/3
    one = score_transcript('The cat sat.', 'the cat sat down')
    assert (one['substitutions'], one['deletions'], one['insertions'], one['reference_words']) == (0, 0, 1, 3)
    assert one['wer'] == pytest.approx(100 / 3)
    # reference "the cat sat down" (4 words), hypothesis drops "down": 1 deletion -> 1/4
    two = score_transcript('THE CAT SAT DOWN', 'the cat sat')
    assert (two['substitutions'], two['deletions'], two['insertions'], two['wer']) == (0, 1, 0, 25.0)
    # "a b c d" vs "a x c": b -> x substituted, d deleted -> 2/4
    three = score_transcript('a b c d', 'a x c')
    assert (three['substitutions'], three['deletions'], three['insertions'], three['wer']) == (1, 1, 0, 50.0)
    # corpus WER = all edits / all reference words = (1 + 1 + 2) / (3 + 4 + 4) = 4/11, not the mean of the items
    total = corpus_wer([one, two, three])
    assert (total['errors'], total['reference_words'], total['n']) == (4, 11, 3)
    assert total['wer'] == pytest.approx(400 / 11)  # 36.36 %, while the item mean is 36.11 %


def test_whisper_normaliser_is_applied_to_both_sides():
    assert normalize("Mr. Smith's colour, twenty-five dollars!") == 'mister smith is color $25'
    # case, punctuation, British spelling and spelled-out numbers are not errors
    same = score_transcript('TWENTY FIVE DOLLARS FOR THE COLOUR', 'Twenty-five dollars for the color.')
    assert same['errors'] == 0 and same['wer'] == 0.0
    assert same['reference_norm'] == same['hypothesis_norm'] == '$25 for the color'
    # an empty transcription: every reference word deleted; an empty reference: insertions, no WER
    assert word_counts('a b c', '') == {'reference_words': 3, 'substitutions': 0, 'deletions': 3, 'insertions': 0,
                                        'errors': 3}
    assert score_transcript('hmm', 'hello there')['wer'] is None  # "hmm" is a filler the normaliser removes
    assert corpus_wer([score_transcript('a b', '')])['empty_hypotheses'] == 1


def test_hypothesis_is_the_answer_of_a_reasoning_policy():
    from swift_tars.evaluation.asr import hypothesis_of

    assert hypothesis_of('<think>it is about a cat</think><answer>The cat sat.</answer>') == 'The cat sat.'
    assert hypothesis_of('<think>a cat</think>the cat sat') == 'the cat sat'
    assert hypothesis_of('<answer>the cat') == 'the cat'  # cut by the token limit
    assert hypothesis_of('the<answer></answer> cat') == ''  # an empty answer is an empty transcription
    assert normalize(hypothesis_of('<think>x</think><answer>TWENTY FIVE</answer>')) == '25'


def test_asr_row_problems_name_the_fix(tmp_path):
    wav = tmp_path / 'a.wav'
    wav.write_bytes(wav_bytes(16000, 0.2))
    good = {'audios': [str(wav)], 'transcript': 'HELLO', 'question_id': 'x'}
    assert asr_row_problems(good) == []
    no_text = asr_row_problems({'audios': [str(wav)], 'question_id': 'x'})
    assert no_text[0].startswith("missing column(s) ['transcript']")
    corrupt = tmp_path / 'corrupt.wav'
    corrupt.write_bytes(b'RIFF\x00\x00garbage that is no wav')
    with pytest.raises(RowError, match=r"f line 2 \(question_id='x'\): audio file .*corrupt.wav is not readable audio"):
        validate_asr_row(dict(good, audios=[str(corrupt)]), 'f line 2')


# --- build-data librispeech on a local stand-in ----------------------------------------------------------------

def espeak_wav(text: str, path: Path) -> bytes:
    """``text`` spoken by espeak-ng (22,050 Hz mono wav); its bytes."""
    subprocess.run(['espeak-ng', '-w', str(path), text.lower()], check=True, capture_output=True)
    return path.read_bytes()


def librispeech_standin(out: Path, texts, audio_bytes) -> Path:
    """A local ``save_to_disk`` folder with the columns of ``openslr/librispeech_asr`` (split ``test``)."""
    n = len(texts)
    ids = [f'1089-134686-{i:04d}' for i in range(n)]
    columns = {'file': [f'{i}.flac' for i in ids], 'audio': [{'bytes': b, 'path': None} for b in audio_bytes],
               'text': list(texts), 'speaker_id': [1089] * n, 'chapter_id': [134686] * n, 'id': ids}
    return save_splits({'test': columns}, out)


def build_spoken_set(tmp_path: Path) -> Path:
    """The espeak-spoken :data:`SENTENCES` as ASR rows, through ``build-data librispeech``."""
    audio = [espeak_wav(t, tmp_path / f'espeak-{i}.wav') for i, t in enumerate(SENTENCES)]
    src = librispeech_standin(tmp_path / 'librispeech', SENTENCES, audio)
    return run(parse(['librispeech', '--source', str(src), '--split', 'test', '--out', str(tmp_path / 'asr'),
                      '--no-progress'])).path


def test_librispeech_builder_on_a_local_standin(tmp_path):
    audio = [wav_bytes(16000, 0.4, 300, fmt='FLAC'), wav_bytes(22050, 0.5, 400), wav_bytes(44100, 0.3, 500, channels=2)]
    src = librispeech_standin(tmp_path / 'ls', ['HELLO WORLD', 'GOOD MORNING ', 'ONE TWO THREE'], audio)
    args = ['librispeech', '--source', str(src), '--split', 'test', '--out', str(tmp_path / 'out'), '--no-progress']
    result = run(parse(args))
    assert result.path.name == 'test-clean.jsonl' and result.new_rows == 3
    rows = [json.loads(line) for line in result.path.read_text().splitlines()]
    assert [r['question_id'] for r in rows] == [f'librispeech-1089-134686-{i:04d}' for i in range(3)]
    assert [r['transcript'] for r in rows] == ['HELLO WORLD', 'GOOD MORNING', 'ONE TWO THREE']
    assert rows[0]['source'] == 'librispeech_clean_test' and rows[0]['speaker_id'] == 1089
    for row, seconds in zip(rows, (0.4, 0.5, 0.3)):
        validate_asr_row(row, 'out')
        info = sf.info(row['audios'][0])
        assert (info.samplerate, info.channels) == (16000, 1) and abs(info.frames / 16000 - seconds) < 1e-3
    assert run(parse(args)).new_rows == 0  # a rerun resumes: nothing converted again
    bad = librispeech_standin(tmp_path / 'bad', ['HELLO', ' '], audio[:2])
    with pytest.raises(Exception, match=r"row 1 \(question_id='librispeech-1089-134686-0001'\): empty \"text\""):
        run(parse(['librispeech', '--source', str(bad), '--out', str(tmp_path / 'bad-out'), '--no-progress']))


# --- swift-tars eval --task asr on the tiny model ------------------------------------------------------------



def test_eval_task_asr_on_the_tiny_model(tiny_omni, tmp_path, capsys):
    from swift_tars.evaluation import eval_cli
    from swift_tars.evaluation.asr import hypothesis_of
    from swift_tars.evaluation.engine import create_engine

    eval_file, out = build_spoken_set(tmp_path), tmp_path / 'eval'
    argv = eval_cli.parse(['--task', 'asr', '--model', str(tiny_omni), '--model_type', 'qwen2_5_omni',
                           '--torch_dtype',
                  'float32', '--eval_sets', f'espeak={eval_file}', '--output_dir', str(out), '--batch_size', '2',
                  '--max_new_tokens', '12', '--no_progress'])
    engines = []

    def factory():
        engines.append(create_engine(str(tiny_omni), model_type='qwen2_5_omni', torch_dtype='float32', batch_size=2))
        return engines[-1]

    assert eval_cli.main(argv, engine_factory=factory) == 0
    printed = capsys.readouterr().out
    records = [json.loads(line) for line in (out / 'predictions.jsonl').read_text().splitlines()]
    assert [r['reference'] for r in records] == SENTENCES and {r['mode'] for r in records} == {'speech'}
    for r in records:  # every item scored against the normalised reference, exactly as the WER function does
        assert r['hypothesis'] == hypothesis_of(r['completion']) and r['reference_norm'] == normalize(r['reference'])
        assert r['hypothesis_norm'] == normalize(r['hypothesis'])
        assert {k: r[k] for k in word_counts('', '')} == word_counts(r['reference_norm'], r['hypothesis_norm'])
    assert records[2]['reference_norm'] == '$25 is too much for a book'
    summary = json.loads((out / 'summary.json').read_text())
    block = summary['sets']['espeak']
    assert block['n'] == 3 and block['reference_words'] == sum(r['reference_words'] for r in records) == 21
    assert block['wer'] == pytest.approx(100 * sum(r['errors'] for r in records) / 21)
    assert summary['run']['task'] == 'asr' and summary['counts']['generated'] == 3
    assert '| espeak | 3 | 21 |' in printed and (out / 'summary.md').read_text() in printed

    # rerun: everything is in predictions.jsonl, no model is loaded, the same summary
    assert eval_cli.main(argv, engine_factory=factory) == 0
    assert '3 of 3 answers already in' in capsys.readouterr().out and len(engines) == 1
    again = json.loads((out / 'summary.json').read_text())
    assert again['sets'] == summary['sets'] and again['counts']['generated'] == 0
    # an edited reference transcript is re-scored, not regenerated
    rows = [json.loads(line) for line in eval_file.read_text().splitlines()]
    rows[0]['transcript'] = 'HE HOPED'
    eval_file.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    assert eval_cli.main(argv, engine_factory=factory) == 0 and len(engines) == 1
    third = json.loads((out / 'summary.json').read_text())
    assert third['counts']['rescored'] == 1 and third['sets']['espeak']['reference_words'] == 21 - 6
