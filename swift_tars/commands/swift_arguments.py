"""Parsing a ``swift rlhf|rollout|export`` command line through ms-swift's own argument dataclass.

As ``swift.utils.parse_args`` does (``transformers.HfArgumentParser`` with ms-swift's type-hint patch), but with
``parse_known_args`` only, never ``__post_init__`` (which loads model configs). Used by ``swift-tars check-args``.
"""
import argparse
import contextlib
import difflib
import json
from typing import List, Sequence, Tuple

ARGUMENT_CLASSES = {'rlhf': 'RLHFArguments', 'rollout': 'RolloutArguments', 'export': 'ExportArguments'}


class _ArgparseError(Exception):
    """What argparse would report before exiting 2; raised instead so the check can list it."""


def _argument_class(command: str):
    import swift.arguments

    return getattr(swift.arguments, ARGUMENT_CLASSES[command])


def _hf_parser(cls):
    """``HfArgumentParser([cls])`` built as ``swift.utils.parse_args`` builds it (JSON-string fields stay str)."""
    from transformers import HfArgumentParser

    try:
        from swift.utils.utils import _patch_get_type_hints
    except ImportError:  # pragma: no cover - ms-swift is pinned; keep a usable error if it moves
        _patch_get_type_hints = contextlib.nullcontext
    with _patch_get_type_hints():
        parser = HfArgumentParser([cls])

    def error(message):  # argparse would print usage and exit 2
        raise _ArgparseError(message)

    parser.error = error
    return parser


def _dict_fields(cls) -> List[str]:
    """Fields whose annotation allows a dict: ms-swift reads them from JSON strings (or files)."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(cls)
    names = []
    for f in dataclasses.fields(cls):
        hint = hints.get(f.name)
        args = typing.get_args(hint)
        if hint is dict or dict in args or any(typing.get_origin(a) is dict for a in args):
            names.append(f.name)
    return names


def _unknown_flags(remaining: Sequence[str], known: Sequence[str]) -> List[str]:
    """The flags among ``remaining`` (values skipped), each with the closest known flag when there is one."""
    out = []
    for item in remaining:
        if not item.startswith('-') or item.lstrip('-').replace('.', '', 1).isdigit():  # values like -1
            continue
        flag = item.split('=', 1)[0]
        close = difflib.get_close_matches(flag, known, n=1, cutoff=0.75)
        out.append(f'{flag} (did you mean {close[0]}?)' if close else flag)
    return out


def _json_problems(cls, namespace: argparse.Namespace) -> List[str]:
    """Dict fields given as a string that looks like JSON but does not parse (usually shell quoting)."""
    problems = []
    for name in _dict_fields(cls):
        value = getattr(namespace, name, None)
        if isinstance(value, str) and value.strip()[:1] in ('{', '['):
            try:
                json.loads(value)
            except json.JSONDecodeError as e:
                problems.append(f'--{name} {value!r} is not valid JSON ({e}); check the shell quoting')
    return problems


def parse(command: str, argv: Sequence[str]) -> Tuple[argparse.Namespace, List[str], List[str]]:
    """Parses ``argv`` with ms-swift's argument class of ``command`` (no ``__post_init__``).

    Returns ``(namespace, problems, warnings)``; ``namespace`` holds every field with its default, and is empty
    when argparse itself rejected the arguments. Unknown flags are an error, as in ``SwiftPipeline._parse_args``.
    """
    cls = _argument_class(command)
    parser = _hf_parser(cls)
    problems, warnings = [], []
    try:
        namespace, remaining = parser.parse_known_args(list(argv))
    except _ArgparseError as e:
        return argparse.Namespace(), [f'ms-swift rejects the arguments: {e}'], []
    if remaining:
        known = [o for o in parser._option_string_actions if o.startswith('--')]
        flags = _unknown_flags(remaining, known)
        msg = (f'unknown argument(s) for `swift {command}`: {", ".join(flags) or " ".join(remaining)} — ms-swift '
               f'{swift_version()} stops with `ValueError: remaining_argv: {remaining}`')
        if getattr(namespace, 'ignore_args_error', False):
            warnings.append(msg + ' (ignored because of --ignore_args_error true)')
        else:
            problems.append(msg)
    problems += _json_problems(cls, namespace)
    return namespace, problems, warnings


def swift_version() -> str:
    """The installed ms-swift version, as named in the messages."""
    import swift

    return swift.__version__
