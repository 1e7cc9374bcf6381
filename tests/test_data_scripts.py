"""TTS never speaks a script its voice cannot read: the check before any audio, ``--language auto``, the manifest."""
import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from data_builders.cli import parse, run
from data_builders.speak import Speaker, speech_script
from data_builders.tts import ScriptError, TTSError, get_backend
from data_builders.tts import scripts as scripts_module
from data_builders.tts.scripts import auto_language, espeak_scripts, needed_scripts, script_label
from swift_tars.testing.data import mc_questions, write_jsonl

SWIFT_TARS = str(Path(sys.executable).parent / 'swift-tars')
CHINESE = [
    {'question_id': 'zh0', 'question': '下列哪一种是水果？', 'options': ['苹果', '石头', '铁锅', '玻璃'], 'answer': 'A'},
    {'question_id': 'zh1', 'question': '太阳从哪个方向升？', 'options': ['东方', '西方', '南方', '北方'], 'answer': 'A'},
]


def test_docstring_examples():
    assert doctest.testmod(scripts_module).failed == 0


@pytest.mark.parametrize('text, needed', [
    ('Which animal barks? Option A: 12 dogs, 3.5 m/s, (x + y)^2 = 4!', ['Latin']),
    ('Option A: the resistance is 5 Ω, the length 3 µm and α = 0.3 in this long circuit', ['Latin']),  # incidental
    ('下列哪一种是水果？\nOption A: 苹果 (A) 1,000 元', ['Han', 'Latin']),  # template, digits, letters: still Han
    ('在Python中，list和tuple的区别是什么？', ['Han', 'Latin']),  # Latin-heavy Chinese still needs Han
    ('Какая планета ближе всего к Солнцу?', ['Cyrillic']),
    ('東京は日本の首都です。', ['Hiragana', 'Han']),
    ('ＦＵＬＬＷＩＤＴＨ', ['Latin']),
    ('12 + 34 = ?', []),
])
def test_needed_scripts(text, needed):
    assert sorted(needed_scripts(text)) == sorted(needed)


def test_voice_tables():
    assert espeak_scripts('en-us+m1') == {'Latin'} and espeak_scripts('cmn') == {'Han', 'Latin'}
    assert espeak_scripts('ja+f2') == {'Hiragana', 'Katakana', 'Latin'} and espeak_scripts('sr') == {'Cyrillic', 'Latin'}
    assert espeak_scripts('fa-latn') == {'Latin'} and espeak_scripts('fa') == {'Arabic', 'Latin'}
    installed = scripts_module.installed_languages()
    assert {'en-us', 'cmn', 'ru', 'ja'} <= installed
    assert [auto_language(s, installed) for s in (['Han', 'Latin'], ['Cyrillic'], ['Hiragana'], ['Latin'])] == \
        ['cmn', 'ru', 'ja', None]
    assert auto_language(['Han', 'Hiragana'], installed) is None  # espeak-ng ja reads kana, not kanji
    assert script_label(['Han', 'Latin']) == 'Han' and script_label(['Latin']) == 'Latin' and script_label([]) == 'none'


def test_the_english_voice_says_chinese_letter_and_the_mandarin_voice_does_not(tmp_path):
    """What the check prevents, measured on espeak-ng itself: an English voice gives two different Chinese
    questions the same audio ("Chinese letter" per character); the Mandarin voice reads them."""
    texts = [q['question'] for q in CHINESE]
    assert len(texts[0]) == len(texts[1])
    audio = {}
    for voice in ('en-us', 'cmn'):
        tts = get_backend('espeak', voices=[voice], variants=['m1'], rates=[160], pitches=[50])
        for i, text in enumerate(texts):
            tts.synthesize(text, tmp_path / f'{voice}{i}.wav')
            audio[voice, i] = sf.read(tmp_path / f'{voice}{i}.wav')[0]
        phonemes = subprocess.run(['espeak-ng', '-q', '-x', '-v', voice, texts[0]], capture_output=True,
                                  text=True).stdout
        assert ("tS'aIni:z" in phonemes) == (voice == 'en-us'), phonemes  # "Chinese letter"
    assert np.array_equal(audio['en-us', 0], audio['en-us', 1])
    assert not np.array_equal(audio['cmn', 0], audio['cmn', 1])


def _speaker(tmp_path, **options):
    return Speaker(get_backend('espeak', **options), tmp_path / 'wav')


def test_check_lists_every_row_with_its_script_voice_and_fix(tmp_path):
    rows = [(f'zh{i}', f'src.jsonl line {i + 1}', f'第{i}个问题是什么？\n\nOption A: 苹果') for i in range(23)]
    rows.insert(1, ('en0', 'src.jsonl line 99', 'Which animal barks?\n\nOption A: dog'))
    with pytest.raises(ScriptError) as error:
        _speaker(tmp_path).check_scripts(rows)
    message = str(error.value)
    assert message.startswith('23 row(s) are in a script their voice cannot read')
    assert "src.jsonl line 1 (question_id='zh0'): script Han (letters: Han " in message
    assert "(espeak) reads Latin only" in message and 'en0' not in message
    assert message.count('\n  src.jsonl') == 20 and '… and 3 more' in message
    assert message.endswith('Fix: pass --language auto (an espeak-ng voice per row; these rows would get cmn), or '
                            'choose voices that read Han: --tts-option voices=cmn.')
    assert not (tmp_path / 'wav').exists()  # no audio made
    auto = _speaker(tmp_path, language='auto')
    assert auto.check_scripts(rows) == {'Han': 23, 'Latin': 1}
    assert auto._voice(0, speech_script(rows[0][2]))['voice'].startswith('cmn+')
    assert auto._voice(0, 'Which animal barks?') == _speaker(tmp_path)._voice(0, 'Which animal barks?')


def test_auto_picks_a_voice_per_script_and_refuses_what_no_voice_reads(tmp_path):
    auto = _speaker(tmp_path, language='auto')
    for text, language in (('Какая планета ближе всего к Солнцу?', 'ru'), ('ひらがな と カタカナ です か', 'ja')):
        assert auto._voice(5, text)['voice'].split('+')[0] == language
    cmn_too = _speaker(tmp_path, language='auto', voices=['en-us', 'cmn'])
    assert {cmn_too._voice(s, '中文问题是什么')['voice'].split('+')[0] for s in range(8)} == {'cmn'}
    assert {cmn_too._voice(s, 'An English question')['voice'].split('+')[0] for s in range(8)} == {'en-us', 'cmn'}
    with pytest.raises(ScriptError, match=r"(?s)script Han\+Hiragana .*Fix: no installed espeak-ng voice reads "
                       r"Han\+Hiragana .*use --tts cosyvoice"):
        auto.check_scripts([('ja0', 'line 1', '東京は日本の首都ですか。')])
    with pytest.raises(TTSError, match=r"question_id='ja0': script Han\+Hiragana"):  # the guard in speak itself
        auto.speak('ja0', '東京は日本の首都ですか。')
    with pytest.raises(TTSError, match=r"unknown language 'zh'"):
        get_backend('espeak', language='zh')


def test_cosyvoice_reads_chinese_but_not_cyrillic(tmp_path):
    prompts = tmp_path / 'prompts'
    prompts.mkdir()
    sf.write(prompts / 'a.wav', np.zeros(1600, dtype='float32'), 16000)
    (prompts / 'a.txt').write_text('hello')
    speaker = Speaker(get_backend('cosyvoice', server_url='http://x', prompts_dir=str(prompts)), tmp_path / 'wav')
    assert speaker.check_scripts([('zh0', 'line 1', '下列哪一种是水果？'), ('en0', 'line 2', 'Hi there')]) == \
        {'Han': 1, 'Latin': 1}
    with pytest.raises(ScriptError, match=r"(?s)script Cyrillic .* a\.wav \(cosyvoice\) reads .*Fix: CosyVoice2 speaks "
                       r"Chinese, English, Japanese and Korean, not Cyrillic: use --tts espeak --language auto"):
        speaker.check_scripts([('ru0', 'line 3', 'Какая планета ближе всего к Солнцу?')])


def test_chinese_rows_with_the_default_voice_are_refused_by_the_cli(tmp_path):
    source = write_jsonl(tmp_path / 'zh.jsonl', mc_questions(2) + CHINESE)
    out = tmp_path / 'out'
    proc = subprocess.run([SWIFT_TARS, 'build-data', 'mmlu', '--source', str(source), '--out', str(out),
                           '--no-progress'], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1 and 'Traceback' not in proc.stderr
    assert proc.stderr.startswith('swift-tars build-data mmlu: error: 2 row(s) are in a script their voice cannot '
                                  'read'), proc.stderr
    for line, qid in ((3, 'zh0'), (4, 'zh1')):
        assert f"{source} line {line} (question_id='{qid}'): script Han (letters: Han " in proc.stderr
    assert 'Fix: pass --language auto' in proc.stderr and "q000" not in proc.stderr
    assert not out.exists()  # refused before anything was written


def test_language_auto_builds_a_mixed_set_with_a_mandarin_voice(tmp_path):
    mixed = {'question_id': 'mix0', 'question': '在Python中，list和tuple的区别是什么？',
             'options': ['可变性', '长度', '类型', '名字'], 'answer': 'A'}
    source = write_jsonl(tmp_path / 'mixed.jsonl', mc_questions(2) + CHINESE + [mixed])
    result = run(parse(['mmlu', '--source', str(source), '--out', str(tmp_path / 'out'), '--language', 'auto',
                        '--no-progress']))
    assert result.rows == 5 and result.manifest['settings']['tts']['language'] == 'auto'
    manifest = json.loads((tmp_path / 'out' / 'train.manifest.json').read_text())
    assert manifest['script_check'] == {'rows_checked': 5, 'rows_per_script': {'Latin': 2, 'Han': 3}}
    assert manifest['languages']['rows_per_script'] == {'Han': 3, 'Latin': 2}
    per_voice = manifest['languages']['rows_per_voice']
    assert per_voice['cmn'] == 3 and sum(per_voice.values()) == 5
    assert all(v.startswith('en') for v in per_voice if v != 'cmn')
    rows = {r['question_id']: r for r in map(json.loads, (tmp_path / 'out' / 'train.jsonl').read_text().splitlines())}
    zh = [sf.read(rows[q]['audios'][0])[0] for q in ('zh0', 'zh1')]
    assert not (len(zh[0]) == len(zh[1]) and np.array_equal(*zh))
    # a rerun resumes every row from the finished output and still counts them per voice
    again = run(parse(['mmlu', '--source', str(source), '--out', str(tmp_path / 'out'), '--language', 'auto',
                       '--no-progress']))
    assert again.new_rows == 0 and again.manifest['languages'] == manifest['languages']
