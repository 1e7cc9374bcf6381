"""Every model family beside Qwen2.5-Omni on its tiny offline stand-in: the checks of tests/family_checks.py
(GRPO with all four rewards and the plain-GRPO forward count, a CORD run, capture depth, the teacher view, eval and
probe), one parametrised module.

- ``qwen2_audio``: ms-swift 4.6.0 declares transformers<4.49 for this type; under transformers 5 the native class
  loads, and the plugin registers the transformers 5 module keys (``model.language_model``) so
  ``--target_modules all-linear`` finds the LLM.
- ``qwen3_omni_moe`` (mixture-of-experts thinker): ms-swift's own loader and template work under transformers 5 as
  they are; every MoE decoder layer of the thinker is hooked (the sparse block's output is the layer's hidden
  state), LoRA lands on the attention projections (transformers 5 fuses the experts' weights, so ``all-linear``
  does not reach them).
- ``phi4_multimodal_native``: ms-swift 4.6.0's ``phi4_multimodal`` type is written for the remote-code
  ``Phi4MMForCausalLM`` (its processor patch fails on transformers' native feature extractor); swift-tars
  registers this type and its template (swift_families.py).
"""
import pytest
from family_checks import capture_depth, cord_run, eval_and_probe, grpo_all_rewards_and_forward_count, teacher_view

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')
DEPTH = 4  # decoder layers of every stand-in


@pytest.fixture(scope='module', params=['qwen2_audio', 'qwen3_omni_moe', 'phi4_multimodal_native'])
def family(request, tmp_path_factory, demo_rows):
    """(model type, its tiny stand-in warm-started on the demo rows), built once per family."""
    from swift_tars.testing.families import build_tiny_model
    from swift_tars.testing.warm_start import gap_warm_start

    model_type = request.param
    return model_type, build_tiny_model(model_type, tmp_path_factory.mktemp(model_type),
                                        warm_start=gap_warm_start(demo_rows))


@pytest.fixture(scope='module')
def rows_by_id(demo_rows):
    return {r['question_id']: r for r in demo_rows}


def test_grpo_all_tars_rewards_and_forward_count(tmp_path, family, demo_dataset, tiny_embedder, rows_by_id):
    model_type, model = family
    card = grpo_all_rewards_and_forward_count(tmp_path, model, model_type, demo_dataset, tiny_embedder, rows_by_id)
    assert card['layers_1_based'] == list(range(1, DEPTH + 1))


def test_cord_run(tmp_path, family, demo_dataset, tiny_embedder, rows_by_id):
    cord_run(tmp_path, family[1], family[0], demo_dataset, tiny_embedder, rows_by_id)


def test_capture_covers_every_decoder_layer(family, demo_rows):
    assert capture_depth(family[1], family[0], demo_rows[0]) == DEPTH


def test_teacher_view(family, demo_rows):
    teacher_view(family[1], family[0], demo_rows)


def test_eval_and_probe(family, demo_dataset, tmp_path):
    eval_and_probe(family[1], family[0], demo_dataset, tmp_path)
