"""A seeded random LoRA adapter for a local model: a stand-in "trained checkpoint" for offline tests and demos
of ``swift-tars eval --adapters`` and ``swift-tars probe --compare`` (no training needed)."""
from pathlib import Path

DEFAULT_TARGETS = r'.*thinker\.model\.layers\.\d+\.(self_attn\.(q|k|v|o)_proj|mlp\.(gate|up|down)_proj)'


def build_random_lora(model_dir, out_dir, *, rank: int = 4, alpha: int = 2, seed: int = 0,
                      target_modules: str = DEFAULT_TARGETS) -> Path:
    """Writes a PEFT LoRA adapter (``adapter_config.json`` + weights) with random A and B to ``out_dir``.

    ``target_modules`` (a regex over module names) defaults to the Qwen2.5-Omni thinker's decoder linears,
    the modules ms-swift's ``--target_modules all-linear`` puts LoRA on for this model.
    """
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoConfig

    torch.manual_seed(seed)
    config = AutoConfig.from_pretrained(model_dir)
    if config.model_type == 'qwen2_5_omni':
        from transformers import Qwen2_5OmniForConditionalGeneration as cls
    else:
        from transformers import AutoModelForCausalLM as cls
    model = cls.from_pretrained(model_dir, dtype=torch.float32)
    lora = LoraConfig(r=rank, lora_alpha=alpha, target_modules=target_modules, init_lora_weights=False)
    peft_model = get_peft_model(model, lora)
    out = Path(out_dir)
    peft_model.save_pretrained(out)
    return out
