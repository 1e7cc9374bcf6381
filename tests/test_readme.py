"""The README stays true: its two commands, every TARS_* variable and every registered reward name."""
import re
from pathlib import Path

from swift_tars.config import TARS_VARIABLES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / 'README.md').read_text()


def test_two_commands_and_ci_use_them():
    assert '```bash\nmake demo' in README and '\nmake test' in README
    makefile = (ROOT / 'Makefile').read_text()
    assert re.search(r'^demo: setup$', makefile, re.M) and re.search(r'^test: setup$', makefile, re.M)
    ci = [line for line in (ROOT / '.ci' / 'run').read_text().splitlines() if line and not line.startswith('#')]
    assert ci[-1] == 'make test'


def test_every_tars_variable_is_documented_with_its_default():
    for name, (default, _) in TARS_VARIABLES.items():
        assert f'| `{name}` | `{default}` |' in README, f'README lacks the row of {name} (default {default!r})'
    mentioned = set(re.findall(r'TARS_[A-Z_]+[A-Z]', README))
    assert mentioned <= set(TARS_VARIABLES), f'README mentions unknown variables {mentioned - set(TARS_VARIABLES)}'


def test_every_registered_reward_is_documented():
    plugin = (ROOT / 'swift_tars' / 'plugin.py').read_text()
    names = re.findall(r"orms\['(tars_\w+)'\]", plugin)
    assert len(names) >= 5
    for name in names:
        assert f'`{name}`' in README, name
