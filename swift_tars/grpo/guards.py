"""Start-up checks: GRPO settings that would break speech/text pairing fail fast, naming the flag to change.

Pure functions of plain values so they are testable without a trainer. :func:`training_setup_problems` is the
one home of the batch rules: ``TarsGRPOTrainer`` calls :func:`check_training_setup` once after ms-swift has
built everything, and ``swift-tars check-args`` reads the list of problems directly.
"""
from typing import List, Optional, Sequence

SETUP_ERROR_HEADING = 'swift-tars cannot train with these arguments:'


class TarsSetupError(ValueError):
    """A ``swift rlhf`` argument is incompatible with TARS; the message says which and how to fix it.

    ``problems`` holds one line per problem (the message itself when the error was raised with a message only).
    """

    def __init__(self, message: str, problems: Optional[Sequence[str]] = None):
        super().__init__(message)
        self.problems: List[str] = list(problems) if problems is not None else [message]

    @classmethod
    def from_problems(cls, problems: Sequence[str]) -> 'TarsSetupError':
        """One error listing ``problems`` under :data:`SETUP_ERROR_HEADING`, one ``  - `` line each."""
        return cls(SETUP_ERROR_HEADING + '\n  - ' + '\n  - '.join(problems), problems)


def _group_problems(num_generations: int, per_device_train_batch_size: int, steps_per_generation: int) -> List[str]:
    """Training groups: even size, whole groups per rank, a speech rollout in every micro-batch."""
    problems = []
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
    return problems


def _eval_group_problems(num_generations: int, num_generations_eval: Optional[int],
                         per_device_eval_batch_size: Optional[int]) -> List[str]:
    """Evaluation groups: even size, whole groups per eval batch."""
    problems = []
    g = num_generations_eval or num_generations
    if g % 2 or g < 2:
        problems.append(f'--num_generations_eval {g} must be even (half speech, half text)')
    if per_device_eval_batch_size and g and per_device_eval_batch_size % g:
        problems.append(f'--per_device_eval_batch_size {per_device_eval_batch_size} must be a multiple of '
                        f'--num_generations_eval {g}')
    return problems


def _batch_layout_problems(*, dynamic_sample: bool, padding_free: bool, sequence_parallel_size: int,
                           truncation_strategy: str, async_generate: bool,
                           multi_turn_scheduler: Optional[str]) -> List[str]:
    """ms-swift features that replace, flatten, split or delay rollouts, so groups stop being pairs."""
    problems = []
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
    return problems


def _objective_problems(*, advantage_estimator: str, scale_rewards: Optional[str], kl_in_reward: bool,
                        has_teacher: bool) -> List[str]:
    """Advantage and loss settings that per-modality advantages do not support."""
    problems = []
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
    return problems


def group_layout_problems(group_layout: str, text_terms: Sequence[str]) -> List[str]:
    """``TARS_GROUP_LAYOUT=speech`` has no text rollouts: ``text_terms`` (rewards or loss terms that compare speech
    with text, e.g. ``tars_behavior``, ``TARS_DISTILL_COEF > 0``) cannot run."""
    if group_layout != 'speech' or not text_terms:
        return []
    return [f'TARS_GROUP_LAYOUT=speech (speech-only GRPO) has no text rollouts, but {", ".join(text_terms)} '
            'compare speech with text: drop them from --reward_funcs (and set TARS_DISTILL_COEF=0), or unset '
            'TARS_GROUP_LAYOUT']


def training_setup_problems(*,
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
                            has_teacher: bool = False,
                            group_layout: str = 'paired',
                            text_terms: Sequence[str] = ()) -> List[str]:
    """Every problem found (not only the first), one line each naming the flag and its fix; empty when fine."""
    problems = _group_problems(num_generations, per_device_train_batch_size, steps_per_generation)
    if do_eval:
        problems += _eval_group_problems(num_generations, num_generations_eval, per_device_eval_batch_size)
    problems += _batch_layout_problems(
        dynamic_sample=dynamic_sample, padding_free=padding_free, sequence_parallel_size=sequence_parallel_size,
        truncation_strategy=truncation_strategy, async_generate=async_generate,
        multi_turn_scheduler=multi_turn_scheduler)
    problems += _objective_problems(advantage_estimator=advantage_estimator, scale_rewards=scale_rewards,
                                    kl_in_reward=kl_in_reward, has_teacher=has_teacher)
    problems += group_layout_problems(group_layout, text_terms)
    return problems


def check_training_setup(**settings) -> None:
    """Raises :class:`TarsSetupError` listing every problem of :func:`training_setup_problems` (same keywords)."""
    problems = training_setup_problems(**settings)
    if problems:
        raise TarsSetupError.from_problems(problems)
