"""``swift-tars``: the command-line entry point. Each subcommand lives in its own module.

A command module provides ``add_arguments(parser)`` and ``main(args) -> int``; heavy imports stay
inside ``main`` so that ``swift-tars --help`` and ``swift-tars plugin-path`` are instant.
"""
import argparse
import importlib
import os
import sys
from typing import List, Optional

# name -> (module, one-line help)
COMMANDS = {
    'plugin-path': ('swift_tars.cli', 'print the plugin file to pass to `swift rlhf --external_plugins`'),
    'demo': ('swift_tars.commands.demo', 'offline demo: tiny Qwen2.5-Omni, spoken questions, real `swift rlhf` GRPO'),
    'reproduce-mini': ('swift_tars.commands.reproduce_mini', 'CPU miniature of the paper\'s table: five GRPO arms × seeds '
                       'on a tiny model with a modality gap, evaluated and probed (offline)'),
    'build-data': ('data_builders.cli',
                   'build ms-swift-ready spoken multiple-choice data (mmlu, voicebench, upstream)'),
    'eval': ('swift_tars.evaluation.eval_cli', 'speech vs text accuracy, gap and MRR on row-format eval sets'),
    'probe': ('swift_tars.evaluation.probe_cli', 'layer-wise speech/text hidden-state similarity and APS'),
    'check-args': ('swift_tars.commands.check_args', 'dry-run a `swift rlhf|rollout|export` command line: ms-swift\'s own '
                   'argument parsing plus the TARS batch, reward and TARS_* checks (no model, no download)'),
    'doctor': ('swift_tars.commands.doctor', 'machine ready? pins, GPUs, TARS_*, hub, disk; --recipe: memory plan'),
    'push': ('swift_tars.release.push',
             'upload a checkpoint (LoRA or merged) to the Hugging Face hub with a TARS model card'),
}


def plugin_path() -> str:
    """Absolute path of ``swift_tars/plugin.py`` in the installed package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugin.py')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``plugin-path`` takes no arguments."""


def main(args: Optional[argparse.Namespace] = None, argv: Optional[List[str]] = None) -> int:
    """Dispatches to a subcommand; also ``plugin-path`` itself when called with its namespace."""
    if args is not None:  # called as the `plugin-path` command
        print(plugin_path())
        return 0
    parser = argparse.ArgumentParser(prog='swift-tars', description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command', required=True, metavar='COMMAND')
    modules = {}
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        modules[name] = module
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
    parsed = parser.parse_args(argv)
    return int(modules[parsed.command].main(parsed) or 0)


if __name__ == '__main__':
    sys.exit(main())
