"""The layering of docs/architecture.md, checked on the source: the library never imports the build pipeline,
no project module imports itself back through a circle, and a function-level import of a project module says
why it is deferred."""
import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ('swift_tars', 'data_builders')
# The command-line front: the only part of swift_tars allowed to reach data_builders.
FRONT = ('swift_tars.cli', 'swift_tars.commands')


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix('').parts
    return '.'.join(parts[:-1] if parts[-1] == '__init__' else parts)


def _modules():
    return {_module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob('*.py'))}


MODULES = _modules()


def _resolve(name: str) -> str:
    """The project module an import of ``name`` loads (``a.b.c`` -> ``a.b`` when ``c`` is a name in it)."""
    while name and name not in MODULES:
        name = name.rpartition('.')[0]
    return name


def _imports(module: str):
    """(target module, line, is_top_level) for every import of a project module in ``module``."""
    tree = ast.parse(MODULES[module].read_text(encoding='utf-8'))
    top = {id(n) for n in tree.body}
    package = module if MODULES[module].name == '__init__.py' else module.rpartition('.')[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                base = '.'.join(package.split('.')[:len(package.split('.')) - node.level + 1] + ([base] if base else []))
            names = [f'{base}.{a.name}' for a in node.names]
        else:
            continue
        for name in names:
            if name.split('.')[0] in PACKAGES:
                target = _resolve(name)
                if target and target != module:
                    yield target, node.lineno, id(node) in top


GRAPH = {m: sorted({t for t, _, _ in _imports(m)}) for m in MODULES}


def _is_front(module: str) -> bool:
    return any(module == f or module.startswith(f + '.') for f in FRONT)


def test_library_never_imports_data_builders():
    bad = [f'{m} -> {t}' for m, targets in GRAPH.items() if m.startswith('swift_tars') and not _is_front(m)
           for t in targets if t.startswith('data_builders')]
    assert not bad, 'the swift_tars library must not import the build pipeline:\n' + '\n'.join(bad)


def _find_cycle():
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for t in GRAPH[m]:
            if t in MODULES and t.rpartition('.')[2] != '__init__':
                if state.get(t) == 1:
                    return stack[stack.index(t):] + [t]
                if not state.get(t):
                    found = visit(t)
                    if found:
                        return found
        stack.pop()
        state[m] = 2
        return None

    for m in MODULES:
        if not state.get(m):
            found = visit(m)
            if found:
                return found
    return None


def test_no_import_circle():
    cycle = _find_cycle()
    assert cycle is None, 'import circle: ' + ' -> '.join(cycle)


def test_cycle_detector_finds_a_planted_circle(monkeypatch):
    """The check above can fail: a circle planted into the graph is reported."""
    graph = dict(GRAPH)
    graph['swift_tars.answers'] = graph['swift_tars.answers'] + ['swift_tars.data.rows']
    graph['swift_tars.data.rows'] = graph['swift_tars.data.rows'] + ['swift_tars.answers']
    monkeypatch.setitem(globals(), 'GRAPH', graph)
    assert _find_cycle() is not None


@pytest.mark.parametrize('module', sorted(MODULES))
def test_deferred_project_imports_say_why(module):
    lines = MODULES[module].read_text(encoding='utf-8').splitlines()
    silent = [f'{MODULES[module].relative_to(ROOT)}:{line}' for _, line, top in _imports(module)
              if not top and '#' not in lines[line - 1] and not lines[line - 2].strip().startswith('#')]
    assert not silent, 'a function-level import of a project module needs a comment saying what it defers: ' + \
        ', '.join(silent)


def test_every_package_says_what_lives_there():
    for init in [p for p in MODULES.values() if p.name == '__init__.py']:
        doc = ast.get_docstring(ast.parse(init.read_text(encoding='utf-8')))
        assert doc and len(doc) > 80, f'{init.relative_to(ROOT)} needs a docstring: what lives here, who may import it'
