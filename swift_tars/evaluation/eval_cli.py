"""``swift-tars eval``: speech vs text accuracy, gap and MRR of a model, checkpoint or LoRA adapter.

Each question runs in speech mode (``SYSTEM_THINK`` + the audio) and in text mode (``SYSTEM_THINK`` + the
row's ``text_query``) through ms-swift's inference engine, greedy by default; answers are read with
``extract_choice``. Writes ``predictions.jsonl`` (resumable: rerun the same command after a kill or an edit
of the eval file; every answer is keyed on the content it answered, :mod:`.resume`), ``summary.json`` and
``summary.md`` (with the speech × text 2×2 and bootstrap intervals, :mod:`.paired`) under ``--output_dir`` and
prints the table. ``--compare RUN_A RUN_B`` compares two such output dirs item by item (:mod:`.compare`).
``--task asr`` transcribes ASR rows instead and reports the word error rate (:mod:`.asr`).
"""
import argparse
import json
import sys
import time
from pathlib import Path
from typing import List, Optional

from swift_tars.evaluation import runner
from swift_tars.evaluation.asr import ASR, TASKS, asr_markdown, load_asr_sets, summarize_asr, write_asr_summary
from swift_tars.evaluation.compare import compare_runs
from swift_tars.evaluation.engine import (
    BACKENDS,
    DTYPES,
    EngineConfigError,
    check_backend,
    check_model_paths,
    create_engine,
    request_config,
)
from swift_tars.evaluation.eval_sets import EvalSetError, load_eval_sets
from swift_tars.evaluation.fingerprint import item_fingerprints, run_fingerprint, weights_signature
from swift_tars.evaluation.judged import add_judge_summary, judge_identity, judge_records, make_judge
from swift_tars.evaluation.metrics import MODES, Reference, reference_from_summary, summarize
from swift_tars.evaluation.open_task import OPEN, load_open_sets, open_markdown, summarize_open, write_open_summary
from swift_tars.evaluation.paired import RESAMPLES, SEED, add_paired
from swift_tars.evaluation.predictions import PredictionStore
from swift_tars.evaluation.report import compare_markdown, markdown, write_summary
from swift_tars.evaluation.resume import reconcile
from swift_tars.judging.judges import check_spec
from swift_tars.judging.serving import JudgeError

TASK_KINDS = {'mcq': runner.MCQ, 'asr': ASR, 'open': OPEN}

RUN_KEYS = ('model', 'adapters', 'model_type', 'torch_dtype', 'infer_backend', 'max_new_tokens', 'temperature',
            'top_p', 'seed', 'weights', 'task')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument('--model', default=None, help='base model or full checkpoint (path or hub id); required '
                        'unless --compare')
    parser.add_argument('--adapters', nargs='*', default=[], help='LoRA adapter dir(s) applied on --model')
    parser.add_argument('--eval_sets', nargs='+', default=None, metavar='[NAME=]JSONL',
                        help='row-format eval files (ASR rows with --task asr), optionally named (default name: the '
                        'file stem); required unless --compare')
    parser.add_argument('--task', choices=TASKS, default='mcq',
                        help='mcq (default): multiple-choice accuracy in speech and text mode; asr: transcribe '
                        '(audio, transcript) rows with a transcription prompt and report the WER; open: free-form '
                        'questions (open rows, e.g. build-data voicebench --subset sd-qa) scored against their '
                        'references, per accent')
    parser.add_argument('--judge', default=None, metavar='xfinder|MODEL|URL',
                        help='also score every answer with an LLM judge: `xfinder` (the paper\'s '
                        'IAAR-Shanghai/xFinder-qwen1505, its prompt and labels), a local model folder or hub id in '
                        'xFinder\'s format, or an OpenAI-compatible base URL (http://host:port/v1). --task open: a '
                        'chat model or URL asked whether the answer matches the reference (VoiceBench\'s SD-QA '
                        'scoring). Judged answers are kept; rerunning judges only what changed')
    parser.add_argument('--judge_model', default='', help='model name sent to a --judge endpoint')
    parser.add_argument('--judge_batch_size', type=int, default=16, help='answers per judge call (default 16)')
    parser.add_argument('--compare', nargs=2, default=None, metavar=('RUN_A', 'RUN_B'),
                        help='compare two eval output dirs item by item (B − A per set and mode, exact McNemar p); '
                        'writes compare.json / compare.md under --output_dir; loads no model')
    parser.add_argument('--bootstrap_resamples', type=int, default=RESAMPLES,
                        help=f'bootstrap resamples of the items for the 95 %% intervals (default {RESAMPLES}; '
                        '0 = none)')
    parser.add_argument('--bootstrap_seed', type=int, default=SEED, help=f'bootstrap seed (default {SEED})')
    parser.add_argument('--output_dir', default=None,
                        help='where predictions.jsonl / summary.json / summary.md go '
                        '(default: tars-eval/<model or adapter name>); rerun with the same dir to resume')
    parser.add_argument('--modes', nargs='+', default=None, help='speech and/or text (default: both; --task asr: '
                        'speech only)')
    parser.add_argument('--limit', type=int, default=None, help='only the first N rows of each set')
    parser.add_argument('--batch_size', type=int, default=None,
                        help='requests per engine call, also the unit of resuming (default: 8; vLLM 256)')
    parser.add_argument('--max_new_tokens', type=int, default=1000, help='default 1000, as in the paper')
    parser.add_argument('--temperature', type=float, default=0.0, help='0 = greedy (default)')
    parser.add_argument('--top_p', type=float, default=None)
    parser.add_argument('--seed', type=int, default=42, help='sampling seed (only matters with --temperature > 0)')
    parser.add_argument('--infer_backend', choices=BACKENDS, default='transformers')
    parser.add_argument('--model_type', default=None, help="ms-swift model type (default: detected, e.g. qwen2_5_omni)")
    parser.add_argument('--torch_dtype', choices=DTYPES, default='auto',
                        help="auto: the checkpoint's dtype on GPU, float32 on CPU")
    parser.add_argument('--reference_text_acc', default=None, metavar='PERCENT|SUMMARY_JSON',
                        help="MRR denominator: a text accuracy in percent (e.g. 77.70), or another run's "
                        "summary.json (e.g. the base model's) whose per-set text accuracies are used")
    parser.add_argument('--overwrite', action='store_true',
                        help='discard the predictions of a different earlier run (other model, adapters, weights or '
                        'decoding settings) in --output_dir')
    parser.add_argument('--no_progress', action='store_true', help='no progress bar')
    parser.add_argument('--vllm_gpu_memory_utilization', type=float, default=0.9)
    parser.add_argument('--vllm_max_model_len', type=int, default=None)
    parser.add_argument('--vllm_max_lora_rank', type=int, default=64)


def load_reference(spec: Optional[str]):
    """``--reference_text_acc``: a percentage, or the path of another run's ``summary.json``."""

    if spec is None:
        return None
    try:
        value = float(spec)
    except ValueError:
        path = Path(spec)
        if not path.is_file():
            raise EvalSetError(f'--reference_text_acc {spec!r} is neither a number nor an existing summary.json')
        try:
            return reference_from_summary(json.loads(path.read_text()), str(path))
        except (json.JSONDecodeError, AttributeError) as e:
            raise EvalSetError(f'--reference_text_acc {path} is not a swift-tars eval summary.json ({e})') from None
    if not 0 < value <= 100:
        raise EvalSetError(f'--reference_text_acc {value} must be a text accuracy in percent, in (0, 100]')
    return Reference(source=f'--reference_text_acc {value:g}', value=value)


def _abs(path: str) -> str:
    return str(Path(path).resolve()) if Path(path).exists() else path


def run_identity(args: argparse.Namespace) -> dict:
    """What must match for two runs to share one predictions file (``weights``: see
    :func:`.fingerprint.weights_signature`)."""
    signatures = {_abs(p): weights_signature(p) for p in [args.model] + list(args.adapters)}
    return {'model': _abs(args.model), 'adapters': [_abs(a) for a in args.adapters], 'model_type': args.model_type,
            'torch_dtype': args.torch_dtype, 'infer_backend': args.infer_backend,
            'max_new_tokens': args.max_new_tokens, 'temperature': args.temperature, 'top_p': args.top_p,
            'seed': args.seed if args.temperature > 0 else None,
            **({'task': args.task} if getattr(args, 'task', 'mcq') != 'mcq' else {}),
            'weights': {p: sig for p, sig in signatures.items() if sig} or None}


def _describe(key: str, old, new) -> str:
    if key == 'weights' and old is None:
        return 'weights: not recorded by the earlier run (an older swift-tars)'
    if key == 'weights':
        return 'weights: the files of the model/adapters (names, sizes or mtimes) changed'
    return f'{key}: {old!r} -> {new!r}'


def prepare_output_dir(out: Path, identity: dict, overwrite: bool) -> None:
    """Creates ``out`` with ``run_config.json``; refuses to mix predictions of different runs."""
    out.mkdir(parents=True, exist_ok=True)
    config_path = out / 'run_config.json'
    if config_path.exists():
        previous = json.loads(config_path.read_text())
        diff = [k for k in RUN_KEYS if previous.get(k) != identity.get(k)]
        if diff and not overwrite:
            details = ', '.join(_describe(k, previous.get(k), identity.get(k)) for k in diff)
            raise EvalSetError(f'{out} holds predictions of a different run ({details}); use another --output_dir, '
                               'or --overwrite to discard them')
        if diff:
            for name in ('predictions.jsonl', 'summary.json', 'summary.md'):
                (out / name).unlink(missing_ok=True)
    config_path.write_text(json.dumps(identity, indent=2) + '\n')


def default_output_dir(args: argparse.Namespace) -> Path:
    name = Path((args.adapters or [args.model])[-1].rstrip('/')).name or 'model'
    return Path('tars-eval') / name


def parse(argv: List[str]) -> argparse.Namespace:
    """Parses ``swift-tars eval`` arguments (without the ``eval`` word) for programmatic use."""
    parser = argparse.ArgumentParser(prog='swift-tars eval')
    add_arguments(parser)
    return parser.parse_args(argv)


def main(args: argparse.Namespace, engine_factory=None) -> int:
    """Runs the evaluation (or ``--compare``); ``engine_factory`` (tests) replaces :func:`engine.create_engine`."""
    try:
        if args.compare:
            return run_compare(args)
        return _main(args, engine_factory)
    except (EvalSetError, EngineConfigError, JudgeError) as e:
        print(f'swift-tars eval: error: {e}', file=sys.stderr)
        return 2


def run_compare(args: argparse.Namespace) -> int:
    """``--compare RUN_A RUN_B``: prints the paired table, writes ``compare.json`` and ``compare.md``."""
    if args.bootstrap_resamples < 0:
        raise EvalSetError('--bootstrap_resamples must be 0 (no intervals) or more')
    dir_a, dir_b = (Path(d) for d in args.compare)
    for d in (dir_a, dir_b):
        config = d / 'run_config.json'
        if config.is_file() and json.loads(config.read_text()).get('task', 'mcq') != 'mcq':
            raise EvalSetError(f'--compare pairs multiple-choice runs; {d} is a --task '
                               f"{json.loads(config.read_text())['task']} run (compare the two summary.json files)")
    result = compare_runs(dir_a, dir_b, args.bootstrap_resamples, args.bootstrap_seed)
    name = f'{dir_a.resolve().name}-vs-{dir_b.resolve().name}'
    out = Path(args.output_dir) if args.output_dir else Path('tars-eval') / 'compare' / name
    out.mkdir(parents=True, exist_ok=True)
    text = compare_markdown(result)
    (out / 'compare.json').write_text(json.dumps(result, indent=2, ensure_ascii=False) + '\n')
    (out / 'compare.md').write_text(text)
    print(text)
    print(f"[eval] comparison: {out / 'compare.json'} and {out / 'compare.md'}", flush=True)
    return 0


def check_args(args: argparse.Namespace) -> List[str]:
    """Validates the arguments of an evaluation before anything is loaded; returns the modes."""
    if not args.model or not args.eval_sets:
        raise EvalSetError('--model and --eval_sets are required (or --compare RUN_A RUN_B to compare two runs)')
    task = getattr(args, 'task', 'mcq')
    modes: List[str] = list(dict.fromkeys(args.modes or (['speech'] if task == 'asr' else MODES)))
    for mode in modes:
        if mode not in MODES:
            raise EvalSetError(f'unknown mode {mode!r} in --modes: choose from {", ".join(MODES)}')
    if task == 'asr' and (modes != ['speech'] or args.reference_text_acc is not None):
        raise EvalSetError('--task asr transcribes speech only and has no MRR: drop --modes and --reference_text_acc')
    if task == 'open' and args.reference_text_acc is not None:
        raise EvalSetError('--task open has no MRR: drop --reference_text_acc')
    if getattr(args, 'judge', None):
        if task == 'asr':
            raise EvalSetError('--task asr is scored by WER; --judge applies to --task mcq and --task open')
        try:
            check_spec(args.judge, '--judge')
            if task == 'open':
                make_judge('open', args.judge)  # refuses xfinder for free-form answers; loads nothing yet
        except JudgeError as e:
            raise EvalSetError(str(e)) from None
        if args.judge_batch_size < 1:
            raise EvalSetError('--judge_batch_size must be at least 1')
    check_backend(args.infer_backend)
    check_model_paths(args.model, args.adapters)
    if args.limit is not None and args.limit < 1:
        raise EvalSetError('--limit must be at least 1')
    if args.bootstrap_resamples < 0:
        raise EvalSetError('--bootstrap_resamples must be 0 (no intervals) or more')
    return modes


def _factories(args: argparse.Namespace, batch_size: int, engine_factory=None):
    """(engine factory, request-config factory) of the run, both called only when something is generated."""

    def factory():
        if engine_factory is not None:
            return engine_factory()
        return create_engine(args.model, adapters=args.adapters, backend=args.infer_backend,
                             model_type=args.model_type, torch_dtype=args.torch_dtype, batch_size=batch_size,
                             vllm_gpu_memory_utilization=args.vllm_gpu_memory_utilization,
                             vllm_max_model_len=args.vllm_max_model_len, vllm_max_lora_rank=args.vllm_max_lora_rank,
                             seed=args.seed)

    def config_factory():
        if args.temperature > 0:
            from transformers import set_seed

            set_seed(args.seed)
        return request_config(args.max_new_tokens, args.temperature, args.top_p,
                              args.seed if args.temperature > 0 else None)

    return factory, config_factory


def _generate(args: argparse.Namespace, sets, modes: List[str], task: runner.TaskKind, identity: dict, out: Path,
              batch_size: int, engine_factory=None):
    """Brings ``predictions.jsonl`` up to date (reconciled with the eval files, then every missing answer
    generated); returns (store, generation counts, what the reconciliation changed)."""
    prepare_output_dir(out, identity, args.overwrite)
    store = PredictionStore(out / 'predictions.jsonl')
    if store.repaired_bytes:
        print(f'[eval] cut a half-written last line ({store.repaired_bytes} bytes) off {store.path}', flush=True)
    fingerprints, run_fp = item_fingerprints(sets, modes, task.request), run_fingerprint(identity)
    changes = reconcile(sets, modes, store, fingerprints, run_fp, args.overwrite, task)
    for line in changes.messages():
        print(f'[eval] {line}', flush=True)
    todo = sum(len(r) for r in runner.pending(sets, modes, store).values())
    total = sum(len(s.rows) for s in sets) * len(modes)
    print(f'[eval] {len(sets)} set(s), modes {" ".join(modes)}: {total - todo} of {total} answers already in '
          f'{store.path}, {todo} to generate', flush=True)
    counts = runner.run(sets, modes, store, *_factories(args, batch_size, engine_factory), batch_size,
                        progress=not args.no_progress, fingerprints=fingerprints, run_fp=run_fp, task=task)
    return store, counts, changes


def _load_sets(args: argparse.Namespace, modes: List[str]):
    """The eval sets of the task, every row checked before any model is loaded."""
    task = getattr(args, 'task', 'mcq')
    if task == 'asr':
        return load_asr_sets(args.eval_sets, args.limit)
    if task == 'open':
        return load_open_sets(args.eval_sets, args.limit)
    return load_eval_sets(args.eval_sets, modes, args.limit)


def _judge(args: argparse.Namespace, sets, modes: List[str], store, task: str) -> Optional[dict]:
    """``--judge``: judges every stored answer not yet judged by this judge; returns the judge identity."""
    if not getattr(args, 'judge', None):
        return None
    identity = judge_identity(args.judge, args.judge_model)
    judge = make_judge(task, args.judge, args.judge_model, args.judge_batch_size)
    counts = judge_records(sets, modes, store, judge, identity, args.judge_batch_size, not args.no_progress)
    print(f"[eval] judge {identity['judge']}: {counts['judged']} answer(s) judged now, {counts['judged_before']} "
          'already judged', flush=True)
    return identity


def _scores(args: argparse.Namespace, task: str, records, reference, judge: Optional[dict]) -> dict:
    if task == 'asr':
        return summarize_asr(records)
    if task == 'open':
        return {**summarize_open(records), **({'judge': judge} if judge else {})}
    scores = summarize(records, reference)
    add_paired(scores, records, args.bootstrap_resamples, args.bootstrap_seed)
    if judge:
        add_judge_summary(scores, records, judge)
    return scores


def _main(args: argparse.Namespace, engine_factory=None) -> int:
    t0 = time.time()
    modes = check_args(args)
    task = getattr(args, 'task', 'mcq')
    batch_size = args.batch_size or (256 if args.infer_backend == 'vllm' else 8)
    sets = _load_sets(args, modes)
    reference = load_reference(args.reference_text_acc) if task == 'mcq' else None
    out = Path(args.output_dir) if args.output_dir else default_output_dir(args)
    identity = run_identity(args)
    store, counts, changes = _generate(args, sets, modes, TASK_KINDS[task], identity, out, batch_size,
                                       engine_factory)
    judge = _judge(args, sets, modes, store, task)
    records = runner.scored_records(sets, modes, store)
    summary = {
        'run': {**identity, 'eval_sets': {s.name: str(s.path.resolve()) for s in sets}, 'modes': modes,
                'limit': args.limit, 'batch_size': batch_size},
        'counts': {**counts, **changes.counts(), 'seconds': round(time.time() - t0, 1)},
        'reference': None if reference is None else {'source': reference.source, 'value': reference.value},
        **_scores(args, task, records, reference, judge),
    }
    writers = {'asr': (write_asr_summary, asr_markdown), 'open': (write_open_summary, open_markdown),
               'mcq': (write_summary, markdown)}
    write, render = writers[task]
    paths = write(summary, out)
    print(render(summary))
    print(f'[eval] predictions: {store.path}\n[eval] summary: {paths[0]} and {paths[1]}', flush=True)
    return 0
