"""The offline stand-ins are seeded and deterministic, and carry what ms-swift's loader needs."""
import json

import torch


def test_tiny_omni_is_deterministic_and_loader_ready(tmp_path):
    from swift_tars.testing.models import OMNI_SPECIAL_TOKENS, build_tiny_omni
    a, b = build_tiny_omni(tmp_path / 'a'), build_tiny_omni(tmp_path / 'b')
    for name in ('model.safetensors', 'tokenizer.json', 'config.json', 'generation_config.json'):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (a / 'spk_dict.pt').exists() and torch.load(a / 'spk_dict.pt') == {}
    config = json.loads((a / 'config.json').read_text())
    assert config['enable_audio_output'] is False
    tokenizer = json.loads((a / 'tokenizer.json').read_text())
    added = {t['content']: t['id'] for t in tokenizer['added_tokens']}
    assert set(OMNI_SPECIAL_TOKENS) <= set(added)
    suppressed = set(json.loads((a / 'generation_config.json').read_text())['suppress_tokens'])
    assert added['<|AUDIO|>'] in suppressed and added['<|IMAGE|>'] in suppressed
    assert added['<|im_end|>'] not in suppressed  # generation must be able to stop
    assert (build_tiny_omni(tmp_path / 'c', seed=1) / 'model.safetensors').read_bytes() != \
        (a / 'model.safetensors').read_bytes()


def test_tiny_embedder_is_deterministic(tmp_path):
    from swift_tars.testing.models import build_tiny_embedder
    a, b = build_tiny_embedder(tmp_path / 'a'), build_tiny_embedder(tmp_path / 'b')
    assert (a / 'model.safetensors').read_bytes() == (b / 'model.safetensors').read_bytes()
    assert json.loads((a / 'modules.json').read_text())[1]['type'].endswith('Pooling')
