"""Pooled hidden-state capture: masked means, hooks, decoder-layer discovery."""
import pytest
import torch
from torch import nn

from swift_tars.grpo.hidden_states import PooledCapture, find_decoder_layers, masked_mean


def test_masked_mean_exact_and_nan_for_empty_rows():
    h = torch.tensor([[[1., 2.], [3., 4.], [5., 6.]], [[1., 1.], [1., 1.], [1., 1.]]], dtype=torch.bfloat16)
    mask = torch.tensor([[1, 0, 1], [0, 0, 0]])
    out = masked_mean(h, mask)
    assert out.dtype == torch.float32
    assert out[0].tolist() == [3.0, 4.0] and out[1].isnan().all()


class Stack(nn.Module):
    """Layers that add a constant (layer i adds i+1) and return a tuple like HF decoder layers."""

    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList(Add(i + 1.0) for i in range(3))

    def forward(self, x):
        for layer in self.layers:
            x = layer(x)[0]
        return x


class Add(nn.Module):

    def __init__(self, c):
        super().__init__()
        self.c = c

    def forward(self, x):
        return (x + self.c, None)


def test_capture_pools_last_k_positions_of_selected_layers():
    model = Stack()
    x = torch.arange(2 * 4 * 1, dtype=torch.float32).view(2, 4, 1)  # [B=2, T=4, H=1]
    mask = torch.tensor([[1, 1], [0, 1]])  # completion = last 2 positions
    with PooledCapture([model.layers[0], model.layers[2]], mask, keep=2) as cap:
        model(x)
    # row 0 positions 2,3 -> values 2,3; row 1 position 3 -> 7. layer0 adds 1, layer2 adds 1+2+3=6
    assert cap.pooled.shape == (2, 2, 1)
    assert cap.pooled[:, :, 0].tolist() == [[3.5, 8.5], [8.0, 13.0]]
    assert not model.layers[0]._forward_hooks  # hooks removed


def test_capture_rejects_a_second_forward_and_missing_layers():
    model = Stack()
    with pytest.raises(RuntimeError, match='second forward'):
        with PooledCapture([model.layers[0]], torch.ones(1, 1), keep=1):
            model(torch.zeros(1, 1, 1))
            model(torch.zeros(1, 1, 1))
    with pytest.raises(RuntimeError, match='did not run'):
        with PooledCapture([nn.Linear(1, 1)], torch.ones(1, 1), keep=1):
            pass


def _tiny_qwen2_audio():
    from transformers import Qwen2AudioConfig, Qwen2AudioForConditionalGeneration
    return Qwen2AudioForConditionalGeneration(Qwen2AudioConfig(
        text_config=dict(model_type='qwen2', vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=3,
                         num_attention_heads=2, num_key_value_heads=1),
        audio_config=dict(d_model=16, encoder_layers=1, encoder_attention_heads=2, encoder_ffn_dim=32),
        audio_token_index=63))


def test_find_layers_through_the_family_and_peft():
    from peft import LoraConfig, get_peft_model
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from swift_tars.grpo.hidden_states import find_output_layers
    from swift_tars.models import UnsupportedModelError
    model = _tiny_qwen2_audio()
    assert find_decoder_layers(model) is model.model.language_model.layers
    assert find_output_layers(model) == (model.model.language_model.norm, model.lm_head)
    peft_model = get_peft_model(model, LoraConfig(r=2, target_modules=['q_proj']))
    assert len(find_decoder_layers(peft_model)) == 3
    text_only = Qwen2ForCausalLM(Qwen2Config(vocab_size=64, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                             num_attention_heads=2, num_key_value_heads=1))
    with pytest.raises(UnsupportedModelError, match="model type 'qwen2'.*qwen2_5_omni.*swift_tars/models.py"):
        find_decoder_layers(text_only)


def test_find_layers_tiny_omni_thinker(tiny_omni):
    from transformers import Qwen2_5OmniForConditionalGeneration
    model = Qwen2_5OmniForConditionalGeneration.from_pretrained(tiny_omni)
    assert find_decoder_layers(model) is model.thinker.model.layers
    assert len(model.thinker.model.layers) == 6
