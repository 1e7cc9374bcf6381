"""The command-line front beside the ``swift-tars`` dispatcher (``swift_tars/cli.py``): commands that tie
several layers together (``demo``, ``check-args``). Each module has ``add_arguments(parser)`` and
``main(args)`` and stays cheap to import (heavy imports inside ``main``).

May import anything in ``swift_tars`` and ``data_builders``; nothing imports it except the dispatcher and tests.
"""
