"""End to end: TARS rewards + CORD's token-level term and tars_agreement in the real `swift rlhf`, offline.

1 process: the term in the loss, exact KL over the vocabulary; forwards = plain GRPO's + one teacher forward
per micro-batch. 2 processes (gloo): the term as per-token advantage shaping, top-k KL.
"""
import json
import math
from pathlib import Path

from conftest import run_swift
from test_e2e_tars import free_port

from swift_tars.answers import extract_choice
from swift_tars.rewards.agreement import majority_letter
from swift_tars.testing.runs import read_completions, read_logging, tiny_rlhf_command

REWARDS = ['tars_accuracy', 'tars_format', 'tars_representation', 'tars_behavior', 'tars_agreement']
COUNTER = str(Path(__file__).parent / 'plugins' / 'forward_counter.py')


def check_agreement(rollouts, rows_by_id):
    scored = 0
    for k in range(0, len(rollouts), 4):
        block = rollouts[k:k + 4]
        options = rows_by_id[block[0]['question_id']]['options']
        # the training rewards' reading: an empty <answer> block is no answer (swift_tars/answers.py)
        reference = majority_letter([extract_choice(r['completion'], options, read_reasoning_when_answer_empty=False)
                                     for r in block if r['tars_modality'] == 'text'])
        for r in block:
            value = r['TarsAgreement']
            if r['tars_modality'] == 'text' or reference is None:
                assert math.isnan(value)
            else:
                assert value == float(extract_choice(r['completion'], options,
                                                     read_reasoning_when_answer_empty=False) == reference)
                scored += 1
    return scored


def test_cord_loss_term_exact_kl_one_process(tmp_path, tiny_omni, demo_dataset, tiny_embedder, demo_rows):
    cmd = tiny_rlhf_command(tiny_omni, demo_dataset, tmp_path / 'run', REWARDS, '--max_steps', '2',
                            '--num_generations', '4', '--per_device_train_batch_size', '4',
                            '--gradient_accumulation_steps', '2', plugins=[COUNTER])
    run_swift(cmd, tmp_path / 'run.log', TARS_EMBEDDING_MODEL=str(tiny_embedder), TARS_DISTILL_COEF='0.1',
              TARS_DISTILL_TOPK='0', FORWARD_COUNT_FILE=str(tmp_path / 'count'))
    records = read_logging(tmp_path / 'run')
    assert len(records) == 2
    for rec in records:
        assert math.isfinite(rec['loss']) and rec['tars/distill/kl'] > 0 and math.isfinite(rec['tars/distill/kl'])
        assert rec['tars/distill/weighted_kl'] > 0
    assert check_agreement(read_completions(tmp_path / 'run'), {r['question_id']: r for r in demo_rows}) > 0
    # plain GRPO: 2 steps x 2 micro-batches x (old-policy + loss) = 8 forwards, 4 with grad; CORD adds one
    # no-grad teacher forward per micro-batch
    assert json.loads((tmp_path / 'count.0').read_text()) == {'forwards': 12, 'with_grad': 4}
    card = json.loads(next((tmp_path / 'run').glob('v*/tars_config.json')).read_text())
    assert card['distillation']['distill_coef'] == 0.1 and card['distillation']['distill_topk'] == 0


def test_cord_advantage_shaping_topk_two_processes(tmp_path, tiny_omni, demo_dataset, tiny_embedder, demo_rows):
    cmd = tiny_rlhf_command(tiny_omni, demo_dataset, tmp_path / 'run', REWARDS, '--max_steps', '2',
                            '--num_generations', '4', '--per_device_train_batch_size', '2',
                            '--gradient_accumulation_steps', '2', '--ddp_backend', 'gloo')
    run_swift(cmd, tmp_path / 'run.log', TARS_EMBEDDING_MODEL=str(tiny_embedder), TARS_DISTILL_COEF='0.1',
              TARS_DISTILL_MODE='advantage', NPROC_PER_NODE='2', ACCELERATE_USE_CPU='1', MASTER_PORT=free_port())
    records = read_logging(tmp_path / 'run')
    assert len(records) == 2
    for rec in records:
        assert rec['tars/distill/kl'] > 0 and rec['tars/distill/advantage_shift'] > 0
    rollouts = read_completions(tmp_path / 'run')
    assert len(rollouts) == 16
    check_agreement(rollouts, {r['question_id']: r for r in demo_rows})
