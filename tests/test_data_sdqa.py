"""Open rows and ``build-data voicebench --subset sd-qa`` on a local stand-in shaped like the ``sd-qa`` config of
``hlt-lab/voicebench`` (``audio``, ``prompt``, ``reference``; one split per accent)."""
import json
from pathlib import Path

import pytest
import soundfile as sf

from data_builders.cli import main, parse, run
from data_builders.pipeline import BuildError
from swift_tars.data.open_rows import OPEN_COLUMNS, make_open_row, open_row_problems, references_of, validate_open_row
from swift_tars.data.rows import RowError
from swift_tars.data.voicebench import CONFIGS, SDQA_SPLITS, sdqa_fields
from swift_tars.testing.data import save_splits, wav_bytes

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')


def accent_split(accent: str, n: int, freq: float, references=None) -> dict:
    """``n`` rows of one accent: a tone per row (rates 16, 22.05, 44.1 kHz; stereo for the last), its texts."""
    rates = (16000, 22050, 44100)
    return {'audio': [{'bytes': wav_bytes(rates[i % 3], 0.2 + 0.1 * i, freq + 10 * i, channels=1 + (i == 2)),
                       'path': None} for i in range(n)],
            'prompt': [f' {accent} question {i}? ' for i in range(n)],
            'reference': references or [f'{accent} answer {i}' for i in range(n)]}


def standin(out: Path, **splits) -> Path:
    return save_splits(splits, out)


def read_rows(path: Path):
    return [json.loads(line) for line in path.read_text(encoding='utf-8').splitlines()]


def build_args(src: Path, out: Path, *extra: str):
    return parse(['voicebench', '--subset', 'sd-qa', '--source', str(src), '--out', str(out), '--no-progress',
                  *extra])


# --- the schema ------------------------------------------------------------------------------------------------

def test_sdqa_is_its_own_config():
    assert CONFIGS == ('mmsu', 'openbookqa')  # the MCQ configs are unchanged
    assert len(SDQA_SPLITS) == 11 and {'usa', 'ind_n', 'zaf'} <= set(SDQA_SPLITS)


def test_sdqa_fields_and_their_errors():
    f = sdqa_fields({'prompt': ' Who? \n', 'reference': ' Him '}, index=7, where='vb [gbr] row 7', split='gbr')
    assert f == {'question_id': 'sdqa_gbr_7', 'text_query': 'Who?', 'reference': 'Him', 'accent': 'gbr',
                 'source': 'voicebench_sd_qa'}
    with pytest.raises(RowError, match=r"vb \[nga\] row 2 \(question_id='sdqa_nga_2'\): empty or missing "
                       r'"reference"'):
        sdqa_fields({'prompt': 'Q?', 'reference': '  '}, index=2, where='vb [nga] row 2', split='nga')
    with pytest.raises(RowError, match=r"question_id='sdqa_usa_0'\): empty or missing \"prompt\""):
        sdqa_fields({'reference': 'A'}, index=0, where='w', split='usa')


# --- open rows -------------------------------------------------------------------------------------------------

def test_open_row_problems_hand_cases(tmp_path):
    wav = tmp_path / 'a.wav'
    wav.write_bytes(wav_bytes(16000, 0.2))
    good = make_open_row(audio=str(wav), text_query='Who wrote Hamlet?', reference='Shakespeare', question_id='q1',
                         accent='usa', source=None)
    assert set(good) == set(OPEN_COLUMNS) | {'accent'}
    assert open_row_problems(good) == [] and validate_open_row(good) is good
    several = dict(good, reference=['Shakespeare', 'William Shakespeare'])
    assert open_row_problems(several) == []
    assert references_of(several) == ['Shakespeare', 'William Shakespeare'] and references_of(good) == ['Shakespeare']
    assert open_row_problems(dict(good, reference=[])) == [
        'reference is an empty list: give at least one acceptable answer']
    assert open_row_problems(dict(good, reference=['Shakespeare', 3]))[0].startswith(
        "reference list holds empty or non-string answer(s) [3]")
    assert open_row_problems(dict(good, reference=' ')) == [
        'reference (the reference answer) is empty: give the expected answer']
    assert open_row_problems(dict(good, reference={'a': 1}))[0].startswith('reference must be a string or a list')
    missing = {k: v for k, v in good.items() if k != 'reference'}
    assert open_row_problems(missing)[0].startswith("missing column(s) ['reference']; an open row needs")
    assert open_row_problems(dict(good, question_id=True)) == ['question_id must be a non-empty string, got True']
    assert open_row_problems(dict(good, question_id=' ')) == ["question_id must be a non-empty string, got ' '"]
    assert open_row_problems(dict(good, text_query='')) == [
        'text_query (the question as text) is empty: give the question']
    assert open_row_problems(['not', 'a', 'row']) == ['expected a JSON object, got list']
    gone = dict(good, audios=[str(tmp_path / 'gone.wav')])
    assert open_row_problems(gone, check_audio=False) == []
    assert open_row_problems(gone) != []
    with pytest.raises(RowError, match=r"^f line 4 \(question_id='q1'\): reference is an empty list"):
        validate_open_row(dict(good, reference=[]), 'f line 4')


# --- build-data voicebench --subset sd-qa ----------------------------------------------------------------------

def test_sdqa_builder_on_a_local_standin(tmp_path):
    src = standin(tmp_path / 'sdqa', usa=accent_split('usa', 3, 300), ind_n=accent_split('ind_n', 3, 500))
    out = tmp_path / 'eval'
    result = run(build_args(src, out))
    assert result.path == out / 'sd-qa.jsonl' and result.rows == 6 and result.new_rows == 6
    rows = read_rows(result.path)
    assert [r['question_id'] for r in rows] == [f'sdqa_{a}_{i}' for a in ('usa', 'ind_n') for i in range(3)]
    assert [r['accent'] for r in rows] == ['usa'] * 3 + ['ind_n'] * 3
    assert [r['reference'] for r in rows] == [f'{a} answer {i}' for a in ('usa', 'ind_n') for i in range(3)]
    assert rows[4]['text_query'] == 'ind_n question 1?' and {r['source'] for r in rows} == {'voicebench_sd_qa'}
    assert not any('messages' in r or 'solution' in r for r in rows)
    for row, seconds in zip(rows, (0.2, 0.3, 0.4) * 2):
        validate_open_row(row, 'sd-qa.jsonl')
        wav = Path(row['audios'][0])
        assert wav.is_file() and wav.is_absolute() and out / 'wav' in wav.parents
        info = sf.info(str(wav))
        assert (info.samplerate, info.channels) == (16000, 1) and abs(info.frames / 16000 - seconds) < 1e-3
    assert len({r['audios'][0] for r in rows}) == 6  # different tones: different content-addressed wavs
    manifest = json.loads((out / 'sd-qa.manifest.json').read_text())
    assert manifest['settings']['row_format'] == 'open' and manifest['settings']['config'] == 'sd-qa'
    assert manifest['counts']['rows'] == 6
    # a rerun resumes: nothing converted again, the same rows
    before = {p: p.stat().st_mtime_ns for p in (out / 'wav').rglob('*.wav')}
    again = run(build_args(src, out))
    assert (again.rows, again.new_rows, again.manifest['counts']['resumed']) == (6, 0, 6)
    assert read_rows(again.path) == rows
    assert {p: p.stat().st_mtime_ns for p in (out / 'wav').rglob('*.wav')} == before


def test_sdqa_split_selects_one_accent(tmp_path):
    src = standin(tmp_path / 'sdqa', usa=accent_split('usa', 3, 300), ind_n=accent_split('ind_n', 2, 500))
    result = run(build_args(src, tmp_path / 'eval', '--split', 'ind_n', '--name', 'ind'))
    rows = read_rows(result.path)
    assert result.path.name == 'ind.jsonl'
    assert [r['question_id'] for r in rows] == ['sdqa_ind_n_0', 'sdqa_ind_n_1']
    assert {r['accent'] for r in rows} == {'ind_n'}


def test_sdqa_row_with_an_empty_reference_is_refused(tmp_path, capsys):
    bad = accent_split('nga', 3, 300, references=['ok 0', '  ', 'ok 2'])
    src = standin(tmp_path / 'sdqa', usa=accent_split('usa', 1, 200), nga=bad)
    with pytest.raises(BuildError, match=r"\[nga\] row 1 \(question_id='sdqa_nga_1'\): empty or missing "
                       r'"reference" \(the reference answer\)'):
        run(build_args(src, tmp_path / 'eval'))
    assert main(build_args(src, tmp_path / 'eval')) == 1
    assert "question_id='sdqa_nga_1'" in capsys.readouterr().err
    # --skip-invalid counts and skips it; the other rows are built
    result = run(build_args(src, tmp_path / 'skip', '--skip-invalid'))
    assert [r['question_id'] for r in read_rows(result.path)] == ['sdqa_usa_0', 'sdqa_nga_0', 'sdqa_nga_2']
    assert result.manifest['counts']['skipped'] == {'invalid': 1}
    assert "question_id='sdqa_nga_1'" in result.manifest['skipped_examples'][0]
