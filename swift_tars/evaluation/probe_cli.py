"""``swift-tars probe``: where do speech and text drift apart inside the model?

For N seeded questions of an eval set, the same answer (the model's own greedy text-mode answer, or the
gold ``<answer>The answer is X.</answer>``) is teacher-forced after the speech prompt and after the text
prompt. Per decoder layer: the cosine of the answer-token hidden states (mean and 95 % Student-t interval
over items, the paper's Fig. 2) and the Alignment Path Score between the speech-prompt and text-prompt
states. ``--compare`` adds a second model or LoRA adapter on the same questions. Writes ``probe.json``,
``layer_similarity.png`` and ``aps.png``.
"""
import argparse
import json
import random
import sys
from pathlib import Path
from typing import List, Optional

from swift_tars.evaluation.engine import (
    DTYPES,
    EngineConfigError,
    check_model_paths,
    create_engine,
    generate,
    is_adapter_dir,
    request_config,
)
from swift_tars.evaluation.eval_sets import EvalSetError, build_request, gold_letter, load_eval_set, parse_set_spec
from swift_tars.evaluation.plots import plot_layers
from swift_tars.evaluation.probe import ProbeError, probe_model

ANSWER_SOURCES = ('text', 'gold')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--model', required=True, help='base model or full checkpoint (path or hub id)')
    parser.add_argument('--adapters', nargs='*', default=[], help='LoRA adapter dir(s) applied on --model')
    parser.add_argument('--eval_set', required=True, metavar='[NAME=]JSONL', help='one row-format eval file')
    parser.add_argument('--n', type=int, default=64, help='questions to probe (seeded sample; default 64)')
    parser.add_argument('--seed', type=int, default=0, help='seed of the question sample')
    parser.add_argument('--answer_source', choices=ANSWER_SOURCES, default='text',
                        help="text: each model's own greedy text-mode answer (the paper); "
                        "gold: '<answer>The answer is X.</answer>'")
    parser.add_argument('--max_new_tokens', type=int, default=1000, help='for the text-mode answers')
    parser.add_argument('--batch_size', type=int, default=8, help='generation batch for the text-mode answers')
    parser.add_argument('--compare', default=None,
                        help='a second model: a LoRA adapter dir (applied on --model) or a full checkpoint')
    parser.add_argument('--labels', nargs='+', default=None, help='curve labels (default: the directory names)')
    parser.add_argument('--output_dir', default=None, help='default: tars-probe/<model or adapter name>')
    parser.add_argument('--model_type', default=None, help='ms-swift model type (default: detected)')
    parser.add_argument('--torch_dtype', choices=DTYPES, default='auto',
                        help="auto: the checkpoint's dtype on GPU, float32 on CPU")
    parser.add_argument('--confidence', type=float, default=0.95, help='of the Student-t intervals')
    parser.add_argument('--no_progress', action='store_true')


def _name(path: str) -> str:
    return Path(path.rstrip('/')).name or path


def model_specs(args: argparse.Namespace) -> List[dict]:
    """(label, model, adapters) of the probed model and of the ``--compare`` one."""

    specs = [{'model': args.model, 'adapters': list(args.adapters)}]
    if args.compare:
        if not Path(args.compare).exists() and args.compare.startswith(('.', '/', '~')):
            raise EngineConfigError(f'--compare path {args.compare} does not exist')
        if is_adapter_dir(args.compare):
            specs.append({'model': args.model, 'adapters': [args.compare]})
        else:
            specs.append({'model': args.compare, 'adapters': []})
    for spec in specs:
        check_model_paths(spec['model'], spec['adapters'])
        spec['label'] = _name((spec['adapters'] or [spec['model']])[-1])
    labels = args.labels or []
    if labels and len(labels) != len(specs):
        raise EvalSetError(f'--labels needs {len(specs)} label(s), got {len(labels)}')
    for spec, label in zip(specs, labels):
        spec['label'] = label
    if len(specs) == 2 and specs[0]['label'] == specs[1]['label']:
        specs[1]['label'] += ' (compare)'
    return specs


def select_rows(rows: list, n: int, seed: int) -> list:
    """``n`` rows drawn without replacement with ``random.Random(seed)``, in file order."""
    picked = sorted(random.Random(seed).sample(range(len(rows)), min(n, len(rows))))
    return [rows[i] for i in picked]


def answers_for(engine, rows: list, source: str, max_new_tokens: int, batch_size: int, progress: bool) -> List[str]:
    """The teacher-forced answer of each row: the engine's greedy text-mode completion, or the gold one."""
    from tqdm import tqdm


    if source == 'gold':
        return [f'<answer>The answer is {gold_letter(row)}.</answer>' for row in rows]
    config = request_config(max_new_tokens, 0.0)
    answers: List[str] = []
    for start in tqdm(range(0, len(rows), batch_size), desc='text-mode answers', disable=not progress):
        batch = rows[start:start + batch_size]
        answers += [c.text for c in generate(engine, [build_request(r, 'text') for r in batch], config)]
    return answers


def main(args: argparse.Namespace) -> int:

    try:
        return _main(args)
    except (EvalSetError, EngineConfigError, ProbeError) as e:
        print(f'swift-tars probe: error: {e}', file=sys.stderr)
        return 2


def _main(args: argparse.Namespace) -> int:
    import gc


    if args.n < 1:
        raise EvalSetError('--n must be at least 1')
    specs = model_specs(args)
    set_name, set_path = parse_set_spec(args.eval_set)
    eval_set = load_eval_set(set_name, set_path, ('speech', 'text'))
    rows = select_rows(eval_set.rows, args.n, args.seed)
    out = Path(args.output_dir) if args.output_dir else Path('tars-probe') / specs[-1]['label'].replace(' ', '_')
    out.mkdir(parents=True, exist_ok=True)
    runs = []
    for spec in specs:
        print(f"[probe] {spec['label']}: {len(rows)} questions of {set_path}", flush=True)
        engine = create_engine(spec['model'], adapters=spec['adapters'], model_type=args.model_type,
                               torch_dtype=args.torch_dtype, batch_size=args.batch_size)
        answers = answers_for(engine, rows, args.answer_source, args.max_new_tokens, args.batch_size,
                              not args.no_progress)
        result = probe_model(engine, rows, answers, progress=not args.no_progress, confidence=args.confidence)
        runs.append({'label': spec['label'], 'model': spec['model'], 'adapters': spec['adapters'],
                     'answer_source': args.answer_source, **result})
        del engine
        gc.collect()
        _empty_cuda_cache()
    report = {'eval_set': {'name': set_name, 'path': str(Path(set_path).resolve())}, 'n': args.n, 'seed': args.seed,
              'answer_source': args.answer_source, 'confidence': args.confidence,
              'positions': POSITIONS, 'runs': runs}
    (out / 'probe.json').write_text(json.dumps(report, indent=2, ensure_ascii=False) + '\n')
    pct = f'{args.confidence:.0%}'
    plot_layers(runs, 'similarity', 'cosine(speech, text) of answer tokens',
                f'Answer-token similarity by layer ({set_name}, mean ± {pct} CI)', out / 'layer_similarity.png')
    plot_layers(runs, 'aps', 'Alignment Path Score', f'Speech/text prompt APS by layer ({set_name}, mean ± {pct} CI)',
                out / 'aps.png')
    print(table(runs))
    print(f"[probe] wrote {out / 'probe.json'}, {out / 'layer_similarity.png'}, {out / 'aps.png'}", flush=True)
    return 0


POSITIONS = {
    'layer': 'output of decoder layer i (1-based), captured with forward hooks; the last one before the final norm',
    'similarity': 'per answer token, cosine of its speech-prompt and text-prompt states; mean over the answer tokens '
                  '(its own tokenisation, without end-of-turn tokens); then mean and Student-t CI over items',
    'aps': 'cosine matrix between the speech-prompt audio-token states and the text-prompt text_query-token states; '
           'DTW: the monotonic path (steps (1,0),(0,1),(1,1), (0,0) to (n-1,m-1)) of least summed distance 1 - cos; '
           'APS = mean cosine along that path',
}


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _f(x: Optional[float]) -> str:
    return '—' if x is None else f'{x:.4f}'


def table(runs: List[dict]) -> str:
    """Markdown: per layer, each run's similarity and APS means."""
    head = '| Layer | ' + ' | '.join(f"{r['label']} cos | {r['label']} APS" for r in runs) + ' |'
    lines = [head, '|---:|' + '---:|---:|' * len(runs)]
    for i, layer in enumerate(runs[0]['layers']):
        cells = []
        for r in runs:
            sim, aps = r['similarity']['mean'], r['aps']['mean']
            cells += [_f(sim[i] if i < len(sim) else None), _f(aps[i] if i < len(aps) else None)]
        lines.append(f'| {layer} | ' + ' | '.join(cells) + ' |')
    means = [f"{_f(r['similarity']['mean_over_layers'])} | {_f(r['aps']['mean_over_layers'])}" for r in runs]
    lines.append('| mean | ' + ' | '.join(means) + ' |')
    skipped = '; '.join(f"{r['label']}: {r['n_items']} of {r['n_requested']} items, skipped {r['skipped']}"
                        for r in runs)
    return '\n'.join(lines) + f'\n\n{skipped}\n'
