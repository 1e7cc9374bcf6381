"""The checks every model family passes on its tiny offline stand-in (tests/test_families.py, parametrised over the
families, and tests/test_teacher_view.py for Qwen2.5-Omni call them).

The same as for Qwen2.5-Omni: the real ``swift rlhf`` GRPO with all four TARS rewards (alternation, text prompts
without audio, the representation column, per-modality advantages, forwards = plain GRPO's), one CORD run,
hidden-state capture on every text decoder layer, the CORD teacher view, ``swift-tars eval`` and ``probe``.
"""
import argparse
import json
import math
from pathlib import Path

import torch
from conftest import run_swift
from test_e2e_cord import check_agreement
from test_e2e_tars import ALL, check_logging, check_rollouts

from swift_tars.models import family
from swift_tars.swift_families import register_families
from swift_tars.testing.runs import read_completions, read_logging, tiny_rlhf_command

COUNTER = str(Path(__file__).parent / 'plugins' / 'forward_counter.py')
BATCH = ['--num_generations', '4', '--per_device_train_batch_size', '4', '--gradient_accumulation_steps', '2']


def grpo_all_rewards_and_forward_count(tmp, model, model_type, dataset, embedder, rows_by_id):
    """TARS run with all four rewards and a plain-GRPO run, both counting policy forwards."""
    counts = {}
    for name, rewards, env in (('tars', ALL, {}), ('plain', ALL[:2], {'COUNT_PLAIN_GRPO': '1'})):
        cmd = tiny_rlhf_command(model, dataset, tmp / name, rewards, '--max_steps', '2', *BATCH, plugins=[COUNTER],
                                model_type=model_type)
        run_swift(cmd, tmp / f'{name}.log', TARS_EMBEDDING_MODEL=str(embedder), FORWARD_COUNT_MODEL_TYPE=model_type,
                  FORWARD_COUNT_FILE=str(tmp / f'{name}.count'), **env)
        counts[name] = json.loads((tmp / f'{name}.count.0').read_text())
    records, rollouts = read_logging(tmp / 'tars'), read_completions(tmp / 'tars')
    check_logging(records)
    assert check_rollouts(rollouts, rows_by_id, 4) > 0, 'no speech rollout got a representation reward'
    for key in ('rewards/TarsRepresentation/mean', 'rewards/TarsBehavior/mean'):
        assert any(math.isfinite(r.get(key, float('nan'))) for r in records), key
    assert counts['tars'] == counts['plain'] == {'forwards': 8, 'with_grad': 4}
    card = json.loads(next((tmp / 'tars').glob('v*/tars_config.json')).read_text())
    return card


def cord_run(tmp, model, model_type, dataset, embedder, rows_by_id):
    """CORD in the loss (exact KL) plus tars_agreement: KL logged, one teacher forward per micro-batch."""
    cmd = tiny_rlhf_command(model, dataset, tmp / 'cord', ALL + ['tars_agreement'], '--max_steps', '2', *BATCH,
                            plugins=[COUNTER], model_type=model_type)
    run_swift(cmd, tmp / 'cord.log', TARS_EMBEDDING_MODEL=str(embedder), TARS_DISTILL_COEF='0.1',
              TARS_DISTILL_TOPK='0', FORWARD_COUNT_MODEL_TYPE=model_type, FORWARD_COUNT_FILE=str(tmp / 'cord.count'))
    records = read_logging(tmp / 'cord')
    assert len(records) == 2
    for rec in records:
        assert math.isfinite(rec['loss']) and rec['tars/distill/kl'] > 0 and rec['tars/distill/weighted_kl'] > 0
    assert check_agreement(read_completions(tmp / 'cord'), rows_by_id) > 0
    assert json.loads((tmp / 'cord.count.0').read_text()) == {'forwards': 12, 'with_grad': 4}


def load(model, model_type):
    """(model, train-mode template) through ms-swift's own loader and template of ``model_type``."""
    from swift.model import get_model_processor
    from swift.template import get_template

    register_families()  # what plugin.py registers for training
    loaded, processor = get_model_processor(str(model), model_type=model_type, torch_dtype=torch.float32)
    template = get_template(processor)
    template.set_mode('train')
    return loaded.eval(), template


def text_depth(model_dir) -> int:
    """The text decoder's depth from ``config.json`` (thinker or top-level ``text_config``)."""
    c = json.loads((Path(model_dir) / 'config.json').read_text())
    return int(((c.get('thinker_config') or c).get('text_config') or c)['num_hidden_layers'])


def capture_depth(model_dir, model_type, row):
    """Every text decoder layer is hooked and pooled on a real speech forward; the output layers are found."""
    from swift_tars.grpo.hidden_states import OutputCapture, PooledCapture, find_decoder_layers, find_output_layers

    model, template = load(model_dir, model_type)
    layers = find_decoder_layers(model)
    assert len(layers) == text_depth(model_dir)
    norm, head = find_output_layers(model)
    inputs = template.encode({'messages': row['messages'] + [{'role': 'assistant', 'content': 'The answer is A.'}],
                              'audios': row['audios']})
    batch = template.data_collator([inputs])
    keep = 5
    batch.pop('labels', None)
    with torch.no_grad(), PooledCapture(layers, torch.ones(1, keep), keep) as cap, OutputCapture(head) as logits:
        model(**batch)
    hidden = model.config.get_text_config().hidden_size
    assert cap.pooled.shape == (1, len(layers), hidden) and torch.isfinite(cap.pooled).all()
    assert logits.output.shape[-1] >= len(template.processor.tokenizer)
    return len(layers)


def teacher_view(model_dir, model_type, rows):
    """Text prompt, no audio, identical completion tokens — through ms-swift's encoding of this family."""
    from swift.model import get_model_processor
    from swift.rl_core.data import GRPOSample
    from swift.rlhf_trainers.utils import encode_sample
    from swift.template import get_template

    from swift_tars.grpo.pairing import pair_rows
    from swift_tars.grpo.teacher import collate_teacher

    register_families()
    _, processor = get_model_processor(str(model_dir), model_type=model_type, torch_dtype=torch.float32,
                                       load_model=False)
    template = get_template(processor)
    template.set_mode('train')
    completion = '<think>which means dog</think><answer>The answer is B.</answer>'
    ids = processor.tokenizer.encode(completion, add_special_tokens=False)
    samples = []
    for row in pair_rows([rows[0]] * 2, 2):
        s = GRPOSample.from_row(row)
        s.messages.append({'role': 'assistant', 'content': completion})
        s.response_token_ids = ids
        samples.append(s)
    positions, inputs, batch = collate_teacher(samples, template, torch.device('cpu'))
    assert positions == [0]
    audio_id = processor.tokenizer.convert_tokens_to_ids(family(model_type).audio_token)
    teacher_ids = inputs['input_ids'][0].tolist()
    audio_inputs = family(model_type).audio_inputs
    assert audio_id not in teacher_ids and audio_inputs not in inputs
    text_ids = processor.tokenizer.encode(rows[0]['text_query'], add_special_tokens=False)
    assert any(teacher_ids[i:i + len(text_ids)] == text_ids for i in range(len(teacher_ids)))
    student = encode_sample(samples[0], template)
    assert student['input_ids'].count(audio_id) > 1 and audio_inputs in student  # one token per audio frame
    n = int(batch.completion_mask[0].sum())
    assert n > 0 and teacher_ids[-n:] == student['input_ids'][-n:]


def eval_and_probe(model_dir, model_type, dataset, tmp):
    """``swift-tars eval`` (4 rows, both modes) and ``swift-tars probe`` (2 questions) through ms-swift's engine."""
    from swift_tars.evaluation import eval_cli, probe_cli

    def parse(module, argv):
        parser = argparse.ArgumentParser()
        module.add_arguments(parser)
        return parser.parse_args(argv)

    common = ['--model', str(model_dir), '--model_type', model_type, '--torch_dtype', 'float32', '--max_new_tokens',
              '16', '--no_progress']
    assert eval_cli.main(parse(eval_cli, common + ['--eval_sets', f'demo={dataset}', '--limit', '4', '--batch_size',
                                                   '4', '--output_dir', str(tmp / 'eval')])) == 0
    summary = json.loads((tmp / 'eval' / 'summary.json').read_text())
    assert summary['sets']['demo']['speech']['n'] == summary['sets']['demo']['text']['n'] == 4
    assert probe_cli.main(parse(probe_cli, common + ['--eval_set', f'demo={dataset}', '--n', '2', '--output_dir',
                                                     str(tmp / 'probe')])) == 0
    run = json.loads((tmp / 'probe' / 'probe.json').read_text())['runs'][0]
    assert run['layers'] == list(range(1, text_depth(model_dir) + 1))
    assert run['n_items'] + sum(run['skipped'].values()) == 2
