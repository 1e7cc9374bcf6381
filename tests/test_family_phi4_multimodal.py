"""Phi-4-multimodal, transformers-native (``phi4_multimodal_native``) on its tiny offline stand-in: the family checks of
tests/family_checks.py.

ms-swift 4.6.0's ``phi4_multimodal`` type is written for the remote-code ``Phi4MMForCausalLM`` (its processor patch
fails on transformers' native feature extractor); swift-tars registers this type and its template (swift_families.py).
"""
import pytest
from family_checks import capture_depth, cord_run, eval_and_probe, grpo_all_rewards_and_forward_count, teacher_view

MODEL_TYPE = 'phi4_multimodal_native'
pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')


@pytest.fixture(scope='module')
def tiny_model(tmp_path_factory, demo_rows):
    from swift_tars.testing.families import build_tiny_model
    from swift_tars.testing.warm_start import gap_warm_start

    return build_tiny_model(MODEL_TYPE, tmp_path_factory.mktemp(MODEL_TYPE), warm_start=gap_warm_start(demo_rows))


@pytest.fixture(scope='module')
def rows_by_id(demo_rows):
    return {r['question_id']: r for r in demo_rows}


def test_grpo_all_tars_rewards_and_forward_count(tmp_path, tiny_model, demo_dataset, tiny_embedder, rows_by_id):
    card = grpo_all_rewards_and_forward_count(tmp_path, tiny_model, MODEL_TYPE, demo_dataset, tiny_embedder,
                                              rows_by_id)
    assert card['layers_1_based'] == [1, 2, 3, 4]


def test_cord_run(tmp_path, tiny_model, demo_dataset, tiny_embedder, rows_by_id):
    cord_run(tmp_path, tiny_model, MODEL_TYPE, demo_dataset, tiny_embedder, rows_by_id)


def test_capture_covers_every_decoder_layer(tiny_model, demo_rows):
    assert capture_depth(tiny_model, MODEL_TYPE, demo_rows[0]) == 4


def test_teacher_view(tiny_model, demo_rows):
    teacher_view(tiny_model, MODEL_TYPE, demo_rows)


def test_eval_and_probe(tiny_model, demo_dataset, tmp_path):
    eval_and_probe(tiny_model, MODEL_TYPE, demo_dataset, tmp_path)
