"""End to end: the real `swift rlhf --rlhf_type grpo` with the plugin on the tiny Qwen2.5-Omni, offline, CPU.

Each check reads what the run wrote (logging.jsonl, completions.jsonl) and recomputes it independently:
rewards from the dataset's gold column, modality tags, the representation column, per-modality advantages,
and the number of policy forwards against plain GRPO.
"""
import json
import math
from pathlib import Path

import pytest
import torch
from conftest import run_swift

from swift_tars.answers import extract_choice
from swift_tars.grpo.advantages import per_modality_advantages
from swift_tars.rewards.format import format_score
from swift_tars.testing.runs import read_completions, read_logging, tiny_rlhf_command

ALL = ['tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior']
COLUMNS = ['TarsAccuracy', 'TarsFormat', 'TarsRepresentation', 'TarsBehavior']
COUNTER = str(Path(__file__).parent / 'plugins' / 'forward_counter.py')


def tars_run(tmp, model, dataset, embedder, rewards=ALL, extra=(), env=None, name='run'):
    out = tmp / name
    cmd = tiny_rlhf_command(model, dataset, out, rewards, '--max_steps', '2', *extra)
    run_swift(cmd, tmp / f'{name}.log', TARS_EMBEDDING_MODEL=str(embedder), **(env or {}))
    return read_logging(out), read_completions(out)


def check_rollouts(rollouts, rows_by_id, group):
    """Alternation, text prompts, reward recomputation, representation pattern, advantages."""
    assert len(rollouts) % group == 0 and rollouts
    for k in range(0, len(rollouts), group):
        block = rollouts[k:k + group]
        assert len({r['question_id'] for r in block}) == 1
        assert [r['tars_modality'] for r in block] == ['speech', 'text'] * (group // 2)
        row = rows_by_id[block[0]['question_id']]
        text_correct = False
        for r in block:
            assert r['solution'] == row['solution']  # the dataset's gold column reached the rewards
            # the training rewards' reading: an empty <answer> block is no answer (swift_tars/answers.py)
            letter = extract_choice(r['completion'], row['options'], read_reasoning_when_answer_empty=False)
            assert r['TarsAccuracy'] == float(letter == row['solution'])
            assert r['TarsFormat'] == format_score(r['completion'])
            if r['tars_modality'] == 'text':
                assert row['text_query'] in r['prompt'] and '<audio>' not in r['prompt']
                text_correct |= r['TarsAccuracy'] == 1.0
                assert math.isnan(r['TarsRepresentation']) and math.isnan(r['TarsBehavior'])
            else:
                assert '<audio>' in r['prompt'] and row['text_query'] not in r['prompt']
        for r in block:
            if r['tars_modality'] == 'speech':
                assert math.isfinite(r['TarsRepresentation']) == text_correct
                assert math.isfinite(r['TarsBehavior']) == text_correct
                if text_correct:
                    assert -1.0 <= r['TarsRepresentation'] <= 1.0
    rewards = torch.tensor([[r[c] for c in COLUMNS] for r in rollouts])
    total = rewards.nansum(dim=1)
    expected = per_modality_advantages(total, [r['tars_modality'] for r in rollouts], group, 'none')
    assert torch.tensor([r['advantages'] for r in rollouts]) == pytest.approx(expected, abs=1e-5)
    return sum(1 for r in rollouts if r['tars_modality'] == 'speech' and math.isfinite(r['TarsRepresentation']))


def check_logging(records, steps=2):
    assert len(records) == steps
    for rec in records:
        for key in ('loss', 'reward', 'rewards/TarsAccuracy/mean', 'rewards/TarsFormat/mean', 'tars/speech/reward',
                    'tars/text/reward', 'tars/speech/TarsAccuracy', 'tars/text/TarsAccuracy'):
            assert math.isfinite(rec[key]), (key, rec)


@pytest.fixture(scope='module')
def rows_by_id(demo_rows):
    return {r['question_id']: r for r in demo_rows}


def test_one_process_all_rewards_and_forward_count(tmp_path, tiny_omni, demo_dataset, tiny_embedder, rows_by_id):
    base = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--gradient_accumulation_steps', '2']
    counts = {}
    for name, rewards, env in (('tars', ALL, {}), ('plain', ALL[:2], {'COUNT_PLAIN_GRPO': '1'})):
        cmd = tiny_rlhf_command(tiny_omni, demo_dataset, tmp_path / name, rewards, '--max_steps', '2', *base,
                                plugins=[COUNTER])
        run_swift(cmd, tmp_path / f'{name}.log', TARS_EMBEDDING_MODEL=str(tiny_embedder),
                  FORWARD_COUNT_FILE=str(tmp_path / f'{name}.count'), **env)
        counts[name] = json.loads((tmp_path / f'{name}.count.0').read_text())
    records, rollouts = read_logging(tmp_path / 'tars'), read_completions(tmp_path / 'tars')
    check_logging(records)
    assert check_rollouts(rollouts, rows_by_id, 4) > 0, 'no speech rollout got a representation reward'
    for key in ('rewards/TarsRepresentation/mean', 'rewards/TarsBehavior/mean'):
        assert any(math.isfinite(r.get(key, float('nan'))) for r in records), key
    # 2 steps x 2 micro-batches: one old-policy forward (no grad) + one loss forward each, like plain GRPO
    assert counts['tars'] == counts['plain'] == {'forwards': 8, 'with_grad': 4}


def free_port() -> str:
    import socket
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return str(s.getsockname()[1])


def test_two_processes_groups_and_gathers_cross_ranks(tmp_path, tiny_omni, demo_dataset, tiny_embedder, rows_by_id):
    """DDP over gloo: each rank holds one whole group per step; rewards and advantages are gathered."""
    extra = ['--num_generations', '4', '--per_device_train_batch_size', '2', '--gradient_accumulation_steps', '2',
             '--ddp_backend', 'gloo']
    env = {'NPROC_PER_NODE': '2', 'ACCELERATE_USE_CPU': '1', 'MASTER_PORT': free_port()}
    records, rollouts = tars_run(tmp_path, tiny_omni, demo_dataset, tiny_embedder, extra=extra, env=env)
    check_logging(records)
    check_rollouts(rollouts, rows_by_id, 4)
    assert len(rollouts) == 16  # 2 steps x 2 ranks x 4 rollouts, gathered on rank 0
    for step in (0, 1):
        assert len({r['question_id'] for r in rollouts[8 * step:8 * step + 8]}) == 2  # one group from each rank


def test_deepspeed_zero3_single_process(tmp_path, tiny_omni, demo_dataset, tiny_embedder, rows_by_id):
    """Code-path smoke test: ZeRO-3 partitioned policy, hooks reading activations, embedder outside ZeRO-3."""
    extra = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--deepspeed', 'zero3']
    env = {'NPROC_PER_NODE': '1', 'MASTER_PORT': free_port()}
    records, rollouts = tars_run(tmp_path, tiny_omni, demo_dataset, tiny_embedder, extra=extra, env=env)
    check_logging(records)
    check_rollouts(rollouts, rows_by_id, 4)


def test_guard_stops_swift_at_start(tmp_path, tiny_omni, demo_dataset, tiny_embedder):
    cmd = tiny_rlhf_command(tiny_omni, demo_dataset, tmp_path / 'out', ALL, '--max_steps', '1', '--num_generations',
                            '4', '--per_device_train_batch_size', '4', '--dynamic_sample', 'true')
    with pytest.raises(pytest.fail.Exception) as e:
        run_swift(cmd, tmp_path / 'guard.log', TARS_EMBEDDING_MODEL=str(tiny_embedder))
    assert 'TarsSetupError' in str(e.value) and '--dynamic_sample false' in str(e.value)
    assert not list((tmp_path / 'out').glob('v*/completions.jsonl'))  # nothing was generated


def test_upstream_text_scoring_trains_text_rows_under_the_audio_prompt(tmp_path, tiny_omni, demo_dataset,
                                                                       tiny_embedder, rows_by_id):
    """TARS_TEXT_SCORING=upstream (docs/method.md §12): text rollouts are generated from the text prompt (their rewards
    are those of text completions) but the old-policy pass, hidden states and loss see the audio prompt. The run
    also evaluates in training (a 2-row validation set, 1 speech + 1 text rollout per question)."""
    val = tmp_path / 'val.jsonl'  # in-training evaluation too: pairing with num_generations_eval = 2
    val.write_text(''.join(json.dumps(r) + '\n' for r in list(rows_by_id.values())[:2]))
    records, rollouts = tars_run(tmp_path, tiny_omni, demo_dataset, tiny_embedder,
                                 extra=['--num_generations', '4', '--per_device_train_batch_size', '4',
                                        '--val_dataset', str(val), '--eval_strategy', 'steps', '--eval_steps', '2',
                                        '--num_generations_eval', '2', '--per_device_eval_batch_size', '2'],
                                 env={'TARS_TEXT_SCORING': 'upstream'})
    check_logging(records)
    logs = sorted((tmp_path / 'run').glob('v*/logging.jsonl'))[-1].read_text().splitlines()
    evals = [json.loads(line) for line in logs if '"eval_tars/speech/reward"' in line]
    assert evals and math.isfinite(evals[0]['eval_tars/speech/reward']) and 'eval_rewards/TarsAccuracy/mean' in evals[0]
    text = [r for r in rollouts if r['tars_modality'] == 'text']
    assert text and all('<audio>' in r['prompt'] for r in text)  # the logged (trained) prompt is the speech one
    # text rollouts were still generated from the text question: the warm-started model answers text right
    assert sum(r['TarsAccuracy'] for r in text) / len(text) > 0.5
    speech = [r for r in rollouts if r['tars_modality'] == 'speech']
    assert any(math.isfinite(r['TarsRepresentation']) for r in speech)
