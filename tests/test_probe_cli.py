"""``swift-tars probe`` on the tiny offline Qwen2.5-Omni: the base model against a LoRA "trained" one.

Teacher-forced through ms-swift's own template and engine model; checks ``probe.json`` (per-layer mean and
95 % interval of the answer-token similarity and of the APS) and both PNG plots.
"""
import argparse
import json

import pytest

from swift_tars.evaluation import probe_cli

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')


def _args(argv):
    parser = argparse.ArgumentParser()
    probe_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_probe_base_vs_adapter_writes_json_and_plots(tiny_omni, tiny_lora, demo_dataset, demo_rows, tmp_path, capsys):
    out = tmp_path / 'probe'
    argv = _args(['--model', str(tiny_omni), '--model_type', 'qwen2_5_omni', '--torch_dtype', 'float32',
                  '--eval_set', f'demo={demo_dataset}', '--n', '4', '--max_new_tokens', '32', '--compare',
                  str(tiny_lora), '--labels', 'base', 'trained', '--output_dir', str(out), '--no_progress'])
    assert probe_cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert '| Layer | base cos | base APS | trained cos | trained APS |' in printed
    with capsys.disabled():  # into the CI log: what the probe measured (the table behind layer_similarity.png)
        print(f'\n[swift-tars probe on the tiny model, base vs random LoRA]\n{printed}')
    report = json.loads((out / 'probe.json').read_text())
    assert report['answer_source'] == 'text' and report['confidence'] == 0.95
    base, trained = report['runs']
    assert (base['label'], trained['label']) == ('base', 'trained')
    assert trained['adapters'] == [str(tiny_lora)] and base['adapters'] == []
    picked = {r['question_id'] for r in probe_cli.select_rows(demo_rows, 4, seed=0)}  # the same questions for both
    for run in (base, trained):
        assert run['layers'] == [1, 2, 3, 4, 5, 6]  # the tiny thinker has 6 decoder layers
        assert run['n_items'] + sum(run['skipped'].values()) == run['n_requested'] == 4
        assert run['n_items'] >= 2
        for key in ('similarity', 'aps'):
            block = run[key]
            assert len(block['mean']) == len(block['ci_low']) == len(block['ci_high']) == 6
            for mean, low, high in zip(block['mean'], block['ci_low'], block['ci_high']):
                assert -1.0 <= low <= mean <= high and mean <= 1.0
        for item in run['items']:
            assert item['n_answer_tokens'] > 0 and item['n_text_positions'] > 0
            assert item['n_speech_positions'] > item['n_text_positions']  # ~25 audio tokens per second of speech
            assert len(item['similarity']) == len(item['aps']) == 6
            assert item['question_id'] in picked
    for name in ('layer_similarity.png', 'aps.png'):
        assert (out / name).read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_gold_answers_and_seeded_selection(demo_rows):
    rows = probe_cli.select_rows(demo_rows, 5, seed=3)
    assert rows == probe_cli.select_rows(demo_rows, 5, seed=3) and len(rows) == 5
    assert rows != probe_cli.select_rows(demo_rows, 5, seed=4)
    assert [r['question_id'] for r in rows] == sorted(r['question_id'] for r in rows)  # file order
    answers = probe_cli.answers_for(None, rows, 'gold', 32, 4, progress=False)
    assert answers == [f"<answer>The answer is {r['solution']}.</answer>" for r in rows]


def test_probe_errors(tiny_omni, demo_dataset, tmp_path, capsys):
    argv = ['--model', str(tiny_omni), '--eval_set', f'demo={demo_dataset}', '--output_dir', str(tmp_path)]
    assert probe_cli.main(_args(argv + ['--compare', str(tmp_path / 'missing')])) == 2
    assert 'does not exist' in capsys.readouterr().err
    assert probe_cli.main(_args(argv + ['--labels', 'a', 'b'])) == 2
    assert '--labels needs 1 label' in capsys.readouterr().err
    assert probe_cli.main(_args(['--model', str(tiny_omni), '--eval_set', str(tmp_path / 'x.jsonl')])) == 2
    assert 'x.jsonl does not exist' in capsys.readouterr().err
