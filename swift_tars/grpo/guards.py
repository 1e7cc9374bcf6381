"""Start-up checks: GRPO settings that would break speech/text pairing fail fast, naming the flag to change.

Pure function of plain values so it is testable without a trainer; ``TarsGRPOTrainer`` calls
:func:`check_training_setup` once after ms-swift has built everything.
"""
from typing import List, Optional


class TarsSetupError(ValueError):
    """A ``swift rlhf`` argument is incompatible with TARS; the message says which and how to fix it."""


def check_training_setup(*,
                         num_generations: int,
                         per_device_train_batch_size: int,
                         steps_per_generation: int,
                         num_generations_eval: Optional[int] = None,
                         per_device_eval_batch_size: Optional[int] = None,
                         do_eval: bool = False,
                         dynamic_sample: bool = False,
                         padding_free: bool = False,
                         sequence_parallel_size: int = 1,
                         truncation_strategy: str = 'left',
                         async_generate: bool = False,
                         multi_turn_scheduler: Optional[str] = None,
                         advantage_estimator: str = 'grpo',
                         scale_rewards: Optional[str] = 'none',
                         kl_in_reward: bool = False,
                         has_teacher: bool = False) -> None:
    """Raises :class:`TarsSetupError` listing every problem found (not only the first)."""
    problems: List[str] = []
    if num_generations % 2 or num_generations < 2:
        problems.append(f'--num_generations {num_generations} must be even (half speech, half text rollouts), '
                        'e.g. 8 for 4 + 4 as in the paper')
    local = per_device_train_batch_size * steps_per_generation
    if num_generations and local % num_generations:
        problems.append(f'per_device_train_batch_size × steps_per_generation = {per_device_train_batch_size} × '
                        f'{steps_per_generation} = {local} is not a multiple of --num_generations {num_generations}: '
                        'a group would straddle ranks. Change --per_device_train_batch_size or '
                        '--gradient_accumulation_steps/--steps_per_generation')
    if per_device_train_batch_size % 2:
        problems.append(f'--per_device_train_batch_size {per_device_train_batch_size} must be even so every '
                        'micro-batch holds a speech rollout (audio in every forward; required under ZeRO-3)')
    if do_eval:
        g = num_generations_eval or num_generations
        if g % 2 or g < 2:
            problems.append(f'--num_generations_eval {g} must be even (half speech, half text)')
        if per_device_eval_batch_size and g and per_device_eval_batch_size % g:
            problems.append(f'--per_device_eval_batch_size {per_device_eval_batch_size} must be a multiple of '
                            f'--num_generations_eval {g}')
    if dynamic_sample:
        problems.append('--dynamic_sample true resamples groups from rewards computed before the representation '
                        'reward is filled in, and replaces rows; set --dynamic_sample false')
    if padding_free:
        problems.append('--padding_free true flattens the batch; hidden-state pooling needs it off: '
                        '--padding_free false')
    if sequence_parallel_size != 1:
        problems.append(f'--sequence_parallel_size {sequence_parallel_size}: sequence parallelism splits rollouts '
                        'across ranks; use 1')
    if truncation_strategy in ('raise', 'delete'):
        problems.append('--truncation_strategy delete replaces over-long rows one by one and breaks groups; '
                        'use --truncation_strategy left')
    if async_generate:
        problems.append('--async_generate true trains on rollouts of the previous step; set it to false')
    if multi_turn_scheduler:
        problems.append(f'--multi_turn_scheduler {multi_turn_scheduler}: TARS groups are single-turn; remove it')
    if advantage_estimator != 'grpo':
        problems.append(f'--advantage_estimator {advantage_estimator}: per-modality advantages are defined for '
                        'grpo only')
    if scale_rewards not in ('none', 'group'):
        problems.append(f'--scale_rewards {scale_rewards}: use none (paper, mean-centring) or group '
                        '(per-modality std)')
    if kl_in_reward:
        problems.append('--kl_in_reward true is not supported with per-modality advantages; use the KL loss term '
                        '(--beta) or --beta 0 (paper)')
    if has_teacher:
        problems.append('a teacher model / teacher_prompt column switches on ms-swift\'s OPD path, which runs '
                        'extra policy forwards; remove it (swift-tars has its own text-teacher term)')
    if problems:
        raise TarsSetupError('swift-tars cannot train with these arguments:\n  - ' + '\n  - '.join(problems))
