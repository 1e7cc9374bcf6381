"""Resuming a killed run: ``--resume_from_checkpoint`` continues with the settings the checkpoint was trained with.

At start-up the trainer writes the run card ``<output_dir>/tars_config.json``; ms-swift saves checkpoints as
``<output_dir>/checkpoint-<step>``, so the card of a checkpoint's run is the file next to it. :func:`check_resume`
compares that card with the settings of the run being started, before the new card is written, and stops with one
line per changed ``TARS_*`` variable or flag unless ``TARS_ALLOW_CHANGED_CONFIG=1``. :func:`changed_settings` is
the pure comparison.
"""
import dataclasses
import json
import logging
import os
from typing import Any, List, Mapping, Optional, Sequence

from swift_tars.config import TarsConfig
from swift_tars.grpo.guards import TarsSetupError

logger = logging.getLogger('swift_tars')

RUN_CARD = 'tars_config.json'
# TarsConfig fields that do not change training: where wavs are cached, and the override itself
NOT_COMPARED = ('audio_cache', 'allow_changed_config')
# run-card keys written from ms-swift flags, and the flag
FLAGS = {'reward_funcs': '--reward_funcs', 'num_generations': '--num_generations'}


class TarsResumeRefused(SystemExit):
    """The settings differ from those of the checkpoint's run. A ``SystemExit`` whose code is the message in the
    :class:`~swift_tars.grpo.guards.TarsSetupError` layout: the run stops with status 1 and the message, without a
    traceback. ``problems`` holds one line per difference."""

    def __init__(self, checkpoint: str, problems: Sequence[str]):
        self.problems: List[str] = list(problems)
        hint = (f'--resume_from_checkpoint {checkpoint} was trained with the settings above '
                f'({run_card_of(checkpoint)}); set them back, or set TARS_ALLOW_CHANGED_CONFIG=1 to resume with the '
                'new ones')
        super().__init__(str(TarsSetupError.from_problems([*self.problems, hint])))


def _plain(value: Any) -> Any:
    """``value`` as it reads back from JSON (tuples become lists)."""
    return json.loads(json.dumps(value))


def changed_settings(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> List[str]:
    """One line per setting of ``current`` that differs from the run card ``recorded``; empty when none.

    Both are run cards (``{'tars': {field: value}, 'reward_funcs': [...], 'num_generations': n}``). A key absent
    from ``recorded`` (a card of an older swift-tars) is not compared.

    >>> changed_settings({'tars': {'layers': 'all'}, 'num_generations': 8}, {'tars': {'layers': 'deep'},
    ...                  'num_generations': 8})
    ["TARS_LAYERS: 'all' in the checkpoint's run, 'deep' now"]
    """
    problems = []
    old_tars, new_tars = recorded.get('tars') or {}, current.get('tars') or {}
    for field, value in new_tars.items():
        if field in NOT_COMPARED or field not in old_tars or _plain(old_tars[field]) == _plain(value):
            continue
        problems.append(f"TARS_{field.upper()}: {old_tars[field]!r} in the checkpoint's run, {_plain(value)!r} now")
    for key, flag in FLAGS.items():
        if key in recorded and key in current and _plain(recorded[key]) != _plain(current[key]):
            problems.append(f"{flag}: {recorded[key]!r} in the checkpoint's run, {_plain(current[key])!r} now")
    return problems


def run_card_of(checkpoint: str) -> str:
    """Where the run card of ``checkpoint``'s run is: next to the checkpoint folder."""
    return os.path.join(os.path.dirname(os.path.abspath(checkpoint.rstrip('/'))), RUN_CARD)


def check_resume(checkpoint: Optional[Any], tars: TarsConfig, reward_funcs: Sequence[str],
                 num_generations: int) -> None:
    """Raises :class:`TarsResumeRefused` when resuming ``checkpoint`` with settings other than its run's.

    Nothing to do without a checkpoint path; a checkpoint without a run card next to it (copied elsewhere, or
    not written by swift-tars) is resumed with a warning. ``TARS_ALLOW_CHANGED_CONFIG=1`` turns the refusal into a
    warning.
    """
    if not isinstance(checkpoint, str) or not checkpoint:
        return
    card = run_card_of(checkpoint)
    if not os.path.isfile(card):
        logger.warning('swift-tars: no %s next to %s; resuming without comparing TARS_* settings', RUN_CARD,
                       checkpoint)
        return
    with open(card) as f:
        recorded = json.load(f)
    current = {'tars': dataclasses.asdict(tars), 'reward_funcs': list(reward_funcs),
               'num_generations': num_generations}
    problems = changed_settings(recorded, current)
    if problems and tars.allow_changed_config:
        logger.warning('swift-tars: TARS_ALLOW_CHANGED_CONFIG=1, resuming %s with changed settings:\n  - %s',
                       checkpoint, '\n  - '.join(problems))
    elif problems:
        raise TarsResumeRefused(checkpoint, problems)
