"""The user documentation stays consistent with the code that cites it.

Every ``docs/method.md §X`` citation in the repository's .py/.sh/.md files must resolve to a numbered heading
of docs/method.md (``§8–9`` needs §8 and §9; ``§13 item 23`` / ``§2.2 step 4`` need that numbered list item
in the section), and the published docs never point at private material.
"""
import os
import re
from pathlib import Path
from typing import Dict, List, NamedTuple, Optional

ROOT = Path(__file__).resolve().parents[1]
METHOD = ROOT / 'docs' / 'method.md'
SCANNED_SUFFIXES = ('.py', '.sh', '.md')
SKIPPED_DIRS = {'.venv', '.git', 'shared', '__pycache__', 'node_modules', 'build', 'dist'}

_HEADING = re.compile(r'^(#{1,6})[ \t]+(\d+(?:\.\d+)*)\.?[ \t]+\S', re.M)
_ITEM = re.compile(r'^[ \t]*(\d+)\.[ \t]', re.M)
# Between the file name and a section sign, or between two citations: spaces, line breaks, Python string
# continuations ('...' '...'), comment markers and emphasis.
_GAP = r"[\s'\"#*]*"
_NUM = r'\d+(?:\.\d+)*'
_FIRST = re.compile(_GAP + r'§')
_REF = re.compile(_GAP + r'(?:(?:,|and)' + _GAP + r')?§\s*(?P<num>' + _NUM + r')(?:\s*[–-]\s*(?P<end>' + _NUM +
                  r'))?(?:' + _GAP + r'(?P<kind>item|step)' + _GAP + r'(?P<item>\d+))?')


class Citation(NamedTuple):
    where: str
    section: str
    end: Optional[str] = None  # the last section of a range such as §8–9
    item: Optional[int] = None  # "item 23" / "step 2": a numbered list item of the section


def find_citations(text: str, where: str) -> List[Citation]:
    """The ``docs/method.md §...`` citations of ``text`` (``where``: file name, for messages)."""
    out = []
    for m in re.finditer(r'docs/method\.md', text):
        pos = m.end()
        if not _FIRST.match(text, pos):
            continue  # a plain link to the page, no section
        line = text.count('\n', 0, m.start()) + 1
        while True:
            ref = _REF.match(text, pos)
            if not ref:
                break
            item = int(ref.group('item')) if ref.group('item') else None
            out.append(Citation(f'{where}:{line}', ref.group('num'), ref.group('end'), item))
            pos = ref.end()
    return out


def sections(markdown: str) -> Dict[str, str]:
    """Section number -> its body (up to the next heading of the same or a higher level)."""
    heads = [(len(m.group(1)), m.group(2), m.start(), m.end()) for m in _HEADING.finditer(markdown)]
    out = {}
    for i, (level, number, _, body_start) in enumerate(heads):
        stop = next((h[2] for h in heads[i + 1:] if h[0] <= level), len(markdown))
        out[number] = markdown[body_start:stop]
    return out


def _range(start: str, end: str) -> List[str]:
    """``8``..``9`` -> ['8', '9']; ``5.3``..``5.4`` -> ['5.3', '5.4'] (same prefix, last part counted)."""
    a, b = start.split('.'), end.split('.')
    if len(a) != len(b) or a[:-1] != b[:-1] or int(a[-1]) > int(b[-1]):
        return [start, end]
    return ['.'.join(a[:-1] + [str(k)]) for k in range(int(a[-1]), int(b[-1]) + 1)]


def citation_errors(citations: List[Citation], secs: Dict[str, str]) -> List[str]:
    errors = []
    for c in citations:
        wanted = _range(c.section, c.end) if c.end else [c.section]
        missing = [s for s in wanted if s not in secs]
        if missing:
            errors.append(f'{c.where}: docs/method.md has no section §{", §".join(missing)}')
            continue
        if c.item is not None:
            items = {int(n) for n in _ITEM.findall(secs[c.section])}
            if c.item not in items:
                errors.append(f'{c.where}: §{c.section} has no numbered item {c.item}')
    return errors


def repo_citations() -> List[Citation]:
    out = []
    for path in sorted(_scanned_files()):
        if path == Path(__file__).resolve():
            continue  # this file plants bad citations on purpose
        text = path.read_text(encoding='utf-8', errors='replace')
        if 'docs/method.md' in text:
            out.extend(find_citations(text, str(path.relative_to(ROOT))))
    return out


def _scanned_files():
    for top, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not d.endswith('.egg-info')]
        for name in files:
            if name.endswith(SCANNED_SUFFIXES):
                yield Path(top) / name


METHOD_SECTIONS = sections(METHOD.read_text(encoding='utf-8'))


def test_every_method_citation_resolves():
    citations = repo_citations()
    assert len(citations) >= 30, f'only {len(citations)} citations found: is the scanner broken?'
    errors = citation_errors(citations, METHOD_SECTIONS)
    assert not errors, 'citations of docs/method.md that point nowhere:\n' + '\n'.join(errors)


def test_scanner_reads_wrapped_and_listed_citations():
    text = ("x = ('as the reference code does (docs/method.md '\n      '§12; for reproducing')\n"
            '# docs/method.md §8–9; also docs/method.md §3, §10 and docs/method.md §2.5, §13 item 27\n'
            'kept the last one: docs/method.md §13\nitem 22). See [docs/method.md](docs/method.md).\n'
            '(docs/method.md §2.2 step 2)')
    got = [(c.section, c.end, c.item) for c in find_citations(text, 'planted')]
    assert got == [('12', None, None), ('8', '9', None), ('3', None, None), ('10', None, None),
                   ('2.5', None, None), ('13', None, 27), ('13', None, 22), ('2.2', None, 2)]


def test_a_bad_citation_fails_the_check():
    """The check can fail: planted citations of missing sections, range ends and list items are reported."""
    planted = find_citations(
        'docs/method.md §99. docs/method.md §5.9. docs/method.md §8–15. docs/method.md §13 item 99. '
        'docs/method.md §2.2 step 40. docs/method.md §5.3.', 'planted.py')
    errors = citation_errors(planted, METHOD_SECTIONS)
    assert len(errors) == 5, errors
    assert all('planted.py' in e for e in errors)
    assert not citation_errors([Citation('ok', '5.3')], METHOD_SECTIONS)


def test_numbered_lists_keep_their_meaning():
    """§13's items are numbered 1-27 and the ones the code cites by number still say what it expects."""
    items = {int(n): body for n, body in re.findall(r'^(\d+)\.[ \t]+(.*(?:\n(?![ \t]*\d+\.[ \t]|\n).*)*)',
                                                     METHOD_SECTIONS['13'], re.M)}
    assert sorted(items) == list(range(1, 28))
    assert 'transcript' in items[22] and 'last' in items[22]
    assert 'VoiceBench' in items[23] and 'CUHK MMSU' in items[23]
    assert 'OBQA' in items[27]
    steps = {int(n): body for n, body in re.findall(r'^(\d+)\.[ \t]+(.*)', METHOD_SECTIONS['2.2'], re.M)}
    assert 'Blank' in steps[2] and 'TTS' in steps[4]


def test_docs_never_point_at_private_material():
    forbidden = ('shared/docs', '/work/shared', 'swift-integration.md', 'cpu-ci.md', 'anchors.md')
    pages = sorted((ROOT / 'docs').glob('*.md')) + [ROOT / 'README.md']
    found = [f'{p.relative_to(ROOT)}: {word}' for p in pages for word in forbidden
             if word in p.read_text(encoding='utf-8')]
    assert not found, 'the published docs mention private material:\n' + '\n'.join(found)


def test_readme_links_the_docs():
    readme = (ROOT / 'README.md').read_text(encoding='utf-8')
    for page in ('docs/method.md', 'docs/architecture.md'):
        assert f']({page})' in readme, f'README does not link {page}'
        assert (ROOT / page).is_file()
