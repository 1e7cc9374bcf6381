"""The file handed to ``swift rlhf --external_plugins``: registers swift-tars into ms-swift.

Registration only; the logic lives in the modules it imports. Print the path with
``swift-tars plugin-path``.
"""
import os
import sys

# ms-swift puts this file's folder first on sys.path; our module names must not shadow top-level ones.
_HERE = os.path.dirname(os.path.abspath(__file__))
while _HERE in sys.path:
    sys.path.remove(_HERE)

from swift.rewards import orms  # noqa: E402
from swift.trainers import TrainerFactory  # noqa: E402

from swift_tars.data.datasets import install_row_checks, register_datasets  # noqa: E402
from swift_tars.grpo.trainer import check_swift_version  # noqa: E402
from swift_tars.rewards.accuracy import TarsAccuracy  # noqa: E402
from swift_tars.rewards.agreement import TarsAgreement  # noqa: E402
from swift_tars.rewards.behavior import TarsBehavior  # noqa: E402
from swift_tars.rewards.format import TarsFormat  # noqa: E402
from swift_tars.rewards.representation import TarsRepresentation  # noqa: E402
from swift_tars.swift_families import register_families  # noqa: E402

check_swift_version()

orms['tars_accuracy'] = TarsAccuracy
orms['tars_format'] = TarsFormat
orms['tars_representation'] = TarsRepresentation
orms['tars_behavior'] = TarsBehavior
orms['tars_agreement'] = TarsAgreement

TrainerFactory.TRAINER_MAPPING['grpo'] = 'swift_tars.grpo.trainer.TarsGRPOTrainer'

register_datasets()
install_row_checks()

register_families()  # model-family fixes for transformers 5 (swift_tars/swift_families.py)

# ms-swift caches this module and re-inserts our folder on every later import_external_file call (`swift rollout`
# and `swift deploy` import the plugins a second time); forgetting the cached module makes each call re-run this
# file, which is idempotent, so the folder is taken off sys.path every time.
if __name__.startswith('_swift_external_'):
    sys.modules.pop(__name__, None)
