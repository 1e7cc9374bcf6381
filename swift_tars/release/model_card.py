"""The Hugging Face model card (``README.md``) of a swift-tars checkpoint, built from what the run wrote.

Sources, all optional except the checkpoint itself:

- ``args.json`` — written by ms-swift into the checkpoint and the run directory (model, data, LoRA, GRPO and
  optimiser settings, world size);
- ``tars_config.json`` — written by the swift-tars trainer into the run directory (the ``TARS_*`` settings,
  the decoder layers of ``tars_representation``, reward names and weights, group size, advantage mode);
- ``trainer_state.json`` — HF Trainer state in the checkpoint (global step, epoch);
- the dataset's ``<name>.manifest.json`` written by ``swift-tars build-data`` next to a local jsonl
  (:mod:`.card_datasets`);
- ``summary.json`` of ``swift-tars eval`` (its markdown table is embedded).

Pure functions of dicts and strings (no model, no network), so the card is unit-testable.
"""
import os
import re
from typing import Any, Dict, List, Optional, Sequence, Tuple

from swift_tars.release.card_datasets import describe_datasets, is_hub_id

TAGS = ['speech', 'grpo', 'tars', 'qwen2.5-omni']
PAPER = 'https://arxiv.org/abs/2601.05543'
SECRET_KEY = re.compile(r'(token|secret|password|api_key|apikey)$', re.IGNORECASE)

REWARD_TEXT = {
    'TarsAccuracy': ('`tars_accuracy`', 'extracted option letter equals the gold answer (0/1)', 'same'),
    'TarsFormat': ('`tars_format`', '`<think>…</think><answer>…The answer is X.</answer>`: strict / loose / none',
                   'same'),
    'TarsRepresentation': ('`tars_representation`', 'layer-averaged cosine of mean-pooled hidden states to the '
                           'correct text rollouts of the same question', '— (NaN)'),
    'TarsBehavior': ('`tars_behavior`', 'cosine of completion embeddings to the correct text rollouts of the same '
                     'question', '— (NaN)'),
}

# (args.json key, label) in card order
HYPER_PARAMETERS = [
    ('num_generations', 'rollouts per question G'),
    ('per_device_train_batch_size', 'per-device batch'),
    ('gradient_accumulation_steps', 'gradient accumulation'),
    ('global_world_size', 'processes'),
    ('learning_rate', 'learning rate'),
    ('lr_scheduler_type', 'schedule'),
    ('warmup_ratio', 'warm-up ratio'),
    ('weight_decay', 'weight decay'),
    ('max_grad_norm', 'gradient clip'),
    ('num_train_epochs', 'epochs'),
    ('max_steps', 'max steps'),
    ('temperature', 'temperature'),
    ('top_p', 'top-p'),
    ('top_k', 'top-k'),
    ('max_completion_length', 'max completion tokens'),
    ('max_length', 'max total tokens'),
    ('beta', 'KL β'),
    ('loss_type', 'loss'),
    ('epsilon', 'clip ε low'),
    ('epsilon_high', 'clip ε high'),
    ('scale_rewards', 'advantage scaling'),
    ('overlong_filter', 'truncated completions masked'),
    ('num_iterations', 'iterations per generation'),
    ('tuner_type', 'tuner'),
    ('lora_rank', 'LoRA rank'),
    ('lora_alpha', 'LoRA α'),
    ('lora_dropout', 'LoRA dropout'),
    ('target_modules', 'LoRA targets'),
    ('torch_dtype', 'dtype'),
    ('deepspeed', 'DeepSpeed'),
    ('use_vllm', 'vLLM rollout'),
    ('vllm_mode', 'vLLM mode'),
    ('rollout_importance_sampling_mode', 'rollout importance sampling'),
    ('rollout_importance_sampling_threshold', 'importance-sampling cap'),
    ('seed', 'seed'),
]


def sanitize_args(args: Dict[str, Any], secrets: Sequence[str] = ()) -> Dict[str, Any]:
    """``args.json`` without credentials: string values of ``*token`` / ``*secret`` / … keys become ``None``,
    and any string containing one of ``secrets`` is redacted (recursively)."""

    def clean(key: Optional[str], value):
        if isinstance(value, dict):
            return {k: clean(k, v) for k, v in value.items()}
        if isinstance(value, list):
            return [clean(None, v) for v in value]
        if isinstance(value, str):
            if key is not None and SECRET_KEY.search(key) and value:
                return None
            for s in secrets:
                if s and s in value:
                    value = value.replace(s, '<redacted>')
        return value

    return clean(None, args)


def _fmt(value) -> str:
    if isinstance(value, float):
        return f'{value:g}'
    if isinstance(value, (list, tuple)):
        return ', '.join(_fmt(v) for v in value)
    if isinstance(value, dict):
        stage = (value.get('zero_optimization') or {}).get('stage')
        return f'ZeRO-{stage}' if stage is not None else 'custom config'
    return str(value)


def _deepspeed(value) -> Optional[str]:
    if not value:
        return None
    if isinstance(value, str):
        m = re.search(r'zero(\d)(_offload)?', os.path.basename(value))
        return f'ZeRO-{m.group(1)}{" offload" if m.group(2) else ""}' if m else os.path.basename(value)
    return _fmt(value)


def _ranges(numbers: Sequence[int]) -> str:
    """Runs of consecutive layer numbers.

    >>> _ranges([1, 2, 3, 7, 9, 10])
    '1–3, 7, 9–10'
    """
    runs: List[List[int]] = []
    for n in numbers:
        if runs and n == runs[-1][1] + 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    return ', '.join(str(a) if a == b else f'{a}–{b}' for a, b in runs)


def _layers(tars_config: dict) -> str:
    spec = (tars_config.get('tars') or {}).get('layers')
    layers = tars_config.get('layers_1_based')
    if not layers:
        return f'not used (`tars_representation` off; `TARS_LAYERS={spec}`)' if spec else 'not used'
    return f'`TARS_LAYERS={spec}`: decoder layers {_ranges(layers)} (1-based, {len(layers)} layers)'


def _front_matter(*, kind: str, args: dict, base: Optional[str], datasets: Optional[Sequence[str]],
                  license: Optional[str]) -> Tuple[List[str], List[str]]:
    """(the YAML front matter lines, one markdown line per training dataset)."""
    from huggingface_hub import ModelCardData

    hub_datasets, data_lines = describe_datasets(list(args.get('dataset') or []))
    if datasets is not None:
        hub_datasets = list(datasets)
    card_data = ModelCardData(
        base_model=base, library_name='peft' if kind == 'adapter' else 'transformers', tags=list(TAGS),
        datasets=hub_datasets or None, license=license)
    return [f'---\n{card_data.to_yaml()}\n---', ''], data_lines


def _introduction(*, hub_model_id: str, kind: str, base_label: str, tars_version: str, swift_version: str) -> List[str]:
    """The title, what the checkpoint is and how TARS trained it."""
    what = {'adapter': f'a LoRA adapter for `{base_label}`', 'merged': f'`{base_label}` with the TARS LoRA merged in',
            'full': f'a fully fine-tuned `{base_label}`'}[kind]
    return [f'# {hub_model_id.split("/")[-1]}', '',
            f'{what[0].upper() + what[1:]}, trained with **TARS** (Trajectory Alignment for Reasoning in Speech, '
            f'[arXiv 2601.05543]({PAPER})) using swift-tars {tars_version} on '
            f'[ms-swift](https://github.com/modelscope/ms-swift) {swift_version}.', '',
            'TARS is GRPO in which every question is rolled out both from its **audio** and from its **text** by the '
            'same policy (half of each group each). Speech rollouts are rewarded for accuracy and format and for '
            'resembling a correct text rollout of the same question in hidden-state space (representation) and in '
            'embedding space (behaviour); text rollouts get accuracy and format only. Advantages are centred **per '
            'modality**, so the stronger text rollouts do not push the speech rollouts down.', '']


def _usage(*, hub_model_id: str, kind: str, base_label: str) -> List[str]:
    """``swift infer`` (and ``swift-tars eval`` for an adapter) commands, and the prompt format."""
    out = ['## Usage', '']
    if kind == 'adapter':
        out += ['```bash', f'swift infer --model {base_label} --adapters {hub_model_id} --use_hf true', '',
                '# speech vs text accuracy on row-format eval sets (swift-tars)',
                f'swift-tars eval --model {base_label} --adapters <local copy of {hub_model_id}> '
                '--eval_sets mmsu=data/eval/mmsu.jsonl obqa=data/eval/openbookqa.jsonl', '```', '',
                'Set `ENABLE_AUDIO_OUTPUT=0` when only text output is needed (skips the talker).', '']
    else:
        out += ['```bash', f'swift infer --model {hub_model_id} --use_hf true', '```', '']
    out += ['Prompting as in training: system prompt = the TARS think prompt '
            '(`swift_tars.prompts.SYSTEM_THINK`), user turn = the audio only; the model answers '
            '`<think>…</think><answer>The answer is X.</answer>`.', '']
    return out


def _group_size(args: dict, tars_config: dict) -> Optional[int]:
    """Rollouts per question G, as the trainer recorded it (else from ``args.json``)."""
    return tars_config.get('num_generations') or args.get('num_generations')


def _training(*, args: dict, tars_config: dict, trainer_state: dict, base_label: str,
              data_lines: List[str]) -> List[str]:
    """The training table: base model, method, data, steps, group, advantages, layer set."""
    out = ['## Training', '', '| | |', '|---|---|', f'| base model | `{base_label}` |',
           '| method | GRPO with TARS rewards and per-modality advantages (ms-swift `swift rlhf --rlhf_type grpo` + '
           'the swift-tars plugin) |']
    if data_lines:
        out.append(f'| training data | {"; ".join(data_lines)} |')
    if args.get('val_dataset'):
        out.append(f'| in-training eval data | {", ".join(os.path.basename(v) for v in args["val_dataset"])} |')
    step = trainer_state.get('global_step')
    if step is not None:
        epoch = trainer_state.get('epoch')
        out.append(f'| optimiser steps | {step}' + (f' (epoch {epoch:.2f})' if isinstance(epoch, (int, float)) else '')
                   + ' |')
    G = _group_size(args, tars_config)
    if G:
        out.append(f'| group | {G} rollouts per question = {G // 2} speech + {G // 2} text, interleaved |')
    advantages = tars_config.get('advantages')
    scale = tars_config.get('scale_rewards') or args.get('scale_rewards')
    if advantages or scale:
        out.append(f'| advantages | {advantages or "per-modality"}, scale_rewards `{scale}` '
                   f'({"mean-centring only, Dr. GRPO" if scale == "none" else "divided by the per-modality std"}) |')
    out += [f'| layer set | {_layers(tars_config)} |', '']
    return out


def _rewards(*, args: dict, tars_config: dict) -> List[str]:
    """The reward table (names, weights, what each gives speech and text rollouts); empty without rewards."""
    funcs = tars_config.get('reward_funcs') or []
    weights = tars_config.get('reward_weights') or []
    if not funcs and args.get('reward_funcs'):
        funcs, weights = args['reward_funcs'], args.get('reward_weights') or [1.0] * len(args['reward_funcs'])
    if not funcs:
        return []
    out = ['### Rewards', '', '| reward | weight | speech rollouts | text rollouts |', '|---|---:|---|---|']
    for f, w in zip(funcs, list(weights) + [1.0] * (len(funcs) - len(weights))):
        name, speech, text = REWARD_TEXT.get(f, (f'`{f}`', '', ''))
        out.append(f'| {name} | {_fmt(w)} | {speech} | {text} |')
    out += ['', 'Rewards are summed with their weights, ignoring NaN (no reward for that term).', '']
    return out


def _tars_settings(tars_config: dict) -> List[str]:
    """The ``TARS_*`` variables of the run (no local paths); empty when the trainer recorded none."""
    tars = tars_config.get('tars') or {}
    if not tars:
        return []
    out = ['### TARS settings (`TARS_*` environment variables)', '', '| variable | value |', '|---|---|']
    for k, v in tars.items():
        if k == 'audio_cache':
            continue  # a local path of the training machine
        out.append(f'| `TARS_{k.upper()}` | `{_fmt(v) if v is not None else "(default)"}` |')
    out.append('')
    return out


def _hyper_parameter_rows(args: dict) -> List[str]:
    """One table row per :data:`HYPER_PARAMETERS` entry that is set and meaningful for this run."""
    rows = []
    for key, label in HYPER_PARAMETERS:
        if key not in args or args[key] is None:
            continue
        value = _deepspeed(args[key]) if key == 'deepspeed' else _fmt(args[key])
        if (key.startswith('lora_') and args.get('tuner_type') != 'lora' or key == 'max_steps' and args[key] == -1
                or key == 'rollout_importance_sampling_threshold' and not args.get('rollout_importance_sampling_mode')
                or key == 'vllm_mode' and not args.get('use_vllm')):
            continue
        rows.append(f'| {label} | `{key}` | {value} |')
    return rows


def _hyper_parameters(*, args: dict, tars_config: dict) -> List[str]:
    """The hyper-parameter table from ``args.json`` and the completions per optimiser step; empty without any."""
    rows = _hyper_parameter_rows(args)
    if not rows:
        return []
    per_device, ga = args.get('per_device_train_batch_size'), args.get('gradient_accumulation_steps') or 1
    world = args.get('global_world_size') or 1
    G = _group_size(args, tars_config)
    out = ['### Hyper-parameters (from `args.json`)', '', '| setting | ms-swift flag | value |', '|---|---|---|']
    out += rows
    if per_device and G:
        n = per_device * ga * world
        q = n // G
        out += ['', f'Completions per optimiser step: {per_device} × {ga} × {world} = {n} = {q} '
                f'question{"s" if q != 1 else ""} × {G} rollouts.']
    out.append('')
    return out


def _evaluation(*, eval_summary: Optional[dict], eval_markdown: Optional[str]) -> List[str]:
    """The ``swift-tars eval`` table with its decoding settings (or how to add one), and the protocol."""
    out = ['## Evaluation', '']
    if eval_markdown:
        run = (eval_summary or {}).get('run') or {}
        settings = [f'{k} {run[k]}' for k in ('max_new_tokens', 'temperature', 'infer_backend') if k in run]
        out += [eval_markdown.rstrip(), '']
        if settings:
            out += [f'Decoding: {", ".join(settings)} (temperature 0 = greedy).', '']
    else:
        out += ['No evaluation summary was attached. Run `swift-tars eval` on VoiceBench MMSU and OpenBookQA (speech '
                'and text mode) and push again with `--eval_summary tars-eval/<run>/summary.json`.', '']
    out += ['Protocol (as in the paper): each question is answered once from its audio (system prompt + '
            'audio only) and once from its text (VoiceBench\'s text prompt), greedy, up to 1,000 new tokens; the '
            'answer letter is read by swift-tars\' deterministic extractor (the paper used the xFinder LLM judge, so '
            'numbers can differ slightly). Averages over sets are unweighted means, as in the paper. **MRR** '
            '(Modality Recovery Rate) = speech accuracy ÷ a *reference text accuracy*: the paper divides by the '
            'original text backbone\'s accuracy (a fixed denominator per model family, 77.70 for Qwen2.5-Omni), so '
            'MRR above 100 % means "speech beats the original text model", not "speech caught up with this model\'s '
            'own text accuracy" (that is the A/T own column).', '',
            'Note: MMLU `auxiliary_train` (the TARS training source) contains OpenBookQA *train*, so OpenBookQA '
            'results are in-domain.', '']
    return out


CITATION = ['## Citation', '', '```bibtex', '@inproceedings{wang2026tars,',
            '  title     = {Closing the Modality Reasoning Gap for Speech Large Language Models},',
            '  author    = {Wang, C. and Lu, H. and Zhang, X. and Liu, S. and Lu, Y. and Li, J. and Wu, Z.},',
            '  booktitle = {Proceedings of ACL 2026},',
            '  year      = {2026},', '  note      = {arXiv:2601.05543}', '}', '```', '']


def build_card(*,
               hub_model_id: str,
               kind: str,
               args: Optional[dict] = None,
               tars_config: Optional[dict] = None,
               trainer_state: Optional[dict] = None,
               eval_summary: Optional[dict] = None,
               eval_markdown: Optional[str] = None,
               base_model: Optional[str] = None,
               datasets: Optional[Sequence[str]] = None,
               license: Optional[str] = None,
               swift_tars_version: Optional[str] = None,
               swift_version: Optional[str] = None) -> str:
    """The README.md text. ``kind``: ``adapter`` (LoRA, ``library_name: peft``), ``merged`` or ``full``."""
    args, tars_config, trainer_state = args or {}, tars_config or {}, trainer_state or {}
    base = base_model or (args.get('model') if is_hub_id(args.get('model')) else None)
    base_label = base or args.get('model') or 'unknown'
    out, data_lines = _front_matter(kind=kind, args=args, base=base, datasets=datasets, license=license)
    out += _introduction(hub_model_id=hub_model_id, kind=kind, base_label=base_label,
                         tars_version=tars_config.get('swift_tars_version') or swift_tars_version or 'unknown',
                         swift_version=swift_version or args.get('swift_version') or '4.6.0')
    out += _usage(hub_model_id=hub_model_id, kind=kind, base_label=base_label)
    out += _training(args=args, tars_config=tars_config, trainer_state=trainer_state, base_label=base_label,
                     data_lines=data_lines)
    out += _rewards(args=args, tars_config=tars_config)
    out += _tars_settings(tars_config)
    out += _hyper_parameters(args=args, tars_config=tars_config)
    out += _evaluation(eval_summary=eval_summary, eval_markdown=eval_markdown)
    out += CITATION
    return '\n'.join(out)
