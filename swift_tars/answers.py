"""Strict extraction of the chosen option letter from a multiple-choice completion.

This is the correctness test behind the GRPO accuracy reward, so it errs on the side of
``None``: a false positive would reward a wrong answer.  The answer is read from the last
``<answer>`` block of TARS completions (``<think>...</think><answer>...</answer>``), else from
the text after ``</think>``, else from the whole text when there are no tags; the reasoning inside
``<think>`` is never read as an answer.  English and Chinese answer phrases,
``\\boxed{}``, bold letters, bare letters and option text are understood; the last committed
answer wins, while negated, conjoined ("B or C"), hedged and out-of-range answers, and the
article "a" in prose, give ``None``.  Pure Python (``re`` only), no global mutable state.
"""
from __future__ import annotations

import re
from typing import Sequence

__all__ = ['choice_letters', 'extract_choice', 'normalize_gold']

_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
_NOTHING = object()  # a span holds no answer at all (``None`` means: an invalid answer)
_WRAPS = frozenset("([{（【*\"'`“‘\\")
_WORD = frozenset('abcdefghijklmnopqrstuvwxyz0123456789_')
_MARKUP = " \t\r\n*_`\"'#>"
_LOWER = {c: c + 32 for c in range(65, 91)}  # ASCII-only lower-casing keeps positions
_I = re.I

# A letter "slot": wrappers / option words, then one letter that is not part of a word
# ("Apple", "B-flat", "A's") nor of an abbreviation ("e.g.").
_PRE = (r"(?P<pre>(?:[\s*_\"'`“‘(\[{（【]|\\text(?:bf)?\{|\\mathrm\{"  # one way to match: no backtracking blow-up
        r'|(?:option|choice|letter|both|either)(?=\s)|选项)*)')
_LET = r"(?P<l>[A-Za-z])(?![A-Za-z0-9])(?![.\-'’][A-Za-z0-9])"
_SLOT = re.compile(_PRE + _LET, _I)
_MORE = re.compile(r"[)\]}）】*_\"'`”’]*(?:\s*[,、/&+和或]|\s+(?:and|or)(?=\s))(?:\s+(?:and|or)(?=\s))?"
                   r'(?:\s+(?:maybe|perhaps|possibly|probably)(?=\s))?' + _PRE + _LET, _I)
# after an unwrapped weak letter ("a", "I"): only a closer, punctuation or the end of the line
_STRICT_END = re.compile(r"[)\]}）】*\"'”’]|[.,;:!?。，；！？]?[ \t]*(?:\n|$)|[.,;:!?。，；！？]\s")
_ADV = (r'(?:(?:probably|likely|clearly|definitely|therefore|thus|hence|indeed|actually|obviously'
        r'|most\s+likely)\s*,?\s+)*')
_IS = (r'(?:\s+to\s+(?:this|the)\s+question)?\b[*_]*\s*(?:(?:is|(?:would|should|must|will)\s+be'
       r'|(?:seems|appears)\s+to\s+be)\b[*_]*\s*[:：]?|[:=：\-])')
_EN = r'[*_]*\s*' + _ADV
_NEG = (r"(?P<pre>[*_\"'`“‘(\[{（【 \t]*(?:(?:option|choice|letter|选项)"  # the negated letter, same line
        r"[*_\"'(\[（【 \t]*)?)" + _LET)
# Cues: (literal, regex on the lower-cased span starting with it, kind).  CPython's ``re`` is
# slow on alternations (tried at every position), so each cue has its own regex, run only
# where ``in`` finds the literal.
_CUES = {w: (re.compile(src), kind, w.isascii() and w[0].isalpha() and "'" not in w) for w, src, kind in (
    ('answer', r'answer' + _IS + _EN, 'en'), ('opt', r'opt(?:ion' + _IS + r'|\s+for\b)' + _EN, 'en'),
    ('cho', r'cho(?:ice' + _IS + r'|o?se\b)' + _EN, 'en'), ('pick', r'pick(?:ed)?\b' + _EN, 'en'),
    ('select', r'select(?:ed)?\b' + _EN, 'en'), ('go', r'go(?:ing)?\s+with\b' + _EN, 'en'),
    ('it', r"it(?:['’]s|\s+is|\s+must\s+be|\s+should\s+be)\b" + _EN, 'en'),
    ('correct', r'correct\b', 'cor'), ('but', r"but\s+(?:rather\s+)?(?:it['’]?s\s+)?", 'but'),
    ('**', r'\*\*([^*\n]{1,40})\*\*', 'bold'), ('boxed', r'\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}', 'box'),
    ('答案', r'答案(?:应该|应当|应|就|只能|一定)?(?:是|为|选)?\s*[:：]?\s*', 'zh'),
    ('选', r'选(?:择)?\s*[:：]?\s*', 'zh'), ('而是', r'而是\s*[:：]?\s*', 'zh'),
    ('no', r'no[tr]\b' + _NEG, 'neg'), ("n't", r"n't\b" + _NEG, 'neg'), ('n’t', r'n’t\b' + _NEG, 'neg'),
    *((w, w + _NEG, 'neg') for w in ('不是', '不选', '并非', '而非', '排除')))}
_COMMIT_CUES = tuple(w for w in _CUES if _CUES[w][1] != 'neg')
_NEG_CUES = tuple(w for w in _CUES if _CUES[w][1] == 'neg')  # a wide needle is never searched in an ASCII text
_LAST_ANSWER = re.compile(r'(?<![A-Za-z0-9_])answer(?:\s+is\s*:?|\s*:)\s*[(\[*]*([A-Za-z])[)\]*]*\s*[.。!]?\s*$', _I)
_BUT_AFTER_NOT = re.compile(r'not\s+[(\[*]*[a-z][)\]*]*[\s,;]*$')
_COR_HINTS = ('is ', 'is the ', 'is the most ', 'be ', 'be the ', 'seems ', 'looks ')
_COR_BACK = re.compile(r"(?<![A-Za-z0-9])(?P<pre>[(\[*\"'（]*)(?P<l>[A-Za-z])[)\]*\"'）]*\s+(?:is|seems|looks)\s+"
                       r'(?:to\s+be\s+)?(?:the\s+)?(?:most\s+)?$', _I)
_TEXT_CMD = re.compile(r'\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}')
_LABEL_AFTER = re.compile(r'[ \t]*[:：)\-–—]')  # "**A**: happy"; "**A.** happy" too (a text follows)
_TEXT_AFTER = re.compile(r'[ \t]+[^\s*]')
# hedges among the 4 words before a commitment: "not"-like ones negate it, "if"-like ones void it
_NEG_WORDS = frozenset(('not', 'never', 'nor', 'neither'))
_IF_WORDS = frozenset(('if', 'whether', 'assume', 'assuming', 'suppose', 'unless'))
_HEDGE_WORDS = _NEG_WORDS | _IF_WORDS
_BEFORE_ZH = re.compile(r'(?:不|并非|没有)[^\s，。,.；;！？!?]{0,4}$')
# whole-answer forms
_TOK = r'[(\[（]?[A-Za-z][)\]）]?'
_BARE = re.compile(r'(?:(?:the\s+)?(?:(?:final|correct|my)\s+)?(?:answer|option|choice)(?:\s+is)?\s*(?:[:：\-]\s*)?)?'
                   r'(?:[(\[（【]\s*)?([A-Za-z])\s*(?:[)\]）】]\s*)?[.。!！]?', _I)
# whole-span fast path for two common complete answers: "\boxed{B}" / "\boxed{\text{B}}" and "答案是B"
_BOX_OR_ZH = re.compile(r'(?:\\boxed\s*\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-Za-z])\)?\s*\}(?:\s*\})?'
                        r'|答案(?:是|为)?\s*[:：]?\s*[(（]?([A-Za-z])[)）]?)[.。!！]?')
_LIST = re.compile(rf'(?:(?:both|either)\s+)?{_TOK}(?:(?:\s*[,、/&+和或]\s*|\s+(?:and|or)\s+)'
                   rf'(?:(?:and|or)\s+)?{_TOK})+\s*[.。]?', _I)
_LIST_LETTER = re.compile(r'(?<![A-Za-z])[A-Za-z](?![A-Za-z])')
_ITEM = re.compile(r'(?:(?:option|choice)\s+)?[(\[（]?([A-Za-z])[*_]*'  # "B) Paris", "B. Paris", "Option B: Paris"
                   r'(?:[)\]）][*_]*(?:\s*[:：]|\s*[\-–—]\s)?|\s*[:：]|\s*[\-–—]\s|\.[*_]*\s)', _I)
_LABELS = re.compile(r'^[ \t]*(?:[-+•]\s+)?[*_]*[(\[（]?([A-Za-z])[*_]*[)\]）.:：][*_]*\s'  # option labels
                     r'|\s[*_]*[(\[（]?([A-Za-z])[*_]*[)\]）][*_]*\s', re.M)
# option text
_OPT_LABEL = re.compile(r'\s*[(\[]?([A-Za-z])[)\].:]\s+')
_NORM_DROP = re.compile(r'[*_`\"“”‘’]')
_CLAUSE_END = re.compile(r'[,;，；]|(?<!\s)\s+(?:because|since|as|which|for|but|so|given)\b|(?<!\s)\s+[-–—(]'
                         r'|(?P<stop>[.!?。！？](?=\s|$)|\n|$)', _I)


def choice_letters(n: int) -> str:
    """The option letters for ``n`` options: ``choice_letters(4) == "ABCD"``."""
    if type(n) is int and 0 <= n <= 26:  # the hot path (called with len(options))
        return _ALPHABET[:n]
    if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 26:
        raise ValueError(f'number of options must be an int in 0..26, got {n!r}')
    return _ALPHABET[:n]


def normalize_gold(gold, options: Sequence[str] | None = None) -> str:
    """Turn a gold answer (a letter such as ``"b"`` or ``"(B)"``, or a 0-based index) into ``"B"``."""
    letters = choice_letters(len(options)) if options is not None else _ALPHABET
    if isinstance(gold, bool) or not isinstance(gold, (str, int)) and not hasattr(gold, '__index__'):
        raise ValueError(f'gold answer must be an option letter or a 0-based index, got {gold!r}')
    if not isinstance(gold, str):
        if not 0 <= gold.__index__() < len(letters):
            raise ValueError(f'gold index {gold!r} is out of range for {len(letters)} options')
        return letters[gold.__index__()]
    if not (m := re.fullmatch(r'\s*[(\[]?\s*([A-Za-z])\s*[)\]]?\s*\.?\s*', gold)):
        raise ValueError(f'gold answer {gold!r} is not a single option letter')
    if (letter := m.group(1).upper()) not in letters:
        raise ValueError(f'gold letter {letter!r} is out of range for options {letters!r}')
    return letter


def _norm(s: str) -> str:
    s = ' '.join(_NORM_DROP.sub('', s.lower()).split()).strip(" .,;:!?。，；：！？'()[]")
    article, _, rest = s.partition(' ')
    return rest if rest and article in ('the', 'a', 'an') else s


class _Options:
    """Option text -> letter, built lazily: most completions are decided by a letter."""

    __slots__ = ('options', '_map', '_longest')

    def __init__(self, options: Sequence[str]) -> None:
        self.options, self._map, self._longest = options, None, None

    def get(self, text: str):
        if self._longest is None:
            self.options = [str(opt) for opt in self.options]
            self._longest = max(map(len, self.options))
        longest = self._longest
        if len(text) > 2 * longest + 16 or len(text := _norm(text)) > longest:
            return None  # normalising never makes a text longer, and seldom much shorter
        if self._map is None:  # unique normalised texts longer than one character ("A. Paris" -> "paris")
            self._map = {}
            for letter, opt in zip(_ALPHABET, self.options):
                m = _OPT_LABEL.match(opt) if opt[1:2] in ').:' or opt[:1] in '([' else None
                if len(norm := _norm(opt[m.end():] if m and m.group(1).upper() == letter else opt)) > 1:
                    self._map[norm] = '' if norm in self._map else letter
        return self._map.get(text) or None


def _text_at(span: str, pos: int, opts: _Options):
    """Option whose text is the longest clause starting at ``pos`` ("Paris, Texas" > "Paris")."""
    tail, best = span[pos:pos + 200], None
    for m in _CLAUSE_END.finditer(tail):
        best = opts.get(tail[:m.start()]) or best
        if m.group('stop') is not None:
            return best
    return best


def _ok(span: str, m, zh: bool) -> bool:
    """A weak letter ("a", "I") counts only wrapped, after a Chinese cue, or before punctuation/end."""
    if span[m.start('l')] not in 'aIi' or zh or not _WRAPS.isdisjoint(m.group('pre')):
        return True
    return _STRICT_END.match(span, m.end()) is not None


def _with_more(span: str, letter: str, end: int, zh: bool = False) -> tuple:
    """(``letter``, or ``""`` if other letters are conjoined to it as in "B or C"; end of the list)."""
    letters = {letter.upper()}
    while (m := _MORE.match(span, end)) and _ok(span, m, zh):
        letters.add(m.group('l').upper())
        end = m.end()
    return (letters.pop() if len(letters) == 1 else ''), end


def _slot(span: str, pos: int, opts: _Options | None, zh: bool):
    """The answer right after a cue at ``pos``: (letter, or "" if ambiguous; end), or None."""
    m = _SLOT.match(span, pos)
    if m and _ok(span, m, zh):
        if opts and span[m.start('l')] in 'aAI' and not _STRICT_END.match(span, m.end()):
            if v := _text_at(span, pos, opts):
                return v, pos  # "A dog barking" is an option's text, not the letter A
        return _with_more(span, m.group('l'), m.end(), zh)
    return (v, pos) if opts and (v := _text_at(span, pos, opts)) else None


def _whole(s: str, opts: _Options | None, item: bool = True):
    """A string that is the whole answer: "B", "(b).", "Option B", "B) Paris", "Paris", "B and C"."""
    if m := _BARE.fullmatch(s := s.strip(_MARKUP)):
        return m.group(1).upper()
    if _LIST.fullmatch(s):
        letters = {c.upper() for c in _LIST_LETTER.findall(s)}
        return letters.pop() if len(letters) == 1 else ''
    if item and (m := _ITEM.match(s)):
        return m.group(1).upper()
    return v if opts and len(s) <= 200 and (v := opts.get(s)) else _NOTHING


def _hedge(low: str, start: int):
    """"neg" if a negation is among the 4 words before ``start``, "if" for a hedge ("if the answer is")."""
    if '\u4e00' <= low[start - 1:start] <= '\u9fff':
        return 'neg' if _BEFORE_ZH.search(low, max(0, start - 8), start) else None
    window = low[max(0, start - 40):start]
    tail = window[(nl := window.rfind('\n')) + 1:]  # a hedge does not reach over a line break
    words = tail.split()[1 if nl < 0 and start > 40 and not tail[:1].isspace() else 0:][-4:]  # first may be cut
    if not tail[-1:].isspace() or _HEDGE_WORDS.isdisjoint(words) and "n't" not in tail and 'n’t' not in tail:
        return None
    for word in reversed(words):
        if word in _NEG_WORDS or word.endswith(("n't", 'n’t')):
            return 'neg'
        if word in _IF_WORDS:
            return 'if'
        if not word.replace("'", '').replace('’', '').isalnum():
            return None
    return None


def _scan(span: str, low: str, lo: int, hi: int, opts: _Options | None, commits: list, negs: list, cues) -> None:
    """Collect commitments (start, letter or "" if ambiguous, end) and negations in ``span[lo:hi]``."""
    def add(start: int, value: str, end: int, hedged: bool = True) -> None:
        h = _hedge(low, start) if hedged else None
        if h is None:
            commits.append((start, value, end))
        elif value and h == 'neg':
            negs.append((start, value))

    region = low if lo == 0 and hi == len(low) else low[lo:hi]
    for cue in filter(region.__contains__, cues):
        rx, kind, bounded = _CUES[cue]
        for m in rx.finditer(low, lo, hi):
            start = m.start()
            if bounded and start and low[start - 1] in _WORD:
                continue  # "bit's", "cannot"
            if kind == 'en' or kind == 'zh':
                if (v := _slot(span, m.end(), opts, kind == 'zh')) is not None:
                    add(start, *v)
            elif kind == 'neg':
                if _ok(span, m, False):
                    negs.append((start, span[m.start('l')].upper()))
            elif kind == 'but':  # "not B but C"
                if _BUT_AFTER_NOT.search(low, max(0, start - 24), start) and (v := _slot(span, m.end(), opts, False)):
                    add(start, *v, hedged=False)
            elif kind == 'cor':  # "B is correct", "(C) is the correct answer"
                if low.endswith(_COR_HINTS, 0, start) and (c := _COR_BACK.search(span, max(0, start - 40), start)):
                    if span[c.start('l')] not in 'aIi':
                        add(c.start(), span[c.start('l')].upper(), m.end())
            else:  # **bold** or \boxed{}: the content must be a whole answer, and not a label ("**A**: happy")
                box = kind == 'box'
                v = _whole(_TEXT_CMD.sub(r'\1', m.group(1)) if box else m.group(1), opts if box else None, box)
                last = m.group(1).rstrip()[-1:]
                label = not box and (_LABEL_AFTER.match(low, m.end()) or last in '):'
                                     or last == '.' and _TEXT_AFTER.match(low, m.end()))
                if v is not _NOTHING and not label:
                    add(start, *(_with_more(span, v, m.end()) if v else (v, m.end())))


def _decide(span: str, letters: str, opts: _Options | None, whole_ok: bool):
    """Letter, ``None`` (an invalid, ambiguous or negated answer) or ``_NOTHING`` for one span."""
    if whole_ok and len(span) < 64:
        if m := _BARE.fullmatch(stripped := span.strip(_MARKUP)):
            return m.group(1).upper() if m.group(1).upper() in letters else None  # fast path: "B", "Answer: (B)"
        if m := _BOX_OR_ZH.fullmatch(stripped):
            letter = (m.group(1) or m.group(2)).upper()
            return letter if letter in letters else None  # fast path: "\boxed{B}", "答案是B"
    if len(low := span.lower()) != len(span):  # rare non-ASCII letters change length when lower-cased
        low = span.translate(_LOWER)
    if (m := _LAST_ANSWER.search(span, max(0, len(span) - 48))) and _hedge(low, m.start()) is None:
        return m.group(1).upper() if m.group(1).upper() in letters else None  # fast path: "... answer is B."
    commits, negs, n = [], [], len(span)
    cut = n - 160 if n > 240 else 0  # only the last commitment matters: look at the end first
    _scan(span, low, cut, n, opts, commits, negs, _COMMIT_CUES)
    if cut and not commits:
        _scan(span, low, 0, cut + 64, opts, commits, negs, _COMMIT_CUES)
        cut = 0
    if commits or whole_ok:  # negations matter after a commitment, or on their own in an answer
        _scan(span, low, cut, n, opts, commits, negs, _NEG_CUES)
    if commits:
        pos, value, list_end = -1, '', -1
        for start, v, end in sorted(commits, key=lambda c: c[0]):  # the last one not inside an "A or B" list
            if start >= list_end:
                pos, value, list_end = start, v, (list_end if v else end)
        if any(p > pos and v == value for p, v in negs):
            return None  # retracted: "The answer is B. No, not B."
    elif whole_ok and (s := span.strip()):
        nl = s.find('\n')  # the first line ("B) Paris\nbecause ...") or the last one ("...\n\nB")
        value = first = _whole(s if nl < 0 else s[:nl], opts)
        if nl >= 0:
            last = _whole(s[s.rfind('\n') + 1:], opts, item=False)
            value = last if value is _NOTHING else value if last in (_NOTHING, value) else ''
        if value is _NOTHING:
            return None if negs else _NOTHING
        labels = _LABELS.findall(s) if first is not _NOTHING and (nl >= 0 or ')' in s or ']' in s or '）' in s) else ()
        if value and (any(v == value for _, v in negs) or any((a or b).upper() != value for a, b in labels)):
            value = ''  # "B\nNot B." or the options restated: "A) happy B) sad"
    else:
        return None if negs else _NOTHING
    return value if value and value in letters else None


def extract_choice(text: str, options: Sequence[str] | None = None) -> str | None:
    """Return the option letter chosen by a completion, or ``None`` if there is none or it is unclear.

    ``options`` (the option texts) sets the valid letters (A-D when omitted) and lets an
    answer given as option text count.

    >>> extract_choice("<think>A or B? Not A.</think><answer>The answer is B.</answer>")
    'B'
    >>> extract_choice("答案是c")
    'C'
    >>> extract_choice("The answer is Rome.", ["Paris", "London", "Berlin", "Rome"])
    'D'
    >>> extract_choice("The answer is A. Wait, actually the answer is C.")
    'C'
    >>> print(extract_choice("It could be B or C."), extract_choice("A cat sat on the mat."))
    None None
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f'text must be a str, got {type(text).__name__}')
    letters = choice_letters(len(options)) if options is not None else 'ABCD'
    opts = _Options(options) if options else None
    # Only a committed answer counts: the last <answer> block, else what follows </think>; the reasoning
    # itself is never searched (a tentative "the answer is C" while thinking earns no reward).
    if (a := text.rfind('<answer>')) >= 0:
        b = text.find('</answer>', a)
        spans = ((text[a + 8:b if b >= 0 else len(text)], True), )
    elif (t := text.rfind('</think>')) >= 0:
        spans = ((text[t + 8:], True), )
    elif '<think>' in text:
        return None  # cut off inside the reasoning: no answer was given
    else:
        spans = ((text, True),)
    for span, whole_ok in spans:
        if (result := _decide(span, letters, opts, whole_ok)) is not _NOTHING:
            return result
    return None
