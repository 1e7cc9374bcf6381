"""End to end: the real ``swift rlhf`` with the plugin on a local row-format jsonl holding a missing wav stops
before the first generation with one error naming the file, the line and the question_id (it used to crash at
step 1 with ``TypeError: Invalid file: None``); with ``TARS_SKIP_INVALID=1`` the row is dropped, the run trains
and ``tars_config.json`` counts the drop."""
import json
import subprocess

import pytest
import soundfile as sf

from swift_tars.data.rows import make_row
from swift_tars.testing.data import tone
from swift_tars.testing.runs import offline_env, read_logging, tiny_rlhf_command


@pytest.fixture(scope='module')
def untrained_omni(tmp_path_factory):
    from swift_tars.testing.models import build_tiny_omni

    return build_tiny_omni(tmp_path_factory.mktemp('row-checks-omni'), num_layers=2)


def spoken_rows(folder, n=4):
    rows = []
    for i in range(n):
        wav = folder / f'q{i}.wav'
        sf.write(wav, tone(16000, 0.5, freq=200 + 40 * i), 16000, subtype='PCM_16')
        rows.append(make_row(audio=str(wav), text_query=f'Question {i}?\nOption A: yes\nOption B: no',
                             solution='AB'[i % 2], question_id=f'q{i}', options=['yes', 'no']))
    return rows


def run(cmd, log, **env):
    with open(log, 'w') as f:
        proc = subprocess.run(cmd, env=offline_env(**env), stdout=f, stderr=subprocess.STDOUT, timeout=900)
    return proc.returncode, log.read_text()


def test_missing_wav_in_a_local_jsonl_stops_swift_rlhf_before_generation(tmp_path, untrained_omni):
    rows = spoken_rows(tmp_path)
    rows.insert(2, dict(rows[0], question_id='q-missing', audios=[str(tmp_path / 'gone.wav')]))
    data = tmp_path / 'train.jsonl'
    data.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    extra = ('--max_steps', '1', '--num_generations', '2', '--per_device_train_batch_size', '2')
    cmd = tiny_rlhf_command(untrained_omni, data, tmp_path / 'out', ['tars_accuracy', 'tars_format'], *extra)
    rc, log = run(cmd, tmp_path / 'fail.log')
    assert rc != 0
    assert f"{data} line 3 (question_id='q-missing'): audio file not found: {tmp_path / 'gone.wav'}" in log
    assert 'TARS_SKIP_INVALID=1' in log and 'Invalid file' not in log
    assert not list((tmp_path / 'out').glob('v*/logging.jsonl'))  # no step ran

    rc, log = run(cmd, tmp_path / 'skip.log', TARS_SKIP_INVALID='1')
    assert rc == 0, log[-3000:]
    assert 'TARS_SKIP_INVALID=1: dropped 1 invalid row(s)' in log
    assert len(read_logging(tmp_path / 'out')) == 1
    [card] = (tmp_path / 'out').glob('v*/tars_config.json')
    assert json.loads(card.read_text())['invalid_rows_skipped'] == {'rows': 1, 'by_source': {str(data): 1}}
