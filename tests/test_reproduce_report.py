"""The report of ``swift-tars reproduce-mini`` from hand-made eval summaries: mean ± sd per arm, the base row, the
curves figure."""
import json

import pytest

from swift_tars.commands.reproduce_report import aggregate, curve_series, markdown_table, mean_sd, write_report


def _summary(speech, text, mrr=None):
    sets = {}
    for name in ('rl_train', 'heldout'):
        sets[name] = {'speech': {'accuracy': speech}, 'text': {'accuracy': text}, 'gap': text - speech,
                      'mrr': {'value': mrr} if mrr is not None else None}
    return {'sets': sets}


def _result(speech, text, steps=3):
    records = [{'tars/speech/TarsAccuracy': 0.1 * i, 'tars/text/TarsAccuracy': 1.0, 'reward': 1.0 + 0.1 * i}
               for i in range(steps)]
    return {'eval': _summary(speech, text, 100.0 * speech / 100.0), 'probe': {'runs': [{'similarity': {
        'mean_over_layers': 0.5}}]}, 'steps': records}


def test_mean_sd_by_hand():
    assert mean_sd([50.0, 60.0, 70.0]) == {'mean': 60.0, 'sd': 10.0, 'n': 3}
    assert mean_sd([None, 40.0]) == {'mean': 40.0, 'sd': 0.0, 'n': 1}
    assert mean_sd([None]) == {'mean': None, 'sd': None, 'n': 0}


def test_aggregate_and_table():
    results = {'tars': {0: _result(50.0, 100.0), 1: _result(70.0, 100.0)}}
    table = aggregate(results)
    assert table['tars']['rl_train']['speech'] == {'mean': 60.0, 'sd': pytest.approx(14.1421356), 'n': 2}
    assert table['tars']['heldout']['gap']['mean'] == 40.0
    text = markdown_table({'tars': '(c) TARS'}, {'eval': _summary(40.0, 100.0), 'probe': {}}, table, 2)
    assert '| base model (before RL) | 40.0 | 100.0 | 60.0 | 40.0 | 40.0 |' in text
    assert '| (c) TARS | 60.0 ± 14.1 | 100.0 ± 0.0 | 40.0 ± 14.1 |' in text


def test_curves_use_the_first_key_every_step_has():
    steps = [{'a': 1.0, 'b': 2.0}, {'b': 3.0}]
    assert curve_series(steps, ('a', 'b')) == [2.0, 3.0]
    assert curve_series(steps, ('c', )) is None


def test_write_report_files(tmp_path):
    results = {'tars': {0: _result(50.0, 100.0)}, 'mixed_grpo': {0: _result(55.0, 100.0, steps=4)}}
    base = {'eval': _summary(40.0, 100.0), 'probe': {}}
    paths = write_report(tmp_path, {'seeds': [0], 'steps': 3}, {'tars': 'T', 'mixed_grpo': 'M'}, base, results)
    assert [p.name for p in paths] == ['summary.json', 'table.md', 'curves.png']
    summary = json.loads(paths[0].read_text())
    assert summary['per_seed']['tars']['0']['rl_train']['speech'] == 50.0
    assert paths[2].stat().st_size > 10_000  # a rendered PNG, not an empty file


def test_speech_group_signal_by_hand():
    from swift_tars.commands.reproduce_signal import signal_markdown, speech_group_signal

    def rollout(step, qid, modality, acc, rep, adv):
        return {'step': step, 'question_id': qid, 'tars_modality': modality, 'TarsAccuracy': acc,
                'TarsRepresentation': rep, 'advantages': adv}

    rows = [rollout('1', 'a', 'speech', 1.0, 0.9, 0.5), rollout('1', 'a', 'speech', 0.0, 0.7, -0.5),
            rollout('1', 'a', 'text', 1.0, float('nan'), 0.0),  # text rows are not speech groups
            rollout('1', 'b', 'speech', 0.0, 0.8, 0.1), rollout('1', 'b', 'speech', 0.0, 0.6, -0.1),
            rollout('2', 'a', 'speech', 0.0, 0.5, 0.0), rollout('2', 'a', 'speech', 0.0, 0.5, 0.0)]
    s = speech_group_signal(rows)
    assert s['groups'] == 3 and s['accuracy_flat'] == pytest.approx(2 / 3)
    assert s['std']['TarsAccuracy'] == pytest.approx((0.5 + 0 + 0) / 3)
    assert s['std']['TarsRepresentation'] == pytest.approx((0.1 + 0.1 + 0.0) / 3)
    assert s['std_when_accuracy_flat']['TarsRepresentation'] == pytest.approx(0.05)
    assert s['mean_abs_advantage'] == {'all': pytest.approx((0.5 + 0.1 + 0.0) / 3),
                                       'accuracy_flat': pytest.approx(0.05)}
    table = signal_markdown({'tars': 'T'}, {'tars': [s]})
    assert '| T | 66.667 | 0.167 | — | 0.067 | — | — | 0.200 | 0.050 |' in table
