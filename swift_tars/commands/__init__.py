"""The command-line front beside the ``swift-tars`` dispatcher (``swift_tars/cli.py``): commands that tie
several layers together (``demo``, ``check-args``, ``doctor``, ``reproduce-mini``). A command module has
``add_arguments(parser)`` and ``main(args)`` and stays cheap to import (heavy imports inside ``main``); the others
here are its parts (``swift_arguments``, ``rlhf_checks``, ``launch_checks``, ``memory_plan``, ``reproduce_report``).

May import anything in ``swift_tars`` and ``data_builders``; nothing imports it except the dispatcher and tests.
"""
