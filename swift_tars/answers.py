"""Strict extraction of the chosen option letter from a multiple-choice completion.

This is the correctness test behind the GRPO accuracy reward and ``swift-tars eval``, so it errs on
the side of ``None``: a false positive would reward a wrong answer.  The answer is read from the last
``<answer>`` block of TARS completions (``<think>...</think><answer>...</answer>``), else from the
text after ``</think>``, else from the whole text when there are no tags.  English and Chinese answer
phrases, ``\\boxed{}``, bold letters, bare letters, option text and conclusions without an answer
keyword ("so it must be B.", "which corresponds to option C", "the third option, C, is right",
"所以选B。", "对应选项C") are understood; the last committed answer wins, while options that are only
considered (negated, conditional, asked about, listed), conjoined ("B or C"), added ("D is also
correct"), hedged and out-of-range answers, and the article "a" in prose, give ``None``.

**An empty answer block.** ``<answer></answer>`` after a reasoning that commits to one letter is
read from the reasoning: a human grader reads that letter, so ``swift-tars eval`` scores it.  The
training rewards should not: the reasoning is where answers are only tried out, and paying accuracy
for a skipped answer block would leave the format reward alone against it (and the behaviour and
representation rewards would take such a completion as a correct reference).  They call
``extract_choice(text, options, read_reasoning_when_answer_empty=False)``, which gives ``None``.
A non-empty block that names no answer ("See above.") is ``None`` either way.

Pure Python (``re`` only), no global mutable state.
"""
from __future__ import annotations

import re
from typing import Sequence

__all__ = ['choice_letters', 'extract_choice', 'normalize_gold']

_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'
_NO_ANSWER = object()  # a span holds no answer at all (``None`` means: an invalid answer)
_WRAPPERS = frozenset("([{（【*\"'`“‘\\")
_WORD_CHARS = frozenset('abcdefghijklmnopqrstuvwxyz0123456789_')
_MARKUP = " \t\r\n*_`\"'#>"
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}  # ASCII-only lower-casing keeps positions
_I = re.I

# A letter "slot": wrappers / option words, then one letter that is not part of a word
# ("Apple", "B-flat", "A's") nor of an abbreviation ("e.g.").
_LETTER_PREFIX = (r"(?P<pre>(?:[\s*_\"'`“‘(\[{（【]|\\text(?:bf)?\{|\\mathrm\{"  # one way to match: no backtracking
                  r'|(?:option|choice|letter|both|either)(?=\s)|选项)*)')
_LETTER = r"(?P<l>[A-Za-z])(?![A-Za-z0-9])(?![.\-'’][A-Za-z0-9])"
_LETTER_SLOT = re.compile(_LETTER_PREFIX + _LETTER, _I)
_CONJOINED_LETTER = re.compile(r"[)\]}）】*_\"'`”’]*(?:\s*(?:还是|或者|或是|[,、/&+和或])|\s+(?:and|or)(?=\s))"
                               r'(?:\s+(?:and|or)(?=\s))?(?:\s+(?:maybe|perhaps|possibly|probably)(?=\s))?'
                               + _LETTER_PREFIX + _LETTER, _I)
# after an unwrapped weak letter ("a", "I"): only a closer, punctuation or the end of the line
_END_AFTER_WEAK_LETTER = re.compile(r"[)\]}）】*\"'”’]|[.,;:!?。，；！？]?[ \t]*(?:\n|$)|[.,;:!?。，；！？]\s")
# after a letter introduced without an answer keyword ("so B."): the clause must end there
_CLAUSE_END_AFTER_LETTER = re.compile(r"[)\]}）】*_\"'”’]*(?:[ \t]*(?:[.;:!,。；：！，]|\n|$)|[ \t]+(?:because|since"
                                      r'|as|given|although|though|but|best|then)\b)', _I)
_ZH_CLAUSE_END_AFTER_LETTER = re.compile(r"[)\]}）】*_\"'”’]*\s*(?:[.;:!,。；：！，、]|选项|的|$)")
_QUESTION_AFTER_LETTER = re.compile(r"[)\]}）】*_\"'”’]*[ \t]*[?？]")
_ADVERBS = (r'(?:(?:probably|likely|clearly|definitely|therefore|thus|hence|indeed|actually|obviously'
            r'|most\s+likely)\s*,?\s+)*')
_COPULA = (r'(?:\s+to\s+(?:this|the)\s+question)?\b[*_]*\s*(?:(?:is|(?:would|should|must|will)\s+be'
           r'|(?:has|have)\s+to\s+be|(?:seems|appears)\s+to\s+be)\b[*_]*\s*[:：]?|[:=：\-])')
_AFTER_CUE = r'[*_]*\s*' + _ADVERBS
_NEGATED_LETTER = (r"(?P<pre>[*_\"'`“‘(\[{（【 \t]*(?:(?:option|choice|letter|选项)"  # same line
                   r"[*_\"'(\[（【 \t]*)?)" + _LETTER)
# a letter (list) closing its clause, or an ordinal, must follow a conclusion cue: checked inside the regex,
# so that the many "so B is unlikely" in a reasoning cost no Python call
_CLOSING_LETTER_AHEAD = (r"(?=[\s*_\"'`“‘(\[{（【]*(?:(?:option|choice|letter|answer)\s+[*_\"'(\[（【]*)?"
                         r"[a-z](?![a-z0-9])[)\]}*_\"'”’]*(?:[ \t]*(?:[.;:!,/&+。；：！，、和或]|\n|$)"
                         r'|[ \t]+(?:because|since|as|given|although|though|but|best|then|or|and)\b)'
                         r'|(?:the\s+)?(?:first|second|third|fourth|fifth|sixth|last|final)\s)')
# Cues: needle -> (regex on the lower-cased span starting at the needle, kind, whether the needle must start
# a word, regex the text before must end with or None).  CPython's ``re`` is slow on alternations (tried
# at every position), so each cue has its own regex, run only where ``in`` finds the needle.
# Kinds: "en"/"zh" an answer phrase (a letter or an option text follows); "end"/"zh_end" a conclusion
# (a letter that closes its clause follows); "neg" a negated letter; "but" "not B but C"; "verdict" a
# letter before "is correct"; "zh_verdict" a letter before "正确"; "bold" **B**; "box" \boxed{B}.
_CUE_TABLE = (
    ('answer', r'answer' + _COPULA + _AFTER_CUE, 'en'),
    ('opt', r'opt(?:ion' + _COPULA + r'|\s+for\b)' + _AFTER_CUE, 'en'),
    ('cho', r'cho(?:ice' + _COPULA + r'|o?se\b)' + _AFTER_CUE, 'en'),
    ('pick', r'pick(?:ed)?\b[ \t]*[:：]?' + _AFTER_CUE, 'en'),
    ('select', r'select(?:ed)?\b' + _AFTER_CUE, 'en'), ('go', r'go(?:ing)?\s+with\b' + _AFTER_CUE, 'en'),
    ('it', r"it(?:['’]s|\s+is|\s+(?:must|should|has\s+to)\s+be)\b" + _AFTER_CUE, 'en'),
    ('candidate', r'candidate' + _COPULA + _AFTER_CUE, 'en'),
    ('one is', r'one' + _COPULA + _AFTER_CUE, 'en', r'(?:right|correct|best|only|remaining)\s+$'),
    *((w, w + r'(?:[ \t]*,)?[ \t]+' + _CLOSING_LETTER_AHEAD, 'end')  # "so B", "Therefore, B"
      for w in ('so', 'thus', 'hence', 'therefore', 'accordingly')),
    ('i.e.', r'i\.e\.(?:[ \t]*,)?[ \t]*' + _CLOSING_LETTER_AHEAD, 'end'),
    ('leav', r'leav(?:es|ing)(?:[ \t]+(?:us[ \t]+with|me[ \t]+with|only|just))?[ \t]+' + _CLOSING_LETTER_AHEAD,
     'end'),
    ('say', r'say(?:[ \t]*,)?[ \t]+' + _CLOSING_LETTER_AHEAD, 'end',
     r"(?:\bi|\bi['’]d|\bi['’]ll|\bwe['’]d|\b(?:i|we)\s+(?:would|will))\s+$"),
    ('makes', r'makes[ \t]+', 'end'),
    ('correspond', r'correspond(?:s|ing|ed)?[ \t]+(?:best[ \t]+)?(?:to|with)[ \t]+(?:answer[ \t]+)?'
     + _CLOSING_LETTER_AHEAD, 'end'),
    ('match', r'match(?:es|ing)?\b(?:[ \t]+best)?(?:[ \t]+with)?(?:[ \t]+is)?[ \t]*[:：]?[ \t]*' + _CLOSING_LETTER_AHEAD,
     'end'),
    ('which is', r'which[ \t]+is[ \t]*,?[ \t]*' + _CLOSING_LETTER_AHEAD, 'end'),
    ('that is', r'that[ \t]+is[ \t]*,?[ \t]*' + _CLOSING_LETTER_AHEAD, 'end'),
    ('correct', r'correct\b', 'verdict'), ('right', r'right\b(?![\-’\'])', 'verdict'),
    ('best', r'best\b', 'verdict'),
    ('but', r"but\s+(?:rather\s+)?(?:it['’]?s\s+)?", 'but'),
    ('**', r'\*\*([^*\n]{1,40})\*\*', 'bold'), ('boxed', r'\\boxed\s*\{((?:[^{}]|\{[^{}]*\})*)\}', 'box'),
    ('答案', r'答案(?:应该|应当|应|就|只能|一定)?(?:是|为|选)?\s*[:：]?\s*', 'zh'), ('答：', r'答：\s*', 'zh'),
    ('选', r'选(?:择)?\s*[:：]?\s*', 'zh'), ('而是', r'而是\s*[:：]?\s*', 'zh'),
    ('是', r'是\s*', 'zh_end'), ('即', r'即(?:为|是)?\s*', 'zh_end'), ('所以', r'所以\s*[,，]?\s*', 'zh_end'),
    ('因此', r'因此\s*[,，]?\s*', 'zh_end'), ('对应', r'对应(?:于|的是|着)?\s*', 'zh_end'),
    ('符合', r'符合\s*', 'zh_end'),
    *((w, w, 'zh_verdict') for w in ('正确', '对的', '相符', '一致', '最符合', '最合适', '吻合')),
    ('no', r'no[tr]\b' + _NEGATED_LETTER, 'neg'), ("n't", r"n't\b" + _NEGATED_LETTER, 'neg'),
    ('n’t', r'n’t\b' + _NEGATED_LETTER, 'neg'),
    *((w, w + _NEGATED_LETTER, 'neg') for w in ('不是', '不选', '并非', '而非', '排除')),
)
_CUES = {needle: (re.compile(src), kind, needle.isascii() and needle[0].isalpha() and "'" not in needle,
                  re.compile(before) if before else None) for needle, src, kind, *before_or_none in _CUE_TABLE
         for before in (before_or_none[0] if before_or_none else None, )}
_COMMIT_CUES = tuple(w for w in _CUES if _CUES[w][1] != 'neg')
# A long span is read from its last 160 characters, and only if nothing is committed there, from the start;
# conclusions without an answer keyword ("so B.", "C is right") count only in that final part.
_KEYWORD_CUES = tuple(w for w in _COMMIT_CUES if _CUES[w][1] in ('en', 'zh', 'but', 'bold', 'box') or w == 'correct')
_NEGATION_CUES = tuple(w for w in _CUES if _CUES[w][1] == 'neg')
# most spans are ASCII: ``str.isascii()`` is free, and skips the Chinese needles altogether
_ASCII_CUES = {cues: tuple(w for w in cues if w.isascii()) for cues in (_COMMIT_CUES, _KEYWORD_CUES, _NEGATION_CUES)}
_MODAL_BEFORE = re.compile(r'(?:would|could|might|may)\s+(?:best\s+)?$')  # "that would correspond to D"
_AFTER_MAKES = re.compile(r'[ \t]+the[ \t]+(?:best|right|correct|most[ \t]+likely|most[ \t]+plausible)\b')
_FINAL_ANSWER_TAIL = re.compile(r'(?<![A-Za-z0-9_])answer(?:\s+is\s*:?|\s*:)\s*[(\[*]*([A-Za-z])[)\]*]*\s*[.。!]?\s*$',
                                _I)
_NOT_BEFORE_BUT = re.compile(r'not\s+[(\[*]*[a-z][)\]*]*[\s,;]*$')
_VERDICT_HINTS = ('is ', 'is the ', 'is the most ', 'be ', 'be the ', 'seems ', 'looks ', 'fits ')
_LETTER_BEFORE_VERDICT = re.compile(r"(?<![A-Za-z0-9])(?P<pre>[(\[*\"'（]*)(?P<l>[A-Za-z])[)\]*\"'）]*,?\s+"
                                    r'(?:(?:is|seems|looks)\s+(?:to\s+be\s+)?(?:the\s+)?(?:most\s+)?|fits\s+)$', _I)
_CONDITION_AFTER = re.compile(r'[ \t]*(?:only[ \t]+)?(?:if|when|unless|only)\b')
_LETTER_BEFORE_ZH_VERDICT = re.compile(r'(?<![A-Za-z0-9])(?P<pre>[(\[（【]?)(?P<l>[A-Za-z])[)\]）】]?\s*(?:是|为|最为|最)?\s*$')
_QUESTION_AFTER_ZH = re.compile(r'[^。！!.\n]{0,3}[吗？?]')
_ORDINALS = {'first': 0, 'second': 1, 'third': 2, 'fourth': 3, 'fifth': 4, 'sixth': 5, 'last': -1, 'final': -1}
_ORDINAL = r'(?P<ord>first|second|third|fourth|fifth|sixth|last|final)\s+(?:option|choice|one|answer\s+choice)\b'
_ORDINAL_SUBJECT = re.compile(r'(?<![a-z])(?:the\s+)?' + _ORDINAL + r'\s+(?:is|seems|looks)\s+(?:to\s+be\s+)?'
                              r'(?:the\s+)?(?:most\s+)?$')  # "the second option is correct"
_ORDINAL_OBJECT = re.compile(r'(?:the\s+)?' + _ORDINAL + r'(?:\s*[,(（]\s*(?:option\s+)?(?P<l>[a-z])(?![a-z0-9])'
                             r'[)）]?)?')  # "the answer is the third option, C"
_ORDINAL_NAMING = re.compile(_ORDINAL + r'\s*[,(（]?\s*(?:option\s+|choice\s+)?$')  # "the third option, " + C
_TEXT_CMD = re.compile(r'\\(?:text|textbf|mathrm|mathbf)\s*\{([^{}]*)\}')
_LABEL_AFTER_BOLD = re.compile(r'[ \t]*[:：)\-–—]')  # "**A**: happy"; "**A.** happy" too (a text follows)
_TEXT_AFTER_BOLD = re.compile(r'[ \t]+[^\s*]')
# hedges among the 4 words before a commitment: "not"-like ones negate it, "if"-like ones void it
_NEGATING_WORDS = frozenset(('not', 'never', 'nor', 'neither', 'none', 'nothing'))
_CONDITIONAL_WORDS = frozenset(('if', 'whether', 'assume', 'assuming', 'suppose', 'unless'))
_HEDGE_WORDS = _NEGATING_WORDS | _CONDITIONAL_WORDS
_NEGATED_BEFORE_ZH = re.compile(r'(?:不|并非|没有)[^\s，。,.；;！？!?]{0,4}$')
_CONDITIONAL_BEFORE_ZH = re.compile(r'(?:如果|假如|假设|要是|若|倘若|是否|(?<!最)可能|也许|或许)[^。！？!?，,；;]{0,6}$')
# a further answer after the committed one: "D is also correct", "也可能是C", "B. Or D."
_ADDITIVE = re.compile(r"\b(?:also|too|as\s+well)\b|^\s*(?:or|and)\b|也|或者|或是|还可能", _I)
_ADDITIVE_IN_CLAUSE = re.compile(r'\b(?:also|too|as\s+well|or|and)\b|也|或')  # "是C，也可以是D"
_ADDITIVE_NEEDLES = ('also', 'too', 'as well', 'or', 'and', '也', '或')  # on the lower-cased text, before _ADDITIVE
_SENTENCE_BREAK = re.compile(r'[.!?。！？\n]')
_RESTATING_CUES = frozenset(('correspond', 'match', 'which is', 'that is', 'i.e.'))
_SENTENCE = re.compile(r'[^.!?。！？\n]+')
_NEGATIVE_CLAUSE = re.compile(r"\b(?:not|wrong|incorrect|unlikely|no)\b|n['’]t\b|不|错", _I)
_CAPITAL_LETTER = re.compile(r'(?<![A-Za-z0-9])[(\[（]?([A-Z])(?![A-Za-z0-9])(?![.\-\'’][A-Za-z0-9])')
# whole-answer forms
_TOKEN = r'[(\[（]?[A-Za-z][)\]）]?'
_BARE_ANSWER = re.compile(r'(?:(?:the\s+)?(?:(?:final|correct|my)\s+)?(?:answer|option|choice)(?:\s+is)?\s*'
                          r'(?:[:：\-]\s*)?)?(?:[(\[（【]\s*)?([A-Za-z])\s*(?:[)\]）】]\s*)?[.。!！]?', _I)
# whole-span fast path for two common complete answers: "\boxed{B}" / "\boxed{\text{B}}" and "答案是B"
_BOXED_OR_ZH_ANSWER = re.compile(r'(?:\\boxed\s*\{\s*(?:\\text(?:bf)?\{\s*)?\(?([A-Za-z])\)?\s*\}(?:\s*\})?'
                                 r'|答案(?:是|为)?\s*[:：]?\s*[(（]?([A-Za-z])[)）]?)[.。!！]?')
_LETTER_LIST = re.compile(rf'(?:(?:both|either)\s+)?{_TOKEN}(?:(?:\s*[,、/&+和或]\s*|\s+(?:and|or)\s+)'
                          rf'(?:(?:and|or)\s+)?{_TOKEN})+\s*[.。]?', _I)
_LIST_LETTER = re.compile(r'(?<![A-Za-z])[A-Za-z](?![A-Za-z])')
_OPTION_ITEM = re.compile(r'(?:(?:option|choice)\s+)?[(\[（]?([A-Za-z])[*_]*'  # "B) Paris", "Option B: Paris"
                          r'(?:[)\]）][*_]*(?:\s*[:：]|\s*[\-–—]\s)?|\s*[:：]|\s*[\-–—]\s|\.[*_]*\s)', _I)
_OPTION_LABELS = re.compile(r'^[ \t]*(?:[-+•]\s+)?[*_]*[(\[（]?([A-Za-z])[*_]*[)\]）.:：][*_]*\s'  # option labels
                            r'|\s[*_]*[(\[（]?([A-Za-z])[*_]*[)\]）][*_]*\s', re.M)
_FINAL_BARE_SENTENCE = re.compile(r'(?:^|[.!?。！？]\s+)[*_]*[(\[（]?([A-Za-z])[)\]）]?[*_]*[.。!！]?$')  # "... C."
# option text
_OPTION_TEXT_LABEL = re.compile(r'\s*[(\[]?([A-Za-z])[)\].:]\s+')
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


def _normalize_text(s: str) -> str:
    """Lower-cased text without markup, spaces collapsed and a leading article dropped, for option matching."""
    s = ' '.join(_NORM_DROP.sub('', s.lower()).split()).strip(" .,;:!?。，；：！？'()[]")
    article, _, rest = s.partition(' ')
    return rest if rest and article in ('the', 'a', 'an') else s


class _OptionTexts:
    """Option text -> letter, built lazily: most completions are decided by a letter."""

    __slots__ = ('options', '_letter_of', '_longest')

    def __init__(self, options: Sequence[str]) -> None:
        """Keep the options; nothing is normalised until an option text is looked up."""
        self.options, self._letter_of, self._longest = options, None, None

    def letter_of(self, text: str) -> str | None:
        """The letter of the option whose text ``text`` is (after normalising), if exactly one is."""
        if self._longest is None:
            self.options = [str(opt) for opt in self.options]
            self._longest = max(map(len, self.options))
        longest = self._longest
        if len(text) > 2 * longest + 16 or len(text := _normalize_text(text)) > longest:
            return None  # normalising never makes a text longer, and seldom much shorter
        if self._letter_of is None:  # unique normalised texts longer than one character ("A. Paris" -> "paris")
            self._letter_of = {}
            for letter, opt in zip(_ALPHABET, self.options):
                m = _OPTION_TEXT_LABEL.match(opt) if opt[1:2] in ').:' or opt[:1] in '([' else None
                if len(norm := _normalize_text(opt[m.end():] if m and m.group(1).upper() == letter else opt)) > 1:
                    self._letter_of[norm] = '' if norm in self._letter_of else letter
        return self._letter_of.get(text) or None


def _option_text_at(span: str, pos: int, opts: _OptionTexts) -> str | None:
    """Option whose text is the longest clause starting at ``pos`` ("Paris, Texas" > "Paris")."""
    tail, best = span[pos:pos + 200], None
    for m in _CLAUSE_END.finditer(tail):
        best = opts.letter_of(tail[:m.start()]) or best
        if m.group('stop') is not None:
            return best
    return best


def _is_letter(span: str, m, after_zh_cue: bool) -> bool:
    """A weak letter ("a", "I") counts only wrapped, after a Chinese cue, or before punctuation/end."""
    if span[m.start('l')] not in 'aIi' or after_zh_cue or not _WRAPPERS.isdisjoint(m.group('pre')):
        return True
    return _END_AFTER_WEAK_LETTER.match(span, m.end()) is not None


def _with_conjoined(span: str, letter: str, end: int, zh: bool = False) -> tuple:
    """(``letter``, or ``""`` if other letters are conjoined to it as in "B or C"; end of the list)."""
    letters = {letter.upper()}
    while (m := _CONJOINED_LETTER.match(span, end)) and _is_letter(span, m, zh):
        letters.add(m.group('l').upper())
        end = m.end()
    return (letters.pop() if len(letters) == 1 else ''), end


def _ordinal_letter(ordinal: str, letters: str) -> str:
    """The letter an ordinal names ("third" -> "C", "last" -> the last letter), ``""`` if out of range."""
    index = _ORDINALS[ordinal]
    return letters[index] if -len(letters) <= index < len(letters) else ''


def _disagrees_with_ordinal(low: str, letter_start: int, letter: str, letters: str) -> bool:
    """True for a letter named by a different ordinal: "the third option, B" (which one is meant?)."""
    if not low[max(0, letter_start - 40):letter_start].rstrip(' \t,(（').endswith(('option', 'choice', 'one')):
        return False  # the common case, without a regex search
    m = _ORDINAL_NAMING.search(low, max(0, letter_start - 40), letter_start)
    return m is not None and _ordinal_letter(m.group('ord'), letters) != letter


def _hedge_before(low: str, start: int) -> str | None:
    """"neg" if a negation is among the 4 words before ``start``, "if" for a hedge ("if the answer is")."""
    if '\u4e00' <= low[start - 1:start] <= '\u9fff':
        if _NEGATED_BEFORE_ZH.search(low, max(0, start - 8), start):
            return 'neg'
        return 'if' if _CONDITIONAL_BEFORE_ZH.search(low, max(0, start - 12), start) else None
    window = low[max(0, start - 40):start]
    tail = window[(nl := window.rfind('\n')) + 1:]  # a hedge does not reach over a line break
    words = tail.split()[1 if nl < 0 and start > 40 and not tail[:1].isspace() else 0:][-4:]  # first may be cut
    if not tail[-1:].isspace() or _HEDGE_WORDS.isdisjoint(words) and "n't" not in tail and 'n’t' not in tail:
        return None
    for word in reversed(words):
        if word in _NEGATING_WORDS or word.endswith(("n't", 'n’t')):
            return 'neg'
        if word in _CONDITIONAL_WORDS:
            return 'if'
        if not word.replace("'", '').replace('’', '').isalnum():
            return None
    return None


def _whole_answer(s: str, opts: _OptionTexts | None, item: bool = True):
    """A string that is the whole answer: "B", "(b).", "Option B", "B) Paris", "Paris", "B and C"."""
    if m := _BARE_ANSWER.fullmatch(s := s.strip(_MARKUP)):
        return m.group(1).upper()
    if _LETTER_LIST.fullmatch(s):
        letters = {c.upper() for c in _LIST_LETTER.findall(s)}
        return letters.pop() if len(letters) == 1 else ''
    if item and (m := _OPTION_ITEM.match(s)):
        return m.group(1).upper()
    return v if opts and len(s) <= 200 and (v := opts.letter_of(s)) else _NO_ANSWER


class _Span:
    """One span of a completion, read for answers: the cue readers return what they find."""

    __slots__ = ('text', 'low', 'opts', 'letters')

    def __init__(self, text: str, opts: _OptionTexts | None, letters: str) -> None:
        """Lower-case the span once, position for position, for the cue regexes."""
        self.text, self.opts, self.letters = text, opts, letters
        self.low = low = text.lower()
        if len(low) != len(text):  # rare non-ASCII letters change length when lower-cased
            self.low = text.translate(_ASCII_LOWER)

    def letters_at(self, m, zh: bool):
        """The slot's letter and any conjoined to it: (letter, or "" if ambiguous; end), or None for a question."""
        letter = m.group('l').upper()
        if _disagrees_with_ordinal(self.low, m.start('l') - len(m.group('pre')), letter, self.letters):
            letter = ''
        found = _with_conjoined(self.text, letter, m.end(), zh) if letter else ('', m.end())
        return None if _QUESTION_AFTER_LETTER.match(self.text, found[1]) else found

    def ordinal_at(self, pos: int):
        """An option named by its ordinal at ``pos`` ("the third option, C"): (letter or "", end), or None."""
        if not (m := _ORDINAL_OBJECT.match(self.low, pos)):
            return None
        letter, named = _ordinal_letter(m.group('ord'), self.letters), m.group('l')
        return None if _QUESTION_AFTER_LETTER.match(self.text, m.end()) else (
            letter if not named or named.upper() == letter else '', m.end())

    def letter_after(self, pos: int, zh: bool):
        """The letter (list) right after ``pos``: (letter, or "" if ambiguous; end), or None."""
        if (m := _LETTER_SLOT.match(self.text, pos)) and _is_letter(self.text, m, zh):
            return self.letters_at(m, zh)
        return self.ordinal_at(pos)

    def answer_after(self, pos: int, zh: bool):
        """The answer right after an answer phrase: (letter or "" if ambiguous; end), or None."""
        text, opts = self.text, self.opts
        if (m := _LETTER_SLOT.match(text, pos)) and _is_letter(text, m, zh):
            if opts and text[m.start('l')] in 'aAI' and not _END_AFTER_WEAK_LETTER.match(text, m.end()):
                if v := _option_text_at(text, pos, opts):
                    return v, pos  # "A dog barking" is an option's text, not the letter A
            return self.letters_at(m, zh)
        if found := self.ordinal_at(pos):
            return found
        return (v, pos) if opts and (v := _option_text_at(text, pos, opts)) else None

    def conclusion_after(self, pos: int, kind: str, cue: str):
        """A letter that closes its clause after a conclusion ("so B.", "对应选项C"): (letter, end) or None."""
        zh = kind == 'zh_end'
        if not (found := self.letter_after(pos, zh)):
            return None
        if cue == 'makes':
            return found if _AFTER_MAKES.match(self.low, found[1]) else None
        end_rx = _ZH_CLAUSE_END_AFTER_LETTER if zh else _CLAUSE_END_AFTER_LETTER
        return found if end_rx.match(self.text, found[1]) else None

    def verdict(self, m, zh: bool):
        """A letter before "is correct" / "正确" (or "the second option is correct"): (start, letter, end)."""
        low, start = self.low, m.start()
        if zh:
            if _QUESTION_AFTER_ZH.match(low, m.end()) or not (c := _LETTER_BEFORE_ZH_VERDICT.search(
                    low, max(0, start - 12), start)):
                return None
        elif _CONDITION_AFTER.match(low, m.end()) or not low.endswith(_VERDICT_HINTS, 0, start) or \
                _QUESTION_AFTER_LETTER.match(low, m.end()):
            return None
        elif not (c := _LETTER_BEFORE_VERDICT.search(self.text, max(0, start - 40), start)):
            if o := _ORDINAL_SUBJECT.search(low, max(0, start - 60), start):
                return o.start(), _ordinal_letter(o.group('ord'), self.letters), m.end()
            return None
        letter = self.text[c.start('l')]
        if letter in 'aIi' and not zh:
            return None
        letter = letter.upper()
        if _disagrees_with_ordinal(low, c.start(), letter, self.letters):
            letter = ''
        return c.start(), letter, m.end()

    def bold_or_boxed(self, m, box: bool):
        """**B** or \\boxed{B} whose content is a whole answer and not a label ("**A**: happy")."""
        content = m.group(1)
        value = _whole_answer(_TEXT_CMD.sub(r'\1', content) if box else content, self.opts if box else None, box)
        last = content.rstrip()[-1:]
        label = not box and (_LABEL_AFTER_BOLD.match(self.low, m.end()) or last in '):'
                             or last == '.' and _TEXT_AFTER_BOLD.match(self.low, m.end()))
        if value is _NO_ANSWER or label:
            return None
        return _with_conjoined(self.text, value, m.end()) if value else (value, m.end())

    def commitment_at(self, m, cue: str, kind: str):
        """What the cue match ``m`` commits to: (start, letter or "", end, hedgeable, restating), or None.

        ``restating``: the cue restates an answer just given ("B, which corresponds to option B").
        """
        start = m.start()
        if kind == 'en' or kind == 'zh':
            v = self.answer_after(m.end(), kind == 'zh')
            return None if v is None else (start, v[0], v[1], True, False)
        if kind == 'end' or kind == 'zh_end':
            if (v := self.conclusion_after(m.end(), kind, cue)) and \
                    not _MODAL_BEFORE.search(self.low, max(0, start - 12), start):  # "would correspond to D"
                return start, v[0], v[1], True, cue in _RESTATING_CUES
            return None
        if kind == 'verdict' or kind == 'zh_verdict':
            v = self.verdict(m, kind == 'zh_verdict')
            return v and (v[0], v[1], v[2], True, False)
        if kind == 'but':  # "not B but C"
            if _NOT_BEFORE_BUT.search(self.low, max(0, start - 24), start) and (v := self.answer_after(m.end(), False)):
                return start, v[0], v[1], False, False
            return None
        v = self.bold_or_boxed(m, kind == 'box')
        return v and (start, v[0], v[1], True, False)

    def commitments(self, lo: int, hi: int, cues: tuple = _COMMIT_CUES) -> tuple:
        """(commitments (start, letter or "", end, restating), negated (start, letter)) in ``[lo, hi)``."""
        low, commits, negated = self.low, [], []
        region = low if lo == 0 and hi == len(low) else low[lo:hi]
        for cue in filter(region.__contains__, _ASCII_CUES[cues] if region.isascii() else cues):
            rx, kind, word_start, before = _CUES[cue]
            for m in rx.finditer(low, lo, hi):
                start = m.start()
                if word_start and start and low[start - 1] in _WORD_CHARS:
                    continue  # "bit's", "cannot"
                if before and not before.search(low, max(0, start - 16), start) or \
                        not (found := self.commitment_at(m, cue, kind)):
                    continue
                start, value, end, hedgeable, restating = found
                hedge = _hedge_before(low, start) if hedgeable else None
                if hedge is None:
                    commits.append((start, value, end, restating))
                elif value and hedge == 'neg':
                    negated.append((start, value))
        return commits, negated

    def negations(self, lo: int, hi: int) -> list:
        """(start, letter) of each explicitly negated letter ("not B", "不是A") in ``[lo, hi)``."""
        low, text = self.low, self.text
        region = low if lo == 0 and hi == len(low) else low[lo:hi]
        found = []
        for cue in filter(region.__contains__, _ASCII_CUES[_NEGATION_CUES] if region.isascii() else _NEGATION_CUES):
            rx, _, word_start, _ = _CUES[cue]
            for m in rx.finditer(low, lo, hi):
                if not (word_start and m.start() and low[m.start() - 1] in _WORD_CHARS) and _is_letter(text, m, False):
                    found.append((m.start(), text[m.start('l')].upper()))
        return found

    def adds_another_letter(self, end: int, letter: str) -> bool:
        """True if a sentence after ``end`` adds a different letter: "D is also correct", "B. Or D."."""
        tail, low = self.text[end:], self.low[end:]
        if not any(map(low.__contains__, _ADDITIVE_NEEDLES)):
            return False
        for sentence in _SENTENCE.findall(tail):
            if _ADDITIVE.search(sentence) and not _NEGATIVE_CLAUSE.search(sentence):
                for m in _CAPITAL_LETTER.finditer(sentence):
                    other = m.group(1)
                    if other != letter and other in self.letters and (other not in 'AI' or m.group(0)[0] in '(（[' or
                                                                      _END_AFTER_WEAK_LETTER.match(sentence, m.end())):
                        return True
        return False

    def decide(self, commits: list, negated: list) -> str | None:
        """The last commitment's letter; ``None`` if retracted, or if another letter is added or restated."""
        commits.sort(key=lambda c: c[0])
        index, list_end = -1, -1
        for i, (start, value, end, _) in enumerate(commits):  # the last one not inside an earlier "A or B" list
            if start >= list_end:
                index, list_end = i, (list_end if value else end)
        pos, value, end, restating = commits[index]
        if not value or any(p > pos and v == value for p, v in negated):
            return None  # ambiguous, or retracted: "The answer is B. No, not B."
        if index and commits[index - 1][1] != value:  # "B, which corresponds to option C", "是C，也可以是D"
            between = self.low[commits[index - 1][2]:pos]
            if not _SENTENCE_BREAK.search(between) and (restating or _ADDITIVE_IN_CLAUSE.search(between)):
                return None
        return None if self.adds_another_letter(end, value) else value


def _read_whole_span(span: _Span, negated: list):
    """The answer of a span without answer phrases: its first or last line ("B) Paris", "...\\n\\nB")."""
    if not (s := span.text.strip()):
        return _NO_ANSWER
    nl = s.find('\n')
    value = first = _whole_answer(s if nl < 0 else s[:nl], span.opts)
    if nl >= 0:
        last = _whole_answer(s[s.rfind('\n') + 1:], span.opts, item=False)
        value = last if value is _NO_ANSWER else value if last in (_NO_ANSWER, value) else ''
    if value is _NO_ANSWER:  # "... The speaker is angry. C."
        m = _FINAL_BARE_SENTENCE.search(s, max(0, len(s) - 12))
        if m is None or m.start() == 0 or _FINAL_BARE_SENTENCE.search(s, max(0, m.start() - 11), m.start() + 1):
            return _NO_ANSWER
        value = m.group(1).upper()
        if value in 'AI' and m.group(0).rstrip()[-1:] not in '.。!！)]）':
            return _NO_ANSWER
    labels = _OPTION_LABELS.findall(s) if first is not _NO_ANSWER and (nl >= 0 or ')' in s or ']' in s
                                                                       or '）' in s) else ()
    if value and (any(v == value for _, v in negated) or any((a or b).upper() != value for a, b in labels)):
        value = ''  # "B\nNot B." or the options restated: "A) happy B) sad"
    return value


def _read_span(text: str, letters: str, opts: _OptionTexts | None, whole_forms: bool):
    """Letter, ``None`` (an invalid, ambiguous or negated answer) or ``_NO_ANSWER`` for one span.

    ``whole_forms``: the span is an answer, so a bare "B" or "B) Paris" line counts (not in a reasoning).
    """
    if whole_forms and len(text) < 64:
        if m := _BARE_ANSWER.fullmatch(stripped := text.strip(_MARKUP)):
            return m.group(1).upper() if m.group(1).upper() in letters else None  # fast path: "B", "Answer: (B)"
        if m := _BOXED_OR_ZH_ANSWER.fullmatch(stripped):
            letter = (m.group(1) or m.group(2)).upper()
            return letter if letter in letters else None  # fast path: "\boxed{B}", "答案是B"
    span = _Span(text, opts, letters)
    if (m := _FINAL_ANSWER_TAIL.search(text, max(0, len(text) - 48))) and _hedge_before(span.low, m.start()) is None:
        return m.group(1).upper() if m.group(1).upper() in letters else None  # fast path: "... answer is B."
    n = len(text)
    cut = n - 160 if n > 240 else 0  # only the last commitment matters: look at the end first
    commits, negated = span.commitments(cut, n)
    if cut and not commits:
        commits, negated = span.commitments(0, cut + 64, _KEYWORD_CUES)
        cut = 0
    if commits or whole_forms:  # negations matter after a commitment, or on their own in an answer
        negated += span.negations(cut, n)
    if commits:
        value = span.decide(commits, negated)
    elif (value := _read_whole_span(span, negated) if whole_forms else _NO_ANSWER) is _NO_ANSWER:
        return None if negated else _NO_ANSWER
    return value if value and value in letters else None


def extract_choice(text: str, options: Sequence[str] | None = None, *,
                   read_reasoning_when_answer_empty: bool = True) -> str | None:
    """Return the option letter chosen by a completion, or ``None`` if there is none or it is unclear.

    ``options`` (the option texts) sets the valid letters (A-D when omitted) and lets an
    answer given as option text count.  ``read_reasoning_when_answer_empty``: an empty
    ``<answer></answer>`` is read from the reasoning before it (eval); ``False`` gives ``None``
    (the training rewards, see the module docstring).

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
    >>> extract_choice("The voice is calm, which corresponds to option D.")
    'D'
    >>> think = "<think>Not A. So it must be B.</think><answer></answer>"
    >>> print(extract_choice(think), extract_choice(think, read_reasoning_when_answer_empty=False))
    B None
    """
    if text is None:
        return None
    if not isinstance(text, str):
        raise TypeError(f'text must be a str, got {type(text).__name__}')
    letters = choice_letters(len(options)) if options is not None else 'ABCD'
    opts = _OptionTexts(options) if options else None
    # Only a committed answer counts: the last <answer> block, else what follows </think>; the reasoning
    # is read only behind an empty <answer> block (a tentative "the answer is C" while thinking is no answer).
    if (a := text.rfind('<answer>')) >= 0:
        b = text.find('</answer>', a)
        span = text[a + 8:b if b >= 0 else len(text)]
        if span.strip(_MARKUP) or not read_reasoning_when_answer_empty:
            result = _read_span(span, letters, opts, True)
        else:
            reasoning = text[:a]
            reasoning = reasoning[reasoning.rfind('<think>') + 7:] if '<think>' in reasoning else reasoning
            result = _read_span(reasoning.replace('</think>', '\n'), letters, opts, False)
    elif (t := text.rfind('</think>')) >= 0:
        result = _read_span(text[t + 8:], letters, opts, True)
    elif '<think>' in text:
        return None  # cut off inside the reasoning: no answer was given
    else:
        result = _read_span(text, letters, opts, True)
    return None if result is _NO_ANSWER else result
