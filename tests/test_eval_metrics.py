"""Pure parts of ``swift-tars eval``: metrics, MRR denominators, report, predictions file, eval-set checks.

No model is loaded here; every expected number is worked out by hand in the comments.
"""
import argparse
import importlib.util
import json
import re

import pytest

from swift_tars.evaluation import eval_cli
from swift_tars.evaluation.eval_sets import EvalSetError, build_request, load_eval_set, load_eval_sets
from swift_tars.evaluation.metrics import Reference, mrr, reference_from_summary, summarize
from swift_tars.evaluation.predictions import PredictionStore
from swift_tars.evaluation.report import markdown, write_summary
from swift_tars.prompts import SYSTEM_THINK


def rec(set_name, qid, mode, correct, failed=False, subject=None):
    return {'set': set_name, 'question_id': qid, 'mode': mode, 'correct': correct, 'extraction_failed': failed,
            'subject': subject, 'finish_reason': 'length' if failed else 'stop'}


# mmsu: 4 items, speech 2/4 right (one of the wrong ones has no extractable answer), text 3/4.
# obqa: 2 items, speech 2/2, text 1/2.
RECORDS = {
    'mmsu': [rec('mmsu', 'm0', 'speech', True, subject='law'), rec('mmsu', 'm1', 'speech', True, subject='law'),
             rec('mmsu', 'm2', 'speech', False, True, subject='physics'),
             rec('mmsu', 'm3', 'speech', False, subject='physics'),
             rec('mmsu', 'm0', 'text', True, subject='law'), rec('mmsu', 'm1', 'text', True, subject='law'),
             rec('mmsu', 'm2', 'text', True, subject='physics'), rec('mmsu', 'm3', 'text', False, subject='physics')],
    'obqa': [rec('obqa', 'o0', 'speech', True), rec('obqa', 'o1', 'speech', True),
             rec('obqa', 'o0', 'text', True), rec('obqa', 'o1', 'text', False, True)],
}


def test_per_set_accuracy_gap_own_ratio_and_failures():
    s = summarize(RECORDS)['sets']
    assert s['mmsu']['speech'] == {'n': 4, 'correct': 2, 'accuracy': 50.0, 'extraction_failures': 1,
                                   'extraction_failure_rate': 25.0, 'truncated_rate': 25.0}
    assert s['mmsu']['text']['accuracy'] == 75.0
    assert s['mmsu']['gap'] == 25.0  # text − speech, points
    assert s['mmsu']['own_ratio'] == pytest.approx(100 * 50 / 75)
    assert s['obqa']['speech']['accuracy'] == 100.0 and s['obqa']['text']['accuracy'] == 50.0
    assert s['obqa']['gap'] == -50.0 and s['obqa']['own_ratio'] == 200.0
    assert s['obqa']['text']['extraction_failure_rate'] == 50.0
    assert s['mmsu']['n_items'] == 4 and 'subjects' not in s['obqa']  # no subject column -> no breakdown
    law, physics = s['mmsu']['subjects']['law'], s['mmsu']['subjects']['physics']
    assert (law['speech']['accuracy'], law['text']['accuracy'], law['gap']) == (100.0, 100.0, 0.0)
    assert (physics['speech']['accuracy'], physics['text']['accuracy'], physics['gap']) == (0.0, 50.0, 50.0)


def test_overall_item_weighted_and_unweighted_mean_over_sets():
    ov = summarize(RECORDS)['overall']
    w, u = ov['item_weighted'], ov['unweighted_mean_over_sets']
    assert w['speech']['accuracy'] == pytest.approx(100 * 4 / 6)  # 2 + 2 of 6 items
    assert w['text']['accuracy'] == pytest.approx(100 * 4 / 6)  # 3 + 1 of 6 items
    assert w['gap'] == pytest.approx(0.0) and w['own_ratio'] == pytest.approx(100.0)
    assert w['speech']['extraction_failure_rate'] == pytest.approx(100 / 6)
    assert u['speech']['accuracy'] == 75.0  # (50 + 100) / 2, the paper's Avg(A)
    assert u['text']['accuracy'] == 62.5  # (75 + 50) / 2
    assert u['gap'] == -12.5 and u['own_ratio'] == 120.0
    assert 'mrr' not in w  # no reference, no MRR


def test_mrr_with_a_fixed_reference_number():
    summary = summarize(RECORDS, Reference(source='--reference_text_acc 80', value=80.0))
    assert summary['sets']['mmsu']['mrr'] == {'value': 62.5, 'denominator': 80.0,
                                              'denominator_source': '--reference_text_acc 80'}
    assert summary['sets']['obqa']['mrr']['value'] == 125.0  # can exceed 100 %
    assert summary['overall']['item_weighted']['mrr']['value'] == pytest.approx(100 * (400 / 6) / 80)  # 83.33
    assert summary['overall']['unweighted_mean_over_sets']['mrr']['value'] == pytest.approx(93.75)  # 75 / 80


def test_mrr_with_a_reference_run_summary_per_set_denominators():
    # the base model: mmsu text 4/4 = 100 %, obqa text 1/2 = 50 %
    base = summarize({'mmsu': [rec('mmsu', f'm{i}', 'text', True) for i in range(4)],
                      'obqa': [rec('obqa', 'o0', 'text', True), rec('obqa', 'o1', 'text', False)]})
    summary = summarize(RECORDS, reference_from_summary(base, 'base/summary.json'))
    assert summary['sets']['mmsu']['mrr']['value'] == 50.0  # 50 / 100
    assert summary['sets']['mmsu']['mrr']['denominator_source'] == 'base/summary.json [mmsu]'
    assert summary['sets']['obqa']['mrr']['value'] == 200.0  # 100 / 50
    weighted = summary['overall']['item_weighted']['mrr']
    assert weighted['denominator'] == pytest.approx(100 * 5 / 6)  # the base's pooled text accuracy
    assert weighted['value'] == pytest.approx(80.0)  # 66.67 / 83.33
    unweighted = summary['overall']['unweighted_mean_over_sets']['mrr']
    assert unweighted['denominator'] == 75.0 and unweighted['value'] == 100.0  # 75 / ((100 + 50) / 2)
    assert summary['warnings'] == []


def test_mrr_reproduces_the_papers_qwen_row():
    # docs/method.md §10: Avg(A) = (61.51 + 81.09) / 2 = 71.30 over the fixed Qwen denominator 77.70 -> 91.76 %
    assert mrr((61.51 + 81.09) / 2, 77.70, 'paper')['value'] == pytest.approx(91.76, abs=0.005)


def test_reference_missing_a_set_warns_and_skips_that_mrr():
    base = summarize({'mmsu': [rec('mmsu', 'm0', 'text', True)]})
    summary = summarize(RECORDS, reference_from_summary(base, 'base.json'))
    assert summary['sets']['obqa']['mrr'] is None
    assert summary['overall']['unweighted_mean_over_sets']['mrr'] is None
    assert any("no text accuracy for set 'obqa'" in w for w in summary['warnings'])
    assert any("over 1 items, this run has 4" in w for w in summary['warnings'])


def test_markdown_table_names_the_denominators(tmp_path):
    summary = summarize(RECORDS, Reference(source='--reference_text_acc 80', value=80.0))
    summary['reference'] = {'source': '--reference_text_acc 80', 'value': 80.0}
    text = markdown(summary)
    assert '| mmsu | 4 | 50.00 | 75.00 | 25.00 | 66.67 | 62.50 (÷ 80.00) | 25.00 | 0.00 |' in text
    assert ("| **Mean over sets, unweighted (paper's Avg)** | 2 sets | 75.00 | 62.50 | -12.50 | 120.00 "
            '| 93.75 (÷ 80.00) |') in text
    assert '**All sets, item-weighted** | 6 |' in text
    assert 'speech accuracy / 80.00' in text and "own text accuracy" in text
    assert '| physics | 2 | 0.00 | 50.00 | 50.00 | 0.00 |' in text
    json_path, md_path = write_summary(summary, tmp_path)
    assert json.loads(json_path.read_text())['definitions']['mrr'].startswith('Modality Recovery Rate')
    assert md_path.read_text() == text
    assert 'not computed' in markdown(summarize(RECORDS))


def test_load_reference_number_and_file(tmp_path):
    assert eval_cli.load_reference('77.7').value == 77.7
    with pytest.raises(EvalSetError, match='in percent'):
        eval_cli.load_reference('180')
    with pytest.raises(EvalSetError, match='neither a number nor'):
        eval_cli.load_reference(str(tmp_path / 'nope.json'))
    path = tmp_path / 'speech_only.json'
    path.write_text(json.dumps(summarize({'a': [rec('a', 'q', 'speech', True)]})))
    with pytest.raises(ValueError, match='no text-mode accuracy'):
        eval_cli.load_reference(str(path))


# ---------------------------------------------------------------- predictions file


def test_prediction_store_appends_and_repairs_a_torn_last_line(tmp_path):
    path = tmp_path / 'predictions.jsonl'
    store = PredictionStore(path)
    store.append([{'set': 's', 'question_id': 'a', 'mode': 'speech', 'x': 1},
                  {'set': 's', 'question_id': 'a', 'mode': 'text', 'x': 2}])
    good = path.read_bytes()
    path.write_bytes(good + b'{"set": "s", "question_id": "b", "mo')  # killed mid-write
    again = PredictionStore(path)
    assert len(again) == 2 and ('s', 'a', 'text') in again and again.repaired_bytes > 0
    assert path.read_bytes() == good  # the torn line is cut off before anything is appended
    again.append([{'set': 's', 'question_id': 'b', 'mode': 'speech'}])
    assert len(path.read_text().splitlines()) == 3
    with pytest.raises(ValueError, match='already in'):
        again.append([{'set': 's', 'question_id': 'b', 'mode': 'speech'}])


def test_prediction_store_refuses_a_damaged_middle_line(tmp_path):
    path = tmp_path / 'predictions.jsonl'
    path.write_text('{"set": "s", "question_id": "a", "mode": "text"}\nnot json\n{"set": "s", "question_id": "b", '
                    '"mode": "text"}\n')
    with pytest.raises(ValueError, match='damaged'):
        PredictionStore(path)


# ---------------------------------------------------------------- eval sets and requests


def _row(i, **over):
    row = {'messages': [{'role': 'system', 'content': SYSTEM_THINK}, {'role': 'user', 'content': '<audio>'}],
           'audios': [], 'text_query': f'Question {i}?\nA. x\nB. y', 'solution': 'B', 'question_id': f'q{i}',
           'options': ['x', 'y']}
    row.update(over)
    return row


def _write(path, rows):
    path.write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return path


def test_requests_follow_method_section_3(tmp_path):
    wav = tmp_path / 'q0.wav'
    wav.write_bytes(b'RIFF')
    row = _row(0, audios=[str(wav)])
    speech, text = build_request(row, 'speech'), build_request(row, 'text')
    assert speech == {'messages': row['messages'], 'audios': [str(wav)]}
    assert text == {'messages': [{'role': 'system', 'content': SYSTEM_THINK},
                                 {'role': 'user', 'content': row['text_query']}]}
    assert build_request({**row, 'messages': row['messages'] + [{'role': 'assistant', 'content': 'B'}]},
                         'text') == text  # a trailing answer is not part of the prompt


def test_eval_set_errors_name_the_row_and_the_file(tmp_path):
    with pytest.raises(EvalSetError, match='does not exist'):
        load_eval_set('x', tmp_path / 'missing.jsonl', ['speech', 'text'])
    path = _write(tmp_path / 'set.jsonl', [_row(0, audios=[]), _row(1)])
    with pytest.raises(EvalSetError, match=r"set.jsonl line 1 \(question_id='q0'\): no audio in 'audios'"):
        load_eval_set('x', path, ['speech'])
    assert len(load_eval_set('x', path, ['text']).rows) == 2  # text mode needs no audio
    no_query = _write(tmp_path / 'noq.jsonl', [_row(0, text_query=None)])
    with pytest.raises(EvalSetError, match=r"noq.jsonl line 1 \(question_id='q0'\): has no 'text_query'"):
        load_eval_set('x', no_query, ['text'])
    missing_wav = _write(tmp_path / 'nowav.jsonl', [_row(0, audios=[str(tmp_path / 'gone.wav')])])
    with pytest.raises(EvalSetError, match=r"nowav.jsonl line 1 \(question_id='q0'\): audio file not found: .*gone"):
        load_eval_set('x', missing_wav, ['speech'])
    with pytest.raises(EvalSetError, match="unknown mode 'video'"):
        load_eval_set('x', path, ['video'])
    dup = _write(tmp_path / 'dup.jsonl', [_row(0), _row(0)])
    with pytest.raises(EvalSetError, match=r"dup.jsonl line 2 \(question_id='q0'\): question_id 'q0' appears twice"):
        load_eval_set('x', dup, ['text'])
    bad_gold = _write(tmp_path / 'gold.jsonl', [_row(0, solution='E')])
    with pytest.raises(EvalSetError, match='no usable gold answer'):
        load_eval_set('x', bad_gold, ['text'])
    with pytest.raises(EvalSetError, match="two eval sets are named 'set'"):
        load_eval_sets([str(path), f'set={no_query}'], ['text'])
    assert len(load_eval_set('x', path, ['text'], limit=1).rows) == 1


def _cli_args(argv):
    parser = argparse.ArgumentParser()
    eval_cli.add_arguments(parser)
    return parser.parse_args(argv)


def test_cli_errors_before_loading_anything(tmp_path, capsys):
    path = _write(tmp_path / 'set.jsonl', [_row(0)])
    model = tmp_path / 'model'
    model.mkdir()
    cases = [
        (['--model', str(model), '--eval_sets', str(tmp_path / 'none.jsonl')], 'does not exist'),
        (['--model', str(model), '--eval_sets', str(path), '--modes', 'speech', 'video'], "unknown mode 'video'"),
        (['--model', str(model), '--adapters', str(tmp_path / 'no-adapter'), '--eval_sets', str(path)],
         'adapter path .*no-adapter does not exist'),
        (['--model', str(model), '--eval_sets', str(path), '--modes', 'speech'], 'no audio in'),
    ]
    for argv, message in cases:
        assert eval_cli.main(_cli_args(argv + ['--output_dir', str(tmp_path / 'out')])) == 2
        err = capsys.readouterr().err
        assert err.startswith('swift-tars eval: error:'), err
        assert re.search(message, err), err


def test_vllm_backend_needs_vllm(tmp_path, capsys):
    if importlib.util.find_spec('vllm') is not None:
        pytest.skip('vllm is installed here')
    path = _write(tmp_path / 'set.jsonl', [_row(0)])
    args = _cli_args(['--model', str(tmp_path), '--eval_sets', str(path), '--modes', 'text', '--infer_backend', 'vllm',
                      '--output_dir', str(tmp_path / 'out')])
    assert eval_cli.main(args) == 2
    assert 'needs the vllm package' in capsys.readouterr().err


def test_output_dir_of_another_run_is_refused(tmp_path):
    out = tmp_path / 'out'
    args = _cli_args(['--model', 'a', '--eval_sets', 'x.jsonl'])
    eval_cli.prepare_output_dir(out, eval_cli.run_identity(args), overwrite=False)
    (out / 'predictions.jsonl').write_text('{}\n')
    eval_cli.prepare_output_dir(out, eval_cli.run_identity(args), overwrite=False)  # same run: resume
    other = _cli_args(['--model', 'b', '--eval_sets', 'x.jsonl'])
    with pytest.raises(EvalSetError, match="different run \\(model: 'a' -> 'b'\\)"):
        eval_cli.prepare_output_dir(out, eval_cli.run_identity(other), overwrite=False)
    eval_cli.prepare_output_dir(out, eval_cli.run_identity(other), overwrite=True)
    assert not (out / 'predictions.jsonl').exists()


def test_every_bad_row_of_an_eval_file_in_one_error(tmp_path):
    """Speech mode applies the training rules and reports every problem at once, each with file, line and id."""
    import soundfile as sf

    wav = tmp_path / 'ok.wav'
    sf.write(wav, [0.0] * 1600, 16000)
    good = _row(0, audios=[str(wav)])
    path = tmp_path / 'set.jsonl'
    path.write_text(json.dumps(good) + '\n{"not json\n' + json.dumps(_row(2, audios=[str(wav)], solution='E')) + '\n'
                    + json.dumps(_row(3, audios=[str(wav)], messages=[{'role': 'user', 'content': 'no tag'}])) + '\n')
    with pytest.raises(EvalSetError) as e:
        load_eval_set('x', path, ['speech', 'text'])
    text = str(e.value)
    assert text.startswith('3 invalid eval row(s) or file(s) among 3 row(s) checked; nothing was generated')
    assert f'{path} line 2: this line is not JSON' in text
    assert f"{path} line 3 (question_id='q2'): solution 'E' is not among the option letters A, B" in text
    assert f"{path} line 4 (question_id='q3'): messages must contain exactly one <audio> tag" in text
    assert len(load_eval_set('x', path, ['speech'], limit=1).rows) == 1  # rows past --limit are not played
