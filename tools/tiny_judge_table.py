"""Prints the ``swift-tars eval --judge`` tables of the README on CPU, offline: the tiny Qwen2.5-Omni of the tests
answers N spoken demo questions in both modes, then a tiny stand-in for xFinder-qwen1505 (same architecture and
prompt format, :mod:`swift_tars.testing.judges`) taught to reply, for those exact prompts in turn, the gold letter,
``[No valid answer]`` and a wrong letter reads them. The judge's numbers therefore show the report, not a judge's
quality. Usage: ``python tools/tiny_judge_table.py OUT_DIR [N]``.
"""
import json
import sys
import time
from pathlib import Path

from swift_tars.commands.demo import build_demo_dataset
from swift_tars.evaluation import eval_cli
from swift_tars.evaluation.judged import choice_item
from swift_tars.judging.xfinder import NO_ANSWER, xfinder_prompt
from swift_tars.testing.data import write_jsonl
from swift_tars.testing.judges import build_tiny_judge
from swift_tars.testing.models import build_tiny_omni
from swift_tars.testing.warm_start import gap_warm_start


def _eval(argv):
    return eval_cli.main(eval_cli.parse(argv))


def main(out: Path, n: int) -> int:
    t0 = time.time()
    rows = [json.loads(line) for line in build_demo_dataset(out / 'data').read_text().splitlines()]
    model = build_tiny_omni(out / 'tiny-omni', warm_start=gap_warm_start(rows))
    eval_file = write_jsonl(out / 'demo.jsonl', rows[:n])
    base = ['--model', str(model), '--model_type', 'qwen2_5_omni', '--eval_sets', f'demo={eval_file}',
            '--output_dir', str(out / 'eval'), '--max_new_tokens', '40', '--no_progress']
    _eval(base)
    by_qid = {r['question_id']: r for r in rows}
    records = [json.loads(line) for line in (out / 'eval' / 'predictions.jsonl').read_text().splitlines()]
    prompts = {xfinder_prompt(*choice_item(by_qid[r['question_id']], r)): r['gold'] for r in records}
    teach = [(p, [gold, NO_ANSWER, next(x for x in 'ABCD' if x != gold)][i % 3])
             for i, (p, gold) in enumerate(prompts.items())]
    judge = build_tiny_judge(out / 'tiny-xfinder', teach, steps=400)
    code = _eval(base + ['--judge', str(judge)])
    print(f'[tiny_judge_table] {time.time() - t0:.0f} s in all', flush=True)
    return code


if __name__ == '__main__':
    sys.exit(main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 8))
