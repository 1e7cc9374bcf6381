"""Paired statistics of ``swift-tars eval`` (no model): the speech × text 2×2, bootstrap intervals, the exact
McNemar test and ``--compare RUN_A RUN_B``. Expected numbers are worked out by hand in the comments."""
import argparse
import json
import re

import numpy as np
import pytest

from swift_tars.evaluation import eval_cli
from swift_tars.evaluation.compare import compare_runs
from swift_tars.evaluation.metrics import Reference, summarize
from swift_tars.evaluation.paired import add_paired, contingency, mcnemar_exact
from swift_tars.evaluation.report import compare_markdown, markdown


def recs(set_name, pattern):
    """Records from (speech correct, text correct) per item: item i is question q{i}."""
    out = []
    for i, (s, t) in enumerate(pattern):
        out += [{'set': set_name, 'question_id': f'q{i}', 'mode': 'speech', 'correct': s, 'extraction_failed': False},
                {'set': set_name, 'question_id': f'q{i}', 'mode': 'text', 'correct': t, 'extraction_failed': False}]
    return out


# 10 items: 2 both right, 7 only text right, 1 only speech right, 0 neither
GAP_SET = [(True, True)] * 2 + [(False, True)] * 7 + [(True, False)]


def test_two_by_two_decomposes_the_gap():
    table = contingency(recs('x', GAP_SET))
    assert table == {'n': 10, 'both_right': 2, 'only_text': 7, 'only_speech': 1, 'neither': 0}
    s = summarize({'x': recs('x', GAP_SET)})['sets']['x']
    # speech (2 + 1) / 10 = 30 %, text (2 + 7) / 10 = 90 %, gap 60 = (7 − 1) / 10 points
    assert (s['speech']['accuracy'], s['text']['accuracy'], s['gap']) == (30.0, 90.0, 60.0)
    assert 100 * (table['only_text'] - table['only_speech']) / table['n'] == s['gap']
    assert contingency([r for r in recs('x', GAP_SET) if r['mode'] == 'text']) is None  # one mode: no 2x2


def test_mcnemar_exact_p_values():
    assert mcnemar_exact(7, 1) == pytest.approx(0.0703125, abs=1e-12)  # 2 * (1 + 8) / 2**8
    assert mcnemar_exact(1, 7) == pytest.approx(0.0703125, abs=1e-12)
    assert mcnemar_exact(0, 6) == pytest.approx(0.03125, abs=1e-12)  # 2 / 2**6
    assert mcnemar_exact(5, 5) == 1.0 and mcnemar_exact(0, 0) == 1.0


def test_bootstrap_intervals_are_seeded_and_sensible():
    records = {'x': recs('x', GAP_SET), 'all_right': recs('all_right', [(True, True)] * 5)}
    summary = summarize(records, Reference(source='fixed', value=80.0))
    add_paired(summary, records, resamples=2000, seed=0)
    x = summary['sets']['x']
    assert x['paired'] == {'n': 10, 'both_right': 2, 'only_text': 7, 'only_speech': 1, 'neither': 0}
    lo, hi = x['intervals']['speech_accuracy']
    assert lo <= 30.0 <= hi and 0.0 <= lo < 30.0 < hi <= 70.0
    glo, ghi = x['intervals']['gap']
    assert glo <= 60.0 <= ghi and glo > 0  # 6 of 7 discordant pairs favour text: the paired interval excludes 0
    assert x['intervals']['mrr'] == pytest.approx([100 * lo / 80, 100 * hi / 80])  # fixed denominator
    right = summary['sets']['all_right']['intervals']
    assert right['speech_accuracy'] == [100.0, 100.0] and right['gap'] == [0.0, 0.0]  # no spread, no width
    again = summarize(records, Reference(source='fixed', value=80.0))
    add_paired(again, records, resamples=2000, seed=0)
    assert again['sets']['x']['intervals'] == x['intervals']  # seeded
    alone = summarize({'x': records['x']})
    add_paired(alone, {'x': records['x']}, resamples=2000, seed=0)
    assert alone['sets']['x']['intervals']['gap'] == x['intervals']['gap']  # another set changes nothing
    overall = summary['overall']['item_weighted']['intervals']['speech_accuracy']
    assert overall[0] <= 100 * 8 / 15 <= overall[1]  # pooled: (3 + 5) of 15 right in speech


def test_bootstrap_width_matches_the_normal_approximation():
    # 100 items, half right: the 95 % interval is about ±1.96 * 5 = ±9.8 points
    records = {'x': recs('x', [(i % 2 == 0, True) for i in range(100)])}
    summary = summarize(records)
    add_paired(summary, records, resamples=2000, seed=1)
    lo, hi = summary['sets']['x']['intervals']['speech_accuracy']
    assert 16 < hi - lo < 24 and lo < 50 < hi


def test_markdown_shows_the_paired_table():
    records = {'x': recs('x', GAP_SET)}
    summary = summarize(records, Reference(source='fixed', value=80.0))
    summary['reference'] = {'source': 'fixed', 'value': 80.0}
    add_paired(summary, records, resamples=200, seed=0)
    text = markdown(summary)
    assert '| x | 10 | 2 | 7 | 1 | 0 | 30.00 [' in text and '200 resamples, seed 0' in text
    assert 'MRR [CI]' in text and '37.50 [' in text  # MRR 30 / 80
    assert 'Paired items' not in markdown(summarize(records))  # no intervals computed: no table


# ---------------------------------------------------------------- --compare


def write_run(run_dir, pattern_speech, pattern_text, set_name='x', gold='B', fp='p'):
    """An eval output dir as ``swift-tars eval`` leaves it: predictions.jsonl + summary.json."""
    run_dir.mkdir(parents=True)
    lines = []
    for mode, pattern in (('speech', pattern_speech), ('text', pattern_text)):
        for i, correct in enumerate(pattern):
            g = gold(i) if callable(gold) else gold
            lines.append({'set': set_name, 'question_id': f'q{i}', 'mode': mode, 'correct': correct, 'gold': g,
                          'pred': g if correct else 'A', 'extraction_failed': False,
                          'prompt_fp': fp(i, mode) if callable(fp) else f'{fp}{i}{mode}'})
    (run_dir / 'predictions.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in lines))
    (run_dir / 'summary.json').write_text(json.dumps({'sets': {set_name: {}}, 'run': {'modes': ['speech', 'text']}}))
    return run_dir


# RUN_A vs RUN_B in speech: 2 both right, 7 only A right, 1 only B right -> A 90 %, B 30 %, B − A = −60 points
SPEECH_A = [True] * 2 + [True] * 7 + [False]
SPEECH_B = [True] * 2 + [False] * 7 + [True]


def test_compare_paired_differences_and_mcnemar(tmp_path):
    a = write_run(tmp_path / 'a', SPEECH_A, [True] * 10)
    b = write_run(tmp_path / 'b', SPEECH_B, [True] * 10)
    result = compare_runs(a, b, resamples=500, seed=0)
    speech = result['sets']['x']['speech']
    assert (speech['n'], speech['accuracy_a'], speech['accuracy_b'], speech['difference']) == (10, 90.0, 30.0, -60.0)
    assert (speech['only_a_right'], speech['only_b_right']) == (7, 1)
    assert speech['mcnemar_p'] == pytest.approx(0.0703125, abs=1e-12)
    assert speech['interval'][0] <= -60.0 <= speech['interval'][1]
    text = result['sets']['x']['text']
    assert (text['difference'], text['mcnemar_p'], text['interval']) == (0.0, 1.0, [0.0, 0.0])
    table = compare_markdown(result)
    assert '| x | speech | 10 | 90.00 | 30.00 | -60.00 [' in table and '| 7 | 1 | 0.07031 |' in table


def test_compare_pairs_only_shared_items(tmp_path):
    a = write_run(tmp_path / 'a', SPEECH_A + [True, True], [True] * 12)  # two more items (a larger --limit)
    b = write_run(tmp_path / 'b', SPEECH_B, [True] * 10)
    result = compare_runs(a, b, resamples=0)
    assert result['sets']['x']['speech']['n'] == 10 and result['sets']['x']['only_in_a'] == 2
    assert result['sets']['x']['speech']['interval'] is None  # --bootstrap_resamples 0
    assert any('2 only in RUN_A' in n for n in result['notes'])


def _compare_cli(argv):
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    return eval_cli.main(parser.parse_args(argv))


@pytest.mark.parametrize('change, message', [
    ({'gold': lambda i: 'C' if i == 3 else 'B'}, r"set 'x' differs in content .*question_id 'q3': gold B in RUN_A, "
                                                 r"C in RUN_B"),
    ({'fp': lambda i, m: 'other' if (i, m) == (5, 'speech') else f'p{i}{m}'},
     r"set 'x' differs .*question_id 'q5': the speech prompt differs"),
    ({'set_name': 'y'}, 'no eval set in common'),
])
def test_compare_refuses_different_eval_content(tmp_path, capsys, change, message):
    a = write_run(tmp_path / 'a', SPEECH_A, [True] * 10)
    b = write_run(tmp_path / 'b', SPEECH_B, [True] * 10, **change)
    assert _compare_cli(['--compare', str(a), str(b), '--output_dir', str(tmp_path / 'cmp')]) == 2
    err = capsys.readouterr().err
    assert err.startswith('swift-tars eval: error: --compare') and 'Traceback' not in err
    assert re.search(message, err), err
    assert not (tmp_path / 'cmp' / 'compare.json').exists()


def test_compare_refuses_runs_without_shared_items_and_non_runs(tmp_path, capsys):
    a = write_run(tmp_path / 'a', SPEECH_A, [True] * 10)
    b = tmp_path / 'b'
    write_run(b, [True], [True])
    (b / 'predictions.jsonl').write_text((b / 'predictions.jsonl').read_text().replace('"q0"', '"other"'))
    assert _compare_cli(['--compare', str(a), str(b)]) == 2
    assert "set 'x' has no question_id in both runs" in capsys.readouterr().err
    assert _compare_cli(['--compare', str(a), str(tmp_path)]) == 2
    assert 'no predictions.jsonl' in capsys.readouterr().err
    assert _compare_cli(['--eval_sets', 'x.jsonl']) == 2
    assert '--model and --eval_sets are required (or --compare' in capsys.readouterr().err


def test_compare_cli_writes_json_and_markdown(tmp_path, capsys):
    a = write_run(tmp_path / 'a', SPEECH_A, [True] * 10)
    b = write_run(tmp_path / 'b', SPEECH_B, [True] * 10)
    out = tmp_path / 'cmp'
    assert _compare_cli(['--compare', str(a), str(b), '--output_dir', str(out), '--bootstrap_resamples', '100']) == 0
    printed = capsys.readouterr().out
    assert (out / 'compare.md').read_text() in printed
    saved = json.loads((out / 'compare.json').read_text())
    assert saved['sets']['x']['speech']['mcnemar_p'] == pytest.approx(0.0703125)
    assert np.isclose(saved['sets']['x']['speech']['difference'], -60.0)
