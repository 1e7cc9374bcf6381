"""TTS backends: espeak voices, option parsing, and CosyVoice against a local stub server (no model)."""
import http.server
import threading
from email.parser import BytesParser
from email.policy import default as email_policy

import numpy as np
import pytest
import soundfile as sf

from data_builders.mmlu import tts_options
from data_builders.tts import BACKENDS, TTSError, get_backend
from data_builders.tts.cosyvoice import CosyVoiceBackend
from data_builders.tts.espeak import EspeakBackend
from swift_tars.testing.data import tone, wav_bytes


def test_registry_and_options():
    assert set(BACKENDS) == {'espeak', 'cosyvoice'}
    assert tts_options(EspeakBackend, ['voices=en-us', 'rates=150,170', 'pitches=40']) == \
        {'voices': ['en-us'], 'rates': [150, 170], 'pitches': [40]}
    assert tts_options(CosyVoiceBackend, ['server_sample_rate=22050', 'speed=1.1']) == \
        {'server_sample_rate': 22050, 'speed': 1.1}
    with pytest.raises(ValueError, match="--tts-option 'volume=3': expected KEY=VALUE with KEY one of voices"):
        tts_options(EspeakBackend, ['volume=3'])
    with pytest.raises(ValueError, match="unknown TTS backend 'festival'"):
        get_backend('festival')


def test_espeak_speakers_differ_and_write_16k(tmp_path):
    tts = EspeakBackend()
    voices = {tts.voice_for(s)['voice'] for s in range(36)}
    assert len(voices) == 36  # 6 voices x 6 variants
    a = tts.synthesize('Option A: a cat.', tmp_path / 'a.wav', speaker=0)
    b = tts.synthesize('Option A: a cat.', tmp_path / 'b.wav', speaker=7)
    assert a['voice'] != b['voice']
    for name, meta in (('a.wav', a), ('b.wav', b)):
        info = sf.info(tmp_path / name)
        assert info.samplerate == 16000 and info.channels == 1
        assert meta['duration_s'] == round(info.frames / 16000, 3) > 0.5


@pytest.fixture()
def prompts(tmp_path):
    folder = tmp_path / 'prompts'
    folder.mkdir()
    for i, name in enumerate(['alice', 'bob']):
        sf.write(folder / f'{name}.wav', tone(16000, 1.0, 200 + 100 * i), 16000)
        (folder / f'{name}.txt').write_text(f'Hello, I am {name}.')
    return folder


class _StubCosyVoice(http.server.BaseHTTPRequestHandler):
    """CosyVoice's FastAPI API shape: POST /inference_zero_shot (multipart) -> raw int16 PCM or a wav."""
    requests = []
    reply_wav = False

    def do_POST(self):
        body = self.rfile.read(int(self.headers['Content-Length']))
        message = BytesParser(policy=email_policy).parsebytes(
            b'Content-Type: ' + self.headers['Content-Type'].encode() + b'\r\n\r\n' + body)
        parts = {p.get_param('name', header='content-disposition'): p for p in message.iter_parts()}
        form = {name: part.get_content() for name, part in parts.items() if name != 'prompt_wav'}
        form['prompt_wav'] = parts['prompt_wav'].get_payload(decode=True)
        form['path'] = self.path
        type(self).requests.append(form)
        if self.path != '/inference_zero_shot':
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b'not found')
            return
        if type(self).reply_wav:
            payload = wav_bytes(22050, 0.5)
        else:  # 24 kHz int16 PCM, 0.75 s
            payload = (tone(24000, 0.75) * 32767).astype('<i2').tobytes()
        self.send_response(200)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


@pytest.fixture()
def stub_server():
    _StubCosyVoice.requests = []
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), _StubCosyVoice)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()


def test_cosyvoice_server_path(tmp_path, prompts, stub_server):
    tts = get_backend('cosyvoice', server_url=stub_server, prompts_dir=str(prompts))
    meta = tts.synthesize('What is two plus two?', tmp_path / 'q.wav', speaker=3)
    request = _StubCosyVoice.requests[-1]
    assert request['path'] == '/inference_zero_shot'
    assert request['tts_text'] == 'What is two plus two?'
    assert request['prompt_text'] == 'Hello, I am bob.'  # speaker 3 -> clip 3 % 2 = 1 of the sorted folder
    assert request['prompt_wav'] == (prompts / 'bob.wav').read_bytes()
    info = sf.info(tmp_path / 'q.wav')
    assert (info.samplerate, info.channels, info.frames) == (16000, 1, 12000)  # 0.75 s of 24 kHz PCM
    assert meta['voice'] == 'bob.wav' and meta['duration_s'] == 0.75
    _StubCosyVoice.reply_wav = True
    try:
        tts.synthesize('Again.', tmp_path / 'r.wav', speaker=0)
    finally:
        _StubCosyVoice.reply_wav = False
    assert sf.info(tmp_path / 'r.wav').frames == 8000 and _StubCosyVoice.requests[-1]['prompt_text'] == \
        'Hello, I am alice.'
    bad = get_backend('cosyvoice', server_url=stub_server + '/wrong', prompts_dir=str(prompts))
    with pytest.raises(TTSError, match=r'answered HTTP 404'):
        bad.synthesize('x', tmp_path / 'x.wav')
    gone = get_backend('cosyvoice', server_url='http://127.0.0.1:9', prompts_dir=str(prompts), timeout=5)
    with pytest.raises(TTSError, match=r'unreachable'):
        gone.synthesize('x', tmp_path / 'x.wav')


def test_cosyvoice_setup_errors(tmp_path, prompts):
    with pytest.raises(TTSError, match=r'needs a model or a server: pass --cosyvoice-url URL .* cosyvoice package is '
                       r'not installed'):
        get_backend('cosyvoice', prompts_dir=str(prompts))
    with pytest.raises(TTSError, match=r'--cosyvoice-model was given but the cosyvoice package is not importable'):
        get_backend('cosyvoice', model_dir=str(tmp_path), prompts_dir=str(prompts))
    with pytest.raises(TTSError, match=r'needs --speaker-prompts DIR'):
        get_backend('cosyvoice', server_url='http://x')
    with pytest.raises(TTSError, match=r'does not exist'):
        get_backend('cosyvoice', server_url='http://x', prompts_dir=str(tmp_path / 'nope'))
    (prompts / 'carol.wav').write_bytes(wav_bytes(16000, 0.5))
    with pytest.raises(TTSError, match=r'carol\.wav has no transcript carol\.txt'):
        get_backend('cosyvoice', server_url='http://x', prompts_dir=str(prompts))


def test_cosyvoice_through_the_builder_cli(tmp_path, prompts, stub_server):
    from data_builders.cli import parse, run
    from swift_tars.testing.data import mc_questions, write_jsonl

    source = write_jsonl(tmp_path / 'src.jsonl', mc_questions(2))
    result = run(parse(['mmlu', '--source', str(source), '--out', str(tmp_path / 'out'), '--tts', 'cosyvoice',
                        '--cosyvoice-url', stub_server, '--speaker-prompts', str(prompts), '--no-progress']))
    assert result.rows == 2 and result.manifest['settings']['tts']['mode'] == 'server'
    assert sorted(r['tts_text'] for r in _StubCosyVoice.requests) == [
        'Question number 0: which word names the apple in this sentence?\nOption A: apple.\nOption B: not apple.\n'
        'Option C: maybe apple.\nOption D: never apple.',
        'Question number 1: which word names the river in this sentence?\nOption A: river.\nOption B: not river.\n'
        'Option C: maybe river.\nOption D: never river.']
    assert np.isclose(result.manifest['audio']['mean_s'], 0.75)
