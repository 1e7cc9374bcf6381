"""Every docstring example in the package runs and gives what it shows."""
import doctest
import importlib
import pkgutil

import pytest

import swift_tars

MODULES = sorted(m.name for m in pkgutil.walk_packages(swift_tars.__path__, 'swift_tars.')
                 if not m.name.endswith('.plugin'))


@pytest.mark.parametrize('name', MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f'{result.failed} docstring example(s) failed in {name}'
