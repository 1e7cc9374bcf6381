"""Which writing systems (Unicode scripts) carry a text, and which an espeak-ng voice reads.

espeak-ng speaks a character outside its voice's alphabet as a name or spells it: a Chinese question read
by an English voice is "Chinese letter Chinese letter …", the same for every question. The build therefore
checks every row against its voice before any audio is made (:meth:`data_builders.speak.Speaker.check_scripts`).

* :func:`needed_scripts`: the scripts that carry a text. Only letters count (digits, punctuation, symbols and
  letter-like signs such as µ or Ω never do); a Han, kana, Hangul or Yi character is a syllable and counts as
  three letters; a script with under 10 % of the (weighted) letters is incidental (an α in an English
  question, a stray name) and is not required.
* :data:`SCRIPT_LANGUAGES`: the espeak-ng languages (codes of ``espeak-ng --voices``) that read each
  non-Latin script, the first installed one being the voice ``--language auto`` picks. Every other espeak-ng
  language is written in Latin script, and every voice reads Latin words (non-Latin voices switch to
  English for them; ``ja`` and ``he`` spell them letter by letter), so the template words ("Option A:")
  never need an English voice. espeak-ng's ``ja`` reads kana only: Japanese with kanji needs Han and kana
  together, which no espeak-ng voice reads (CosyVoice2 does).
"""
import collections
import functools
import re
import shutil
import subprocess
import unicodedata
from typing import Dict, FrozenSet, Iterable, Optional, Sequence

SYLLABIC = frozenset({'Han', 'Hiragana', 'Katakana', 'Hangul', 'Yi'})
SYLLABLE_WEIGHT = 3  # one syllabic character ~ three alphabetic letters
MIN_SHARE = 0.10  # a script with less of a text's weighted letters is incidental

SCRIPT_LANGUAGES: Dict[str, tuple] = {
    'Han': ('cmn', 'yue', 'hak', 'zh'),
    'Hiragana': ('ja', ),
    'Katakana': ('ja', ),
    'Hangul': ('ko', ),
    'Cyrillic': ('ru', 'uk', 'be', 'bg', 'mk', 'sr', 'kk', 'ky', 'tt', 'ba', 'cv', 'nog'),
    'Greek': ('el', 'grc'),
    'Arabic': ('ar', 'fa', 'ur', 'sd', 'ug'),
    'Hebrew': ('he', ),
    'Devanagari': ('hi', 'mr', 'ne', 'kok'),
    'Bengali': ('bn', 'as', 'bpy'),
    'Gurmukhi': ('pa', ),
    'Gujarati': ('gu', ),
    'Oriya': ('or', ),
    'Tamil': ('ta', ),
    'Telugu': ('te', ),
    'Kannada': ('kn', ),
    'Malayalam': ('ml', ),
    'Sinhala': ('si', ),
    'Thai': ('th', ),
    'Myanmar': ('my', 'shn'),
    'Georgian': ('ka', ),
    'Armenian': ('hy', 'hyw'),
    'Ethiopic': ('am', ),
    'Cherokee': ('chr', ),
}
LANGUAGE_SCRIPTS: Dict[str, FrozenSet[str]] = {}
for _script, _languages in SCRIPT_LANGUAGES.items():
    for _language in _languages:
        LANGUAGE_SCRIPTS[_language] = LANGUAGE_SCRIPTS.get(_language, frozenset()) | {_script}

_SPECIAL = {'CJK': 'Han', 'IDEOGRAPHIC': 'Han', 'KATAKANA-HIRAGANA': 'Katakana'}
_NAMED = re.compile(r'^(.*?) (?:CAPITAL |SMALL )?(?:LETTER|SYLLABLE|CHARACTER|IDEOGRAPH)\b')
_NOT_SCRIPTS = frozenset({'MODIFIER', 'MATHEMATICAL', 'COMBINING'})


@functools.lru_cache(maxsize=None)
def script_of(char: str) -> Optional[str]:
    """The script of a letter (``'Latin'``, ``'Han'``, ``'Cyrillic'``…) from its Unicode name; None for
    anything that is not a letter of a script (digits, punctuation, symbols, signs such as µ, Ω, Å).

    >>> [script_of(c) for c in 'aЖ中かカ한α7,µＡ']
    ['Latin', 'Cyrillic', 'Han', 'Hiragana', 'Katakana', 'Hangul', 'Greek', None, None, None, 'Latin']
    """
    if not unicodedata.category(char).startswith('L'):
        return None
    name = unicodedata.name(char, '')
    for width in ('FULLWIDTH ', 'HALFWIDTH '):
        name = name.removeprefix(width)
    first = name.split(' ', 1)[0]
    if first in _SPECIAL:
        return _SPECIAL[first]
    named = _NAMED.match(name)
    if not named or named.group(1) in _NOT_SCRIPTS:
        return None
    return named.group(1).title()


def letter_counts(text: str) -> collections.Counter:
    """Letters of ``text`` per script, a syllabic character counting :data:`SYLLABLE_WEIGHT` times."""
    if text.isascii():
        letters = sum(map(str.isalpha, text))
        return collections.Counter({'Latin': letters} if letters else {})
    counts: collections.Counter = collections.Counter()
    for char in text:
        script = script_of(char)
        if script:
            counts[script] += SYLLABLE_WEIGHT if script in SYLLABIC else 1
    return counts


def needed_scripts(text: str) -> Dict[str, float]:
    """The scripts that carry ``text``, each with its share of the weighted letters (at least
    :data:`MIN_SHARE`; the incidental rest is left out), largest first; empty for a text without letters.

    >>> needed_scripts('下列哪一个是水果？\\nOption A: 苹果\\nOption B: 石头')
    {'Han': 0.72, 'Latin': 0.28}
    >>> needed_scripts('What is the wavelength in μm when α = 0.3 and the frequency doubles?')
    {'Latin': 0.96}
    """
    counts = letter_counts(text)
    total = sum(counts.values())
    return {s: round(n / total, 3) for s, n in counts.most_common() if n >= MIN_SHARE * total}


def script_label(scripts: Iterable[str]) -> str:
    """A row's writing system for the manifest: its non-Latin scripts joined (``Han``, ``Han+Hiragana``),
    ``Latin`` when it has no other, ``none`` without letters."""
    scripts = set(scripts)
    return '+'.join(sorted(scripts - {'Latin'})) or ('Latin' if scripts else 'none')


def espeak_scripts(voice: str) -> FrozenSet[str]:
    """The scripts an espeak-ng voice (``en-us``, ``cmn+f2``, ``ru``, ``fa-latn``) reads: its language's
    script and Latin.

    >>> sorted(espeak_scripts('cmn+f2')), sorted(espeak_scripts('en-gb-x-rp'))
    (['Han', 'Latin'], ['Latin'])
    """
    code = voice.split('+', 1)[0].lower()
    if '-latn' in code:
        return frozenset({'Latin'})
    return LANGUAGE_SCRIPTS.get(code.split('-', 1)[0], frozenset()) | {'Latin'}


def installed_languages(executable: str = 'espeak-ng') -> FrozenSet[str]:
    """The language codes ``espeak-ng --voices`` lists (second column); empty when it cannot be run."""
    path = shutil.which(executable)
    if not path:
        return frozenset()
    proc = subprocess.run([path, '--voices'], capture_output=True, text=True)
    lines = proc.stdout.splitlines()[1:] if proc.returncode == 0 else []
    return frozenset(line.split()[1] for line in lines if len(line.split()) > 1)


def auto_language(scripts: Iterable[str], installed: Sequence[str]) -> Optional[str]:
    """The espeak-ng language ``--language auto`` uses for a text needing ``scripts``: the first installed
    language listed for its non-Latin scripts that reads all of them; None when there is none (Latin-only
    texts keep the configured voices).

    >>> auto_language(['Han', 'Latin'], ['en-us', 'cmn', 'yue']), auto_language(['Han', 'Hiragana'], ['cmn', 'ja'])
    ('cmn', None)
    """
    needed = set(scripts) - {'Latin'}
    for script in sorted(needed):
        for language in SCRIPT_LANGUAGES.get(script, ()):
            if language in installed and needed <= espeak_scripts(language):
                return language
    return None
