"""The eval summary as JSON and as a markdown table (what ``swift-tars eval`` writes and prints)."""
import json
from pathlib import Path
from typing import Callable, List, Optional

from swift_tars.data.rows import SPEECH, TEXT
from swift_tars.evaluation.judged import judge_table

PAIRED_KEYS = ('n', 'both_right', 'only_text', 'only_speech', 'neither')

DEFINITIONS = {
    'accuracy': 'percent of all items whose extracted letter (swift_tars.answers.extract_choice) equals the gold '
                'letter; an item with no extractable answer counts as wrong',
    'extraction_failure_rate': 'percent of items where extract_choice returned None',
    'truncated_rate': 'percent of completions stopped by --max_new_tokens (finish_reason "length")',
    'gap': 'text accuracy minus speech accuracy, in points',
    'own_ratio': "speech accuracy / this model's own text accuracy, in percent",
    'mrr': 'Modality Recovery Rate: speech accuracy / a reference text accuracy (--reference_text_acc), in '
           'percent; the denominator and its source are stored with every value (docs/method.md §10)',
    'item_weighted': 'all items of all sets pooled',
    'unweighted_mean_over_sets': "mean of the per-set accuracies, the paper's Avg(A) / Avg(T)",
    'paired': 'items answered in both modes: both right, only text right, only speech right, neither; '
              'gap = (only_text - only_speech) / n, in points',
    'judge': 'with --judge: per mode the extractor and judge accuracies over the judged items, judge_no_answer_rate '
             '(the judge named no option), disagreement_rate (the two read different letters, None included) and '
             'correctness_disagreement_rate (one right, the other wrong); gap = text − speech judge accuracy',
    'intervals': '[low, high] percentile bootstrap intervals over items (intervals_method: resamples, seed, '
                 'confidence); both modes of an item are drawn together (paired gap); overall intervals resample '
                 'within each set; the MRR interval is the speech interval over the fixed reference denominator',
}


def _f(x: Optional[float], digits: int = 2) -> str:
    return '—' if x is None else f'{x:.{digits}f}'


def _mrr_cell(block: dict) -> str:
    m = block.get('mrr')
    return '—' if not m else f"{m['value']:.2f} (÷ {m['denominator']:.2f})"


def _row(label: str, items: str, block: dict) -> str:
    speech, text = block.get(SPEECH, {}), block.get(TEXT, {})
    cells = [label, items, _f(speech.get('accuracy')), _f(text.get('accuracy')), _f(block.get('gap')),
             _f(block.get('own_ratio')), _mrr_cell(block), _f(speech.get('extraction_failure_rate')),
             _f(text.get('extraction_failure_rate'))]
    return '| ' + ' | '.join(cells) + ' |'


def markdown(summary: dict) -> str:
    """The main table (per set, item-weighted overall, unweighted mean over sets), notes, per-subject tables."""
    lines = [
        '| Set | Items | Speech acc A (%) | Text acc T (%) | Gap T−A (pts) | A/T own (%) | MRR (%) (÷ ref. T) '
        '| Speech no answer (%) | Text no answer (%) |',
        '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ]
    for name, s in summary['sets'].items():
        lines.append(_row(name, str(s['n_items']), s))
    if len(summary['sets']) > 1:
        ov = summary['overall']
        n_items = sum(s['n_items'] for s in summary['sets'].values())
        lines.append(_row('**All sets, item-weighted**', str(n_items), ov['item_weighted']))
        lines.append(_row("**Mean over sets, unweighted (paper's Avg)**", f"{len(summary['sets'])} sets",
                          ov['unweighted_mean_over_sets']))
    lines.append('')
    lines.append("A/T own = speech accuracy / this model's own text accuracy. " + _mrr_note(summary))
    for warning in summary.get('warnings', []):
        lines.append(f'\nWarning: {warning}')
    lines += paired_table(summary)
    lines += judge_table(summary)
    for name, s in summary['sets'].items():
        if not s.get('subjects'):
            continue
        lines += ['', f'**{name}** by subject:', '',
                  '| Subject | Items | Speech acc A (%) | Text acc T (%) | Gap T−A (pts) | A/T own (%) |',
                  '|---|---:|---:|---:|---:|---:|']
        for subject, b in s['subjects'].items():
            n = max(b.get(SPEECH, {}).get('n', 0), b.get(TEXT, {}).get('n', 0))
            lines.append('| ' + ' | '.join([subject, str(n), _f(b.get(SPEECH, {}).get('accuracy')),
                                            _f(b.get(TEXT, {}).get('accuracy')), _f(b.get('gap')),
                                            _f(b.get('own_ratio'))]) + ' |')
    return '\n'.join(lines) + '\n'


def _mrr_note(summary: dict) -> str:
    ref = summary.get('reference')
    if not ref:
        return ('MRR = speech accuracy / a reference text accuracy (the paper divides by the original text '
                "backbone's, docs/method.md §10): not computed, pass --reference_text_acc (a number, or the "
                "summary.json of the base model's run).")
    if ref.get('value') is not None:
        return f"MRR = speech accuracy / {ref['value']:.2f}, the reference text accuracy given by {ref['source']}."
    return (f"MRR = speech accuracy / the reference text accuracy from {ref['source']} (the ÷ value in each "
            "cell): per set that set's reference accuracy, item-weighted the reference's pooled accuracy, "
            'unweighted the mean of its set accuracies.')


def write_summary(summary: dict, out_dir, stem: str = 'summary', definitions: Optional[dict] = None,
                  render: Optional[Callable[[dict], str]] = None) -> List[Path]:
    """Writes ``{stem}.json`` (with ``definitions``, default the multiple-choice ones) and ``{stem}.md``
    (``render``, default :func:`markdown`) under ``out_dir``; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / f'{stem}.json', out_dir / f'{stem}.md'
    body = {**summary, 'definitions': DEFINITIONS if definitions is None else definitions}
    json_path.write_text(json.dumps(body, indent=2, ensure_ascii=False) + '\n')
    md_path.write_text((render or markdown)(summary))
    return [json_path, md_path]


def _ci(block: dict, key: str, value: Optional[float]) -> str:
    interval = (block.get('intervals') or {}).get(key)
    if value is None:
        return '—'
    return f'{value:.2f}' if not interval else f'{value:.2f} [{interval[0]:.2f}, {interval[1]:.2f}]'


def _paired_row(label: str, block: dict, table: Optional[dict]) -> str:
    cells = [label] + (['—'] * 5 if not table else [str(table[k]) for k in PAIRED_KEYS])
    cells += [_ci(block, 'speech_accuracy', block.get(SPEECH, {}).get('accuracy')),
              _ci(block, 'text_accuracy', block.get(TEXT, {}).get('accuracy')), _ci(block, 'gap', block.get('gap')),
              _ci(block, 'mrr', (block.get('mrr') or {}).get('value'))]
    return '| ' + ' | '.join(cells) + ' |'


def paired_table(summary: dict) -> List[str]:
    """Lines of the speech × text 2×2 per set and the bootstrap intervals (nothing when not computed)."""
    method = summary.get('intervals_method')
    if not method:
        return []
    lines = ['', f"Paired items and {100 * method['confidence']:g} % intervals ({method['method']}, "
             f"{method['resamples']} resamples, seed {method['seed']}):", '',
             '| Set | Paired items | Both right | Only text right | Only speech right | Neither | Speech acc A [CI] '
             '| Text acc T [CI] | Gap T−A [CI] | MRR [CI] |', '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    tables = [s.get('paired') for s in summary['sets'].values()]
    for (name, s), table in zip(summary['sets'].items(), tables):
        lines.append(_paired_row(name, s, table))
    if len(summary['sets']) > 1:
        total = None if None in tables else {k: sum(t[k] for t in tables) for k in PAIRED_KEYS}
        ov = summary['overall']
        lines.append(_paired_row('**All sets, item-weighted**', ov['item_weighted'], total))
        lines.append(_paired_row("**Mean over sets, unweighted**", ov['unweighted_mean_over_sets'], None))
    return lines


def _p(p: float) -> str:
    return f'{p:.4g}' if p >= 1e-4 else f'{p:.1e}'


def compare_markdown(result: dict) -> str:
    """The table of ``swift-tars eval --compare``: per set and mode, B − A with its interval and McNemar p."""
    lines = [f"RUN_A = {result['run_a']}", f"RUN_B = {result['run_b']}", '',
             '| Set | Mode | Paired items | RUN_A acc (%) | RUN_B acc (%) | B − A (pts) [95 % CI] | Only A right '
             '| Only B right | McNemar exact p |', '|---|---|---:|---:|---:|---:|---:|---:|---:|']
    cells = [(name, mode, block[mode]) for name, block in result['sets'].items() for mode in (SPEECH, TEXT)
             if mode in block]
    if len(result['sets']) > 1:
        cells += [('**All sets, pooled**', mode, d) for mode, d in result['pooled'].items()]
    for name, mode, d in cells:
        ci = d['interval']
        diff = _f(d['difference']) + ('' if not ci else f' [{ci[0]:.2f}, {ci[1]:.2f}]')
        lines.append('| ' + ' | '.join([name, mode, str(d['n']), _f(d['accuracy_a']), _f(d['accuracy_b']), diff,
                                        str(d['only_a_right']), str(d['only_b_right']), _p(d['mcnemar_p'])]) + ' |')
    lines += ['', 'Items are paired by question_id; McNemar: exact two-sided binomial test of the discordant pairs; '
              f"interval: paired percentile bootstrap ({result['bootstrap']['resamples']} resamples, seed "
              f"{result['bootstrap']['seed']})."]
    lines += [f'\nNote: {n}' for n in result.get('notes', [])]
    return '\n'.join(lines) + '\n'
