"""End to end: the outputs of the ``upstream`` and ``voicebench`` converters train with ``swift rlhf --dataset``.

(The ``mmlu`` builder's output is the demo dataset every other end-to-end test trains on.)
"""
from conftest import run_swift

from data_builders.cli import parse, run
from swift_tars.testing.data import save_dataset, save_splits, upstream_rows, voicebench_prompt, wav_bytes
from swift_tars.testing.runs import read_logging, tiny_rlhf_command


def test_converted_datasets_train_with_swift_rlhf(tmp_path, tiny_omni):
    released = save_dataset(upstream_rows([{'bytes': wav_bytes(sr, 1.0, 200 + 40 * i), 'path': f'mmlu@{i + 1}.wav'}
                                           for i, sr in enumerate([24000, 44100])]), tmp_path / 'released')
    upstream = run(parse(['upstream', '--source', str(released), '--out', str(tmp_path / 'up'), '--no-progress']))
    vb = save_splits({'test': {'prompt': [voicebench_prompt(q, ['lions', 'humans', 'bunnies', 'grass'])
                                          for q in ('Predators eat', 'Cows eat')],
                               'reference': ['C', 'D'],
                               'audio': [{'bytes': wav_bytes(16000, 1.0, f), 'path': None} for f in (300, 330)]}},
                     tmp_path / 'vb')
    obqa = run(parse(['voicebench', '--subset', 'openbookqa', '--source', str(vb), '--out', str(tmp_path / 'eval'),
                      '--no-progress']))
    assert upstream.rows == 2 and obqa.rows == 2
    out = tmp_path / 'run'
    # a builder output folder and a builder jsonl, as users pass them
    cmd = tiny_rlhf_command(tiny_omni, upstream.path.parent, out, ['tars_accuracy', 'tars_format'],
                            '--num_generations', '2', '--per_device_train_batch_size', '2', '--max_steps', '2')
    at = cmd.index('--dataset')
    cmd[at + 1:at + 2] = [str(upstream.path.parent), str(obqa.path)]
    run_swift(cmd, tmp_path / 'swift.log')
    steps = read_logging(out)
    assert len([r for r in steps if any(k.startswith('rewards/') for k in r)]) == 2, steps
    log = (tmp_path / 'swift.log').read_text()
    assert 'num_rows: 4' in log  # both datasets were read: 2 + 2 rows
