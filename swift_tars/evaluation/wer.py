"""Word error rate with Whisper's English text normaliser (pure: no torch, no ms-swift).

Both texts go through ``whisper_normalizer.english.EnglishTextNormalizer`` (the normaliser of OpenAI's Whisper
evaluation, packaged on PyPI: lower case, punctuation and fillers removed, spellings Americanised, numbers
written as digits, contractions expanded), then ``jiwer`` aligns the words. An item's WER is its edits
(substitutions + deletions + insertions) over its reference words; a set's WER is the **corpus** WER, the total
edits over the total reference words (not the mean of the item WERs). WERs are percentages and may exceed 100.

>>> item = score_transcript('The cat sat.', 'the cat sat down')
>>> item['insertions'], item['reference_words'], round(item['wer'], 2)
(1, 3, 33.33)
"""
from functools import lru_cache
from typing import Iterable, Mapping, Optional

COUNT_KEYS = ('reference_words', 'substitutions', 'deletions', 'insertions', 'errors')


@lru_cache(maxsize=1)
def _normalizer():
    from whisper_normalizer.english import EnglishTextNormalizer

    return EnglishTextNormalizer()


def normalize(text: Optional[str]) -> str:
    """Whisper's English normalisation of ``text``, spaces collapsed.

    >>> normalize("Mr. Smith's colour, twenty-five dollars!")
    'mister smith is color $25'
    """
    return ' '.join(_normalizer()(text or '').split())


def word_counts(reference: str, hypothesis: str) -> dict:
    """Edit counts of two already normalised texts (word-level Levenshtein alignment by jiwer)."""
    ref, hyp = reference.split(), hypothesis.split()
    if not ref or not hyp:  # jiwer refuses an empty reference; nothing to align either way
        counts = {'substitutions': 0, 'deletions': len(ref), 'insertions': len(hyp)}
    else:
        import jiwer

        out = jiwer.process_words(reference, hypothesis)
        counts = {'substitutions': out.substitutions, 'deletions': out.deletions, 'insertions': out.insertions}
    return {'reference_words': len(ref), **counts, 'errors': sum(counts.values())}


def _pct(errors: int, words: int) -> Optional[float]:
    return 100.0 * errors / words if words else None


def score_transcript(reference: str, hypothesis: str) -> dict:
    """Normalised reference and hypothesis, the edit counts and the item's WER (%; None without reference
    words)."""
    ref, hyp = normalize(reference), normalize(hypothesis)
    counts = word_counts(ref, hyp)
    return {'reference_norm': ref, 'hypothesis_norm': hyp, **counts,
            'wer': _pct(counts['errors'], counts['reference_words'])}


def corpus_wer(items: Iterable[Mapping]) -> dict:
    """Totals of the items' edit counts and the corpus WER (%): total edits / total reference words.

    >>> corpus_wer([score_transcript('the cat sat', 'the cat sat down'), score_transcript('a b c d', 'a x c')])['wer']
    42.857142857142854
    """
    items = list(items)
    totals = {k: sum(int(i[k]) for i in items) for k in COUNT_KEYS}
    return {'n': len(items), **totals, 'wer': _pct(totals['errors'], totals['reference_words']),
            'empty_hypotheses': sum(1 for i in items if not i['hypothesis_norm'])}
