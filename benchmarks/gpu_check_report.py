"""``summary.md`` of ``benchmarks/gpu_check.sh``: the merged ``summary.json`` as a short markdown report."""
from typing import List, Optional


def _num(value: Optional[float], fmt: str = '.3f') -> str:
    return 'n/a' if value is None else format(value, fmt)


def _memory(records: List[dict]) -> str:
    if not records:
        return 'n/a'
    parts = []
    for r in records:
        if 'max_allocated_gib' in r:
            parts.append(f"rank {r['rank']}: {r['max_allocated_gib']:.2f} GiB allocated / "
                         f"{r['max_reserved_gib']:.2f} reserved ({r['device']})")
        else:
            parts.append(f"rank {r['rank']}: peak RSS {r['peak_rss_gib']:.2f} GiB (CPU)")
    return '; '.join(parts)


def _grpo(grpo: dict) -> List[str]:
    if not grpo:
        return ['GRPO step: no result']
    ratio = grpo.get('step_time_ratio')
    verdict = 'n/a' if ratio is None else ('within' if grpo['within_target'] else 'OVER')
    lines = [f"## GRPO step, TARS vs plain ({grpo['shape']} shape, {grpo['dtype']}, {grpo['device']}; "
             f"embedder {grpo['embedder']})", '',
             f"{grpo['geometry']}, {grpo['completion_length']}-token completions; median `step_time` of the steps "
             'after the first', '', '| arm | steps | median s/step | peak memory per rank | ms-swift memory(GiB) |',
             '|---|---|---|---|---|']
    for name, arm in grpo['arms'].items():
        lines.append(f"| {name} | {arm['steps']} | {_num(arm['median_step_time'])} | "
                     f"{_memory(arm['memory_per_rank'])} | {_num(arm['swift_memory_gib'], '.2f')} |")
    note = '' if grpo.get('meaningful') else ' (dry run on CPU: not meaningful for the target)'
    lines += ['', f"TARS / plain step time: **{_num(ratio)}×**, target ≤ {grpo['target_ratio']:.2f}×: "
              f'{verdict}{note}']
    return lines


def markdown(summary: dict) -> str:
    lines = [f"# GPU check ({summary['mode']})", '', '| stage | status |', '|---|---|']
    lines += [f'| {stage} | {status} |' for stage, status in summary['stages'].items()]
    lines += [''] + _grpo(summary.get('grpo', {})) + ['']
    e2e = summary.get('e2e', {})
    if e2e:
        failed = [k for k, ok in e2e['checks'].items() if not ok]
        lines += ['## Tiny end-to-end run', '',
                  f"device {e2e['device']}: {'passed' if e2e['passed'] else 'FAILED ' + ', '.join(failed)} "
                  f"({len(e2e['step_time'])} steps, {e2e['seconds']} s; {_memory(e2e['memory_per_rank'])})", '']
    ev = summary.get('eval', {})
    if ev:
        acc = ev['accuracy']
        lines += ['## swift-tars eval, tiny model', '',
                  f"{ev['items']} answers in {ev['eval_seconds']} s (engine load included): "
                  f"**{_num(ev['items_per_s'], '.2f')} items/s**; accuracy speech {acc['speech']}, "
                  f"text {acc['text']}", '']
    return '\n'.join(lines)
