"""``TarsGRPOTrainer``: the one seam between swift-tars and ms-swift's GRPO (ms-swift == 4.6.0).

The plugin points ``TrainerFactory.TRAINER_MAPPING['grpo']`` here, so users keep running plain
``swift rlhf --rlhf_type grpo --external_plugins $(swift-tars plugin-path) ...``. All numerics live in
pure modules (pairing, hidden_states, rewards, advantages); this class only moves data between
ms-swift's GRPO stages:

1. rollout rows -> speech/text pairs (``to_samples``; before generation, so HF, vLLM colocate and
   vLLM server rollouts all see the pairs);
2. rewards (ms-swift, unchanged; ``tars_representation`` is a placeholder column);
3. old-policy forward (``_prepare_batch_inputs``) with hooks that pool each selected decoder layer
   over the completion tokens — no extra forward;
4. ``tars_representation`` filled from the pooled states, then per-modality advantages
   (``_postprocess_batch`` -> ``_compute_advantages``), plus per-modality metrics;
5. optional CORD distillation (``TARS_DISTILL_COEF > 0``): right after each old-policy forward, one no-grad
   forward of the policy on the text teacher view of the micro-batch's speech rollouts; the token-level
   reverse KL goes into the loss (``_compute_loss_and_metrics``) or into the per-token advantages.

ms-swift private API used (the test ``tests/test_swift_hooks.py`` checks every entry of
:data:`SWIFT_HOOKS` against the installed ms-swift and fails loudly when one changes):

overridden methods
    ``GRPOTrainer.to_samples``, ``GRPOTrainer._prepare_batch_inputs``,
    ``GRPOTrainer._get_per_token_logps_and_entropies``, ``GRPOTrainer.null_ref_context``,
    ``GRPOTrainer._postprocess_batch``, ``GRPOTrainer._compute_advantages``, ``GRPOTrainer._log_rollout``,
    ``GRPOTrainer._compute_loss_and_metrics`` (CORD loss term)
methods called
    ``GRPOTrainer._has_teacher_explicit``, ``GRPOTrainer._template_context``, ``GRPOTrainer.split_by_mini_batches``
attributes read or written
    ``_rewards_per_func`` (written: the representation column), ``reward_func_names``, ``reward_weights``,
    ``scale_rewards``, ``num_generations``, ``num_generations_eval``, ``_metrics``, ``_logs`` (two columns
    added to ``completions.jsonl``), ``template``, ``accelerator``, ``temperature``, ``model_kwarg_keys``,
    ``use_liger_loss``, ``overlong_filter``
data classes
    ``GRPOSample.extra`` / ``messages`` / ``to_reward_row``, ``GRPOBatch.completion_mask`` /
    ``logits_to_keep``, the ``batch_encoded_inputs[i]['grpo_batch']`` layout
registry
    ``swift.trainers.TrainerFactory.TRAINER_MAPPING['grpo']`` (a dotted class path); model-family fixes
    (``swift_tars/swift_families.py``): ``MODEL_MAPPING[type].model_arch``, ``TEMPLATE_MAPPING['qwen2_audio']``
    and ``phi4_multimodal_native``, overriding ``Template._encode`` / ``_data_collator``, calling ``_extend_tokens``
dataset loading
    ``swift.arguments.RLHFArguments.load_dataset`` (``(self)``, inherited from ``BaseArguments``) is wrapped by
    :func:`swift_tars.data.datasets.install_row_checks` so every dataset is checked before the first generation
plugin loading
    ``swift.utils.import_external_file`` puts the plugin's folder on ``sys.path`` on every call and caches the
    module as ``_swift_external_<sha256 of its path>``; ``plugin.py`` undoes both
"""
import dataclasses
import json
import os
from collections import deque
from contextlib import ExitStack, contextmanager
from typing import Any, Dict, List

import torch
from accelerate.utils import gather, gather_object
from swift.dataset import RowPreprocessor
from swift.rl_core.data import OnPolicySample
from swift.rlhf_trainers import GRPOTrainer

from swift_tars import SWIFT_VERSION, __version__
from swift_tars.config import TarsConfig
from swift_tars.data.row_checks import skipped_summary
from swift_tars.data.rows import MODALITY, QUESTION_ID, SPEECH, TEXT
from swift_tars.grpo.advantages import per_modality_advantages
from swift_tars.grpo.distill import cord_weights, remap_to_frame, token_reverse_kl, weighted_token_mean
from swift_tars.grpo.guards import TarsSetupError, check_training_setup
from swift_tars.grpo.hidden_states import OutputCapture, PooledCapture, find_decoder_layers, find_output_layers
from swift_tars.grpo.pairing import pair_rows, restore_speech_prompt
from swift_tars.grpo.resume import check_resume
from swift_tars.grpo.teacher import collate_teacher, completion_states
from swift_tars.grpo.teardown import destroy_process_group_at_exit
from swift_tars.models import family_of
from swift_tars.rewards.accuracy import correctness
from swift_tars.rewards.representation import representation_rewards

REPRESENTATION = 'TarsRepresentation'
# rewards that score a speech rollout against its group's text rollouts
TEXT_REFERENCE_REWARDS = (REPRESENTATION, 'TarsBehavior', 'TarsAgreement')
ACCURACY = 'TarsAccuracy'

# name -> the signature ms-swift 4.6.0 has; a mismatch means a hook may have changed meaning.
SWIFT_HOOKS: Dict[str, str] = {
    'to_samples': '(self, rows: List[Any]) -> List[swift.rl_core.data.OnPolicySample]',
    '_prepare_batch_inputs': '(self, samples: List[swift.rl_core.data.GRPOSample]) -> List[Dict[str, Any]]',
    '_get_per_token_logps_and_entropies': "(self, model, model_inputs: Dict[str, Any], grpo_batch: "
    "swift.rl_core.data.GRPOBatch, compute_entropy=False, origin_data=None) -> Tuple[torch.Tensor, "
    "Optional[torch.Tensor]]",
    'null_ref_context': '(self)',
    '_has_teacher_explicit': '(self) -> bool',
    '_postprocess_batch': '(self, samples: List[swift.rl_core.data.GRPOSample], batch_encoded_inputs: '
    'List[Dict[str, Any]]) -> None',
    '_compute_advantages': '(self, samples: List[swift.rl_core.data.GRPOSample], rewards_per_func: '
    'torch.Tensor, batch_encoded_inputs: List[Dict[str, Any]]) -> torch.Tensor',
    '_log_rollout': '(self, samples: List[swift.rl_core.data.GRPOSample]) -> None',
    '_compute_loss_and_metrics': '(self, model, model_inputs: Dict[str, Any], grpo_batch: '
    'swift.rl_core.data.GRPOBatch)',
    '_template_context': "(self, template: swift.template.base.Template, inputs: Optional[ForwardRef('DataType')] = "
    "None, max_length: Optional[int] = None, mode: Optional[str] = None)",
    'split_by_mini_batches': '(self, samples: List[swift.rl_core.data.OnPolicySample]) -> '
    'List[List[swift.rl_core.data.OnPolicySample]]',
}
# instance attributes read or written: each must be assigned somewhere in ms-swift's GRPO trainer code
SWIFT_ATTRIBUTES = ('_rewards_per_func', 'reward_func_names', 'reward_weights', 'scale_rewards', 'num_generations',
                    'num_generations_eval', '_metrics', '_logs', 'temperature', 'model_kwarg_keys', 'use_liger_loss',
                    'overlong_filter')


def check_swift_version() -> None:
    """Fails loudly unless the installed ms-swift is the release whose private hooks we override."""
    import swift

    if swift.__version__ != SWIFT_VERSION:
        raise ImportError(f'swift-tars overrides private hooks of ms-swift=={SWIFT_VERSION} but '
                          f'ms-swift=={swift.__version__} is installed; run `pip install ms-swift=={SWIFT_VERSION}` '
                          '(or `make setup`)')


class TarsGRPOTrainer(GRPOTrainer):
    """ms-swift's ``GRPOTrainer`` with TARS pairing, hidden-state capture and per-modality advantages."""

    def __init__(self, *args, **kwargs):
        self.tars = TarsConfig.from_env()
        self.tars_family = family_of(kwargs.get('model', args[0] if args else None))  # unsupported: stops here
        super().__init__(*args, **kwargs)
        destroy_process_group_at_exit()
        a = self.args
        check_training_setup(
            num_generations=self.num_generations,
            per_device_train_batch_size=a.per_device_train_batch_size,
            steps_per_generation=a.steps_per_generation,
            num_generations_eval=self.num_generations_eval,
            per_device_eval_batch_size=a.per_device_eval_batch_size,
            do_eval=a.eval_strategy != 'no',
            dynamic_sample=a.dynamic_sample,
            padding_free=self.template.padding_free,
            sequence_parallel_size=self.template.sequence_parallel_size,
            truncation_strategy=self.template.truncation_strategy,
            async_generate=a.async_generate,
            multi_turn_scheduler=a.multi_turn_scheduler,
            advantage_estimator=a.advantage_estimator,
            scale_rewards=self.scale_rewards,
            kl_in_reward=bool(a.kl_in_reward),
            has_teacher=self._has_teacher_explicit(),
            group_layout=self.tars.group_layout,
            text_terms=[n for n in self.reward_func_names if n in TEXT_REFERENCE_REWARDS] +
            (['TARS_DISTILL_COEF > 0'] if self.tars.distill_coef > 0 else []))
        self._capture = REPRESENTATION in self.reward_func_names or self.tars.log_representation
        if self._capture:
            layers = find_decoder_layers(self.accelerator.unwrap_model(self.model), self.tars_family)
            self._layer_ids = self.tars.layer_ids(len(layers))
            self._layers = [layers[i] for i in self._layer_ids]
        self._distill = self.tars.distill_coef > 0
        if self._distill:
            if self.use_liger_loss:
                raise TarsSetupError('TARS_DISTILL_COEF > 0 needs the plain GRPO loss path: set --use_liger_kernel '
                                     'false')
            self._final_norm, self._lm_head = find_output_layers(self.accelerator.unwrap_model(self.model),
                                                                 self.tars_family)
        check_resume(a.resume_from_checkpoint, self.tars, self.reward_func_names, self.num_generations)
        self._write_run_card()
        self._armed = False  # True only inside _prepare_batch_inputs
        self._in_reference = False  # True inside the LoRA reference pass (adapter disabled)
        self.tars_captures = 0  # pooled forwards so far (tests compare with the number of micro-batches)
        self.tars_teacher_forwards = 0  # CORD teacher forwards so far
        self._pooled, self._teacher, self._shaping, self._teacher_queue, self._old_policy_calls = {}, {}, {}, [], 0
        self._seen_batches = set()  # ids of micro-batches whose old-policy forward was captured

    def _write_run_card(self) -> None:
        """``<output_dir>/tars_config.json``: the TARS settings of this run (for model cards and reruns)."""
        if not self.accelerator.is_main_process:
            return
        card = {
            'swift_tars_version': __version__,
            'tars': dataclasses.asdict(self.tars),
            'layers_1_based': [i + 1 for i in self._layer_ids] if self._capture else None,
            'reward_funcs': self.reward_func_names,
            'reward_weights': self.reward_weights.tolist(),
            'num_generations': self.num_generations,
            'scale_rewards': self.scale_rewards,
            'advantages': 'per-modality',
            'invalid_rows_skipped': skipped_summary(),  # TARS_SKIP_INVALID=1: rows dropped before training
            'distillation': None if not self._distill else {
                k: v for k, v in dataclasses.asdict(self.tars).items() if k.startswith('distill_')
            },
        }
        os.makedirs(self.args.output_dir, exist_ok=True)
        with open(os.path.join(self.args.output_dir, 'tars_config.json'), 'w') as f:
            json.dump(card, f, indent=2)

    # -- stage 1: pairing ---------------------------------------------------------------------------
    def to_samples(self, rows: List[Any]) -> List[OnPolicySample]:
        if rows and all(isinstance(r, OnPolicySample) for r in rows):
            return super().to_samples(rows)
        group = self.num_generations if self.model.training else self.num_generations_eval
        return super().to_samples(pair_rows(rows, group, self.tars.group_layout))

    # -- stage 3: capture during the old-policy forward ---------------------------------------------
    def _prepare_batch_inputs(self, samples):
        if self.tars.text_scoring == 'upstream':  # docs/method.md §12: text rows trained under the audio prompt
            for s in samples:
                if s.extra.get(MODALITY) == TEXT:
                    restore_speech_prompt(s)
        distill = self._distill and self.model.training
        self._pooled, self._teacher, self._shaping, self._old_policy_calls = {}, {}, {}, 0
        self._teacher_queue, self._seen_batches = [], set()
        if distill:  # teacher views are encoded up front; each is run right after its old-policy forward
            with self._template_context(self.template):
                self._teacher_queue = [
                    collate_teacher(chunk, self.template, self.accelerator.device, self.tars_family.teacher_drop_inputs)
                    for chunk in self.split_by_mini_batches(samples)
                ]
        armed = self._armed = self._capture or distill
        try:
            batches = super()._prepare_batch_inputs(samples)
        finally:
            self._armed = False
        if armed and self._old_policy_calls != len(batches):
            raise RuntimeError(f'swift-tars saw {self._old_policy_calls} old-policy forwards for {len(batches)} '
                               'micro-batches; ms-swift\'s GRPO stages changed')
        return batches

    @contextmanager
    def null_ref_context(self):
        self._in_reference = True
        try:
            with super().null_ref_context():
                yield
        finally:
            self._in_reference = False

    def _get_per_token_logps_and_entropies(self,
                                           model,
                                           model_inputs,
                                           grpo_batch,
                                           compute_entropy=False,
                                           origin_data=None):
        take = (self._armed and not self._in_reference and model is self.model
                and id(grpo_batch) not in self._seen_batches)
        if not take:
            return super()._get_per_token_logps_and_entropies(model, model_inputs, grpo_batch, compute_entropy,
                                                              origin_data)
        distill = bool(self._teacher_queue)
        with ExitStack() as stack:
            pooled = stack.enter_context(
                PooledCapture(self._layers, grpo_batch.completion_mask, grpo_batch.logits_to_keep)
            ) if self._capture else None
            logits = stack.enter_context(OutputCapture(
                self._lm_head)) if distill and self.tars.distill_mode == 'advantage' else None
            result = super()._get_per_token_logps_and_entropies(model, model_inputs, grpo_batch, compute_entropy,
                                                                origin_data)
        if pooled is not None:
            self._pooled[id(grpo_batch)] = pooled.pooled
            self.tars_captures += 1
        if distill:
            self._run_teacher(grpo_batch, self._teacher_queue[self._old_policy_calls], logits)
        self._seen_batches.add(id(grpo_batch))
        self._old_policy_calls += 1
        return result

    # -- CORD: the text-conditioned teacher of speech rollouts -------------------------------------
    def _run_teacher(self, grpo_batch, teacher, student_logits) -> None:
        """Teacher forward (no grad) for the speech rows of one micro-batch, right after its old-policy pass."""
        rows, inputs, teacher_batch = teacher
        kwargs = dict(inputs)
        if 'use_cache' in self.model_kwarg_keys:
            kwargs['use_cache'] = False
        if 'logits_to_keep' in self.model_kwarg_keys:
            kwargs['logits_to_keep'] = 1  # the teacher's logits are recomputed later, chunk by chunk
        with torch.no_grad(), OutputCapture(self._final_norm) as norm:
            self.model(**kwargs)
        hidden = completion_states(norm.output, teacher_batch.logits_to_keep)
        mask = grpo_batch.completion_mask[rows]
        hidden = remap_to_frame(hidden, teacher_batch.completion_mask, mask).detach()
        self.tars_teacher_forwards += 1
        if self.tars.distill_mode == 'loss':
            self._teacher[id(grpo_batch)] = (rows, hidden)
            return
        kl, weights = self._cord_kl(student_logits.output, grpo_batch, rows, hidden, mask)
        self._shaping[id(grpo_batch)] = (rows, (weights * kl * mask).detach())

    def _cord_kl(self, logits, grpo_batch, rows, teacher_hidden, mask):
        """The CORD recipe on one micro-batch, for both modes: the student's completion logits of the speech
        ``rows`` (sliced from ``logits``, the lm-head output) -> token-level reverse KL to the teacher ->
        CORD weights -> logged. Returns (kl, weights), each ``[rows, completion]``; ``kl`` keeps the graph of
        ``logits``."""
        t, keep = self.tars, grpo_batch.logits_to_keep
        kl = token_reverse_kl(logits[rows][:, -(keep + 1):-1], teacher_hidden, self._lm_head, topk=t.distill_topk,
                              temperature=self.temperature, chunk=t.distill_chunk)
        weights = cord_weights(kl, mask, t.distill_top_tokens, t.distill_kl_weight, t.distill_position_weight)
        self._log_distill(kl, weights, mask)
        return kl, weights

    def _log_distill(self, kl, weights, mask) -> None:
        mode = 'train' if self.model.training else 'eval'
        m = mask.float()
        stats = torch.stack([(kl.detach() * m).sum() / m.sum().clamp(min=1),
                             weighted_token_mean(kl.detach(), weights, mask)])
        stats = self.accelerator.gather_for_metrics(stats.unsqueeze(0)).mean(0)
        self._metrics[mode]['tars/distill/kl'].append(stats[0].item())
        self._metrics[mode]['tars/distill/weighted_kl'].append(stats[1].item())

    def _compute_loss_and_metrics(self, model, model_inputs, grpo_batch):
        entry = self._teacher.get(id(grpo_batch)) if self.model.training else None
        if entry is None:
            return super()._compute_loss_and_metrics(model, model_inputs, grpo_batch)
        with OutputCapture(self._lm_head) as logits:
            loss, metrics = super()._compute_loss_and_metrics(model, model_inputs, grpo_batch)
        rows, hidden = entry
        mask = grpo_batch.completion_mask[rows]
        if self.overlong_filter:
            mask = mask & ~grpo_batch.truncated_mask[rows].unsqueeze(-1)
        kl, weights = self._cord_kl(logits.output, grpo_batch, rows, hidden, mask)  # student logits keep their graph
        loss = loss + self.tars.distill_coef * weighted_token_mean(kl, weights, mask)
        return loss, metrics

    # -- stage 4: representation reward, then per-modality advantages -------------------------------
    def _postprocess_batch(self, samples, batch_encoded_inputs) -> None:
        if self._capture:
            self._fill_representation(samples, batch_encoded_inputs)
        super()._postprocess_batch(samples, batch_encoded_inputs)
        shifts = []
        for encoded in batch_encoded_inputs:  # CORD as per-token advantage shaping of speech rows
            entry = self._shaping.pop(id(encoded['grpo_batch']), None)
            if entry is not None:
                rows, shaped = entry
                shift = self.tars.distill_coef * shaped.to(encoded['grpo_batch'].advantages.dtype)
                encoded['grpo_batch'].advantages[rows] -= shift
                mask = encoded['grpo_batch'].completion_mask[rows]
                shifts.append((shift.abs() * mask).sum() / mask.sum().clamp(min=1))
        if shifts:
            mode = 'train' if self.model.training else 'eval'
            shift = self.accelerator.gather_for_metrics(torch.stack(shifts).mean().unsqueeze(0)).mean()
            self._metrics[mode]['tars/distill/advantage_shift'].append(shift.item())

    def _fill_representation(self, samples, batch_encoded_inputs) -> None:
        pooled = torch.cat([self._pooled.pop(id(b['grpo_batch'])).cpu() for b in batch_encoded_inputs])
        batch = RowPreprocessor.rows_to_batched([s.to_reward_row() for s in samples])
        correct = correctness([s.messages[-1]['content'] for s in samples], batch)
        rewards, stats = representation_rewards(pooled, [s.extra.get(QUESTION_ID) for s in samples],
                                                [s.extra[MODALITY] for s in samples], correct, self.tars.reference,
                                                self.tars.empty_pool)
        device = self._rewards_per_func.device
        gathered = gather(rewards.to(device))
        mode = 'train' if self.model.training else 'eval'
        cosines = gathered[~gathered.isnan()]
        if cosines.numel():  # the raw cosine, logged before it becomes a reward (weights and signs come later)
            self._metrics[mode]['tars/representation_cosine'].append(cosines.mean().item())
        if REPRESENTATION in self.reward_func_names:
            self._rewards_per_func[:, self.reward_func_names.index(REPRESENTATION)] = gathered
        counts = gather(torch.tensor([stats['groups'], stats['groups_without_correct_text'], stats['empty_pool']],
                                     device=device, dtype=torch.float32).unsqueeze(0)).sum(0)
        self._metrics[mode]['tars/groups_without_correct_text'].append((counts[1] / counts[0].clamp(min=1)).item())
        self._metrics[mode]['tars/empty_pool'].append(counts[2].item())

    def _compute_advantages(self, samples, rewards_per_func, batch_encoded_inputs):
        super()._compute_advantages(samples, rewards_per_func, batch_encoded_inputs)  # ms-swift's metrics/logs
        tags = gather_object([s.extra[MODALITY] for s in samples])
        group = self.num_generations if self.model.training else self.num_generations_eval
        total = (rewards_per_func * self.reward_weights.unsqueeze(0)).nansum(dim=1)
        lengths = torch.cat([b['grpo_batch'].completion_mask.sum(1).float() for b in batch_encoded_inputs])
        self._log_modality_metrics(rewards_per_func, total, tags, gather(lengths))
        return per_modality_advantages(total, tags, group, self.scale_rewards)

    def _log_rollout(self, samples) -> None:
        """ms-swift's rollout log plus ``question_id`` and ``tars_modality`` columns in completions.jsonl."""
        super()._log_rollout(samples)
        for key, values in ((QUESTION_ID, [str(s.extra.get(QUESTION_ID)) for s in samples]),
                            (MODALITY, [s.extra[MODALITY] for s in samples])):
            if key not in self._logs:
                self._logs[key] = deque(maxlen=self.args.generation_batch_size)
            self._logs[key].extend(gather_object(values))

    def _log_modality_metrics(self, rewards_per_func, total, tags, lengths) -> None:
        """Per-modality means: total reward, each reward function, completion length; and the gaps."""
        mode = 'train' if self.model.training else 'eval'
        metrics = self._metrics[mode]
        means = {}
        for modality in (SPEECH, TEXT):
            mask = torch.tensor([t == modality for t in tags], device=total.device)
            if not mask.any():
                continue
            metrics[f'tars/{modality}/reward'].append(total[mask].mean().item())
            metrics[f'tars/{modality}/completion_length'].append(lengths[mask.to(lengths.device)].mean().item())
            for j, name in enumerate(self.reward_func_names):
                values = rewards_per_func[mask, j]
                values = values[~values.isnan()]
                if values.numel():
                    means[(modality, name)] = values.mean().item()
                    metrics[f'tars/{modality}/{name}'].append(means[(modality, name)])
        if (SPEECH, ACCURACY) in means and (TEXT, ACCURACY) in means:
            metrics['tars/accuracy_gap'].append(means[(TEXT, ACCURACY)] - means[(SPEECH, ACCURACY)])
