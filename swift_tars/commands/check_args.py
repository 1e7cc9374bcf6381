"""``swift-tars check-args``: validate a ``swift rlhf`` / ``rollout`` / ``export`` command line without running it.

Invoked exactly like ``swift`` (``swift-tars check-args rlhf --model ... --external_plugins ...``), so a
launch script that runs ``$SWIFT rlhf ...`` can be dry-run with ``SWIFT="swift-tars check-args"``. Nothing is
loaded and nothing is downloaded:

1. a YAML/JSON config file as the first argument is expanded the way ``swift`` does (``parse_yaml_args``);
2. the arguments are parsed by ms-swift's own argument dataclass (``RLHFArguments``, ``RolloutArguments``,
   ``ExportArguments``) through ``transformers.HfArgumentParser`` with ms-swift's type-hint patch, as in
   ``swift.utils.parse_args`` — but with ``parse_known_args`` only, never ``__post_init__`` (which loads model
   configs). Unknown flags are an error, as in ``SwiftPipeline._parse_args`` (``ValueError: remaining_argv``),
   with the closest known flag suggested; bad choices and types fail as argparse fails in ms-swift; values that
   look like JSON (``--vllm_limit_mm_per_prompt '{...}'``) must parse (:mod:`.swift_arguments`);
3. the ``--external_plugins`` files are imported with ``swift.utils.import_external_file`` (so the ``tars_*``
   rewards are registered);
4. swift-tars' checks on the parsed values (:mod:`.rlhf_checks`, :mod:`.launch_checks`): the batch rules of
   :func:`swift_tars.grpo.guards.training_setup_problems` (``steps_per_generation`` defaults to
   ``gradient_accumulation_steps``), ms-swift's own generation-batch arithmetic for ``NPROC_PER_NODE × NNODES``
   processes, every ``--reward_funcs`` name registered in ``swift.rewards.orms``, the ``--reward_weights`` count,
   ``--deepspeed`` a built-in name, a file or JSON, the dataset row checks training runs
   (:mod:`swift_tars.data.row_checks`) on the local datasets that exist, ``TarsConfig.from_env()`` for every
   ``TARS_*`` variable (all bad ones reported), a few
   ms-swift ``__post_init__`` rules (``--vllm_mode`` with ``--use_vllm``, truncation strategy, ...).

Prints one ``OK`` line with the batch arithmetic, or every problem found and exits 1.

Batch mode for tests (one Python start-up for many command lines): ``--record FILE`` appends the command line,
the working directory and the relevant environment to ``FILE`` (JSON lines) and exits 0 without importing
anything heavy; ``--replay FILE...`` checks every recorded line in one process.
"""
import argparse
import contextlib
import json
import os
import sys
from dataclasses import asdict
from typing import Iterator, List, Mapping, Optional, Sequence, Tuple

from swift_tars.commands.launch_checks import CheckResult, check_export, check_rollout, import_plugins
from swift_tars.commands.rlhf_checks import check_rlhf
from swift_tars.commands.swift_arguments import parse

COMMANDS = ('rlhf', 'rollout', 'export')
# environment read by `swift` (torchrun re-execution) and by the checks; recorded with --record
RECORDED_ENV = ('NPROC_PER_NODE', 'NNODES', 'NODE_RANK', 'MASTER_ADDR', 'MASTER_PORT', 'CUDA_VISIBLE_DEVICES',
                'ENABLE_AUDIO_OUTPUT', 'USE_HF', 'SWIFT_AUDIO_LOAD_BACKEND')


# ---------------------------------------------------------------------------------------------------------------
# checking one command line


@contextlib.contextmanager
def _environ(env: Optional[Mapping[str, str]]) -> Iterator[None]:
    """``os.environ`` with the ``TARS_*`` / launcher variables of ``env`` (``None``: unchanged)."""
    if env is None:
        yield
        return
    saved = dict(os.environ)
    try:
        for key in list(os.environ):
            if key.startswith('TARS_') or key in RECORDED_ENV:
                del os.environ[key]
        os.environ.update(env)
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


_CHECKS = {'rlhf': check_rlhf, 'rollout': check_rollout, 'export': check_export}
# errors caused by the checked command line or its files (never a bug of check-args itself): reported as problems
USER_ERRORS = (ValueError, OSError, KeyError, TypeError)


def check(command: str, argv: Sequence[str], env: Optional[Mapping[str, str]] = None, cwd: Optional[str] = None,
          label: str = '') -> CheckResult:
    """Validates ``swift <command> <argv>`` as described in the module docstring; never raises for bad input
    (an error raised by a bad value or path is one more problem).

    ``env``: the environment of the command (default ``os.environ``); ``cwd``: resolves relative paths.
    """
    result = CheckResult(command=command, label=label)
    if command not in COMMANDS:
        result.problems.append(f'unsupported command {command!r}; use one of {", ".join(COMMANDS)}')
        return result
    try:
        _check(result, command, list(argv), dict(os.environ if env is None else env), cwd)
    except USER_ERRORS as e:  # a bad value or path reached a check: report it, never a traceback
        result.problems.append(f'{type(e).__name__}: {e}')
    return result


def _check(result: CheckResult, command: str, argv: List[str], env: dict, cwd: Optional[str]) -> None:
    if argv and argv[0].endswith(('.json', '.yaml', '.yml')):
        from swift.cli.main import parse_yaml_args

        with _environ(env):
            parse_yaml_args(argv)  # expands the config file in place; its ENV block fills missing variables
            env.update({k: v for k, v in os.environ.items() if k.startswith('TARS_') or k in RECORDED_ENV})
    namespace, problems, warnings = parse(command, argv)
    result.problems += problems
    result.warnings += warnings
    if not vars(namespace):  # argparse itself failed
        return
    with _environ(env):
        plugins = import_plugins(namespace, cwd, result.problems)
        _CHECKS[command](namespace, env, cwd, result, plugins)


# ---------------------------------------------------------------------------------------------------------------
# command line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``swift-tars check-args`` flags; everything after the swift command is passed through untouched."""
    parser.description = ('Validate a `swift rlhf|rollout|export` command line through ms-swift\'s own argument '
                          'parsing plus swift-tars\' batch/reward/TARS_* checks, without loading anything. Use it '
                          'like `swift`: SWIFT="swift-tars check-args" bash examples/train_....sh')
    parser.add_argument('--record', metavar='FILE', help='append the command line and environment to FILE (JSON '
                        'lines) and exit 0 without checking; check later with --replay')
    parser.add_argument('--replay', nargs='+', metavar='FILE', help='check every command line recorded in FILE(s)')
    parser.add_argument('--json', action='store_true', help='print one JSON object per check')
    # (not `command`: the swift-tars dispatcher stores the subcommand name there)
    parser.add_argument('swift_command', nargs='?', metavar='COMMAND', help='rlhf, rollout or export')
    parser.add_argument('swift_args', nargs=argparse.REMAINDER, help='the arguments `swift <command>` would get')


def _record(path: str, command: str, argv: List[str]) -> int:
    """``--record``: appends the call (argv, cwd, relevant environment) as one JSON line; checks nothing."""
    env = {k: v for k, v in os.environ.items() if k.startswith('TARS_') or k in RECORDED_ENV}
    line = json.dumps({'command': command, 'argv': argv, 'env': env, 'cwd': os.getcwd()})
    with open(path, 'a', encoding='utf-8') as f:
        f.write(line + '\n')
    return 0


def _read_records(path: str) -> Tuple[List[Tuple[int, dict]], List[str]]:
    """(line number, record) of every JSON record of a ``--record`` file, and a problem per unreadable line."""
    records, problems = [], []
    try:
        with open(path, encoding='utf-8') as f:
            lines = f.read().splitlines()
    except OSError as e:
        return [], [f'{path}: cannot be read ({e})']
    for i, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            if not isinstance(rec, dict) or 'command' not in rec or 'argv' not in rec:
                raise ValueError('expected an object with "command" and "argv"')
            records.append((i, rec))
        except ValueError as e:
            problems.append(f'{path} line {i}: not a recorded command line ({e}); re-record it with --record')
    return records, problems


def _replay(paths: Sequence[str]) -> Iterator[CheckResult]:
    """``--replay``: checks every recorded call, labelled ``<file stem>#<index>``, going on after a bad one; an
    empty file is a problem."""
    for path in paths:
        stem = os.path.basename(path).rsplit('.', 1)[0]
        records, problems = _read_records(path)
        if problems:
            yield CheckResult(command='?', label=stem, problems=problems)
        elif not records:
            yield CheckResult(command='?', label=stem, problems=[f'{path}: nothing was recorded (did the script call '
                                                                 '$SWIFT?)'])
        for i, (line, rec) in enumerate(records):
            try:
                yield check(rec['command'], rec['argv'], env=rec.get('env') or {}, cwd=rec.get('cwd'),
                            label=f'{stem}#{i}')
            except USER_ERRORS as e:
                yield CheckResult(command=str(rec['command']), label=f'{stem}#{i}',
                                  problems=[f'{path} line {line}: {type(e).__name__}: {e}'])


def main(args: argparse.Namespace) -> int:
    """Prints the verdict of each check (OK to stdout, problems to stderr); 0 when all pass, 1 otherwise."""
    _quiet()
    if args.replay:
        results = list(_replay(args.replay))
    else:
        argv = list(args.swift_args or [])
        if argv[:1] == ['--']:
            argv = argv[1:]
        if args.swift_command not in COMMANDS:
            print(f'swift-tars check-args: give the swift command to check ({", ".join(COMMANDS)}), e.g. '
                  '`swift-tars check-args rlhf --rlhf_type grpo ...`', file=sys.stderr)
            return 2
        if args.record:
            return _record(args.record, args.swift_command, argv)
        results = [check(args.swift_command, argv)]
    for r in results:
        if args.json:
            print(json.dumps({**asdict(r), 'ok': r.ok}))
        else:
            print(r.render(), file=sys.stdout if r.ok else sys.stderr)
    return 0 if all(r.ok for r in results) else 1


def _quiet() -> None:
    """ms-swift and transformers log at import; keep the output to the verdict."""
    os.environ.setdefault('TRANSFORMERS_VERBOSITY', 'error')
    os.environ.setdefault('LOG_LEVEL', 'WARNING')  # ms-swift's logger
    import logging
    import warnings

    warnings.filterwarnings('ignore')
    logging.getLogger('swift').setLevel(logging.ERROR)
