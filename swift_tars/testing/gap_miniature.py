"""A miniature modality gap that RL can move: the questions and the warm start of the tiny model.

The tiny Qwen2.5-Omni of :mod:`.models` is teacher-forced so that it answers **every** question right when it
is typed, and only some of them when it is spoken, like the real model (VoiceBench-MMSU: 67.9 % text vs
61.5 % speech). How the speech side is made partly functional: the gold answer is taught under the text
prompt of every question; under the audio of a seeded ``spoken_fraction`` of them the gold answer, under the
audio of the others every option once, so the speech side is uncertain there and sampled speech rollouts
disagree inside a group (what GRPO can amplify). On the 24 category questions of ``swift-tars reproduce-mini``
(fast espeak-ng audio, 400 warm-start steps, ``spoken_fraction=0.4``) the greedy model then answered 100 % of
typed questions and 37.5 % of spoken ones. Questions ("Which is a fruit?") are drawn from fixed
word lists; ``reproduce-mini`` holds some out of RL to see what RL on other questions does to them.
"""
import random
from typing import Dict, List, Mapping, Sequence, Tuple

from swift_tars.answers import choice_letters
from swift_tars.prompts import SYSTEM_THINK
from swift_tars.testing.warm_start import WarmStart, tars_answer

CATEGORIES: Dict[str, Tuple[str, ...]] = {
    'an animal': ('dog', 'horse', 'sheep', 'lion', 'tiger', 'rabbit', 'camel', 'whale'),
    'a fruit': ('apple', 'banana', 'cherry', 'grape', 'lemon', 'mango', 'peach', 'melon'),
    'a colour': ('red', 'blue', 'green', 'yellow', 'purple', 'brown', 'pink', 'black'),
    'a country': ('France', 'Spain', 'Italy', 'Japan', 'China', 'Brazil', 'Canada', 'Egypt'),
    'a tool': ('hammer', 'wrench', 'saw', 'drill', 'chisel', 'shovel', 'rake', 'pliers'),
    'an instrument': ('violin', 'piano', 'guitar', 'drum', 'flute', 'trumpet', 'harp', 'cello'),
}


def category_questions(n: int, *, seed: int = 0, prefix: str = 'gap') -> List[dict]:
    """``n`` distinct four-option questions "Which is {category}?" as build-data source records.

    One option is from the asked category, three from three other categories; gold letters are balanced.

    >>> q = category_questions(2)[0]
    >>> sorted(q) == ['answer', 'options', 'question', 'question_id', 'subject']
    True
    """
    rng = random.Random(seed)
    names, records, seen = list(CATEGORIES), [], set()
    while len(records) < n:
        asked = names[len(records) % len(names)]
        others = rng.sample([c for c in names if c != asked], 3)
        gold_index = len(records) % 4
        distractors = [rng.choice(CATEGORIES[c]) for c in others]
        options = distractors[:gold_index] + [rng.choice(CATEGORIES[asked])] + distractors[gold_index:]
        key = (asked, tuple(options))
        if key in seen:
            continue
        seen.add(key)
        records.append({'question_id': f'{prefix}-{len(records):03d}', 'question': f'Which is {asked}?',
                        'options': options, 'answer': choice_letters(4)[gold_index], 'subject': asked.split()[-1]})
    return records


def gap_miniature_warm_start(rows: Sequence[Mapping], *, spoken_fraction: float = 0.4, speech_copies: int = 2,
                             text_copies: int = 4, seed: int = 0) -> Tuple[List[WarmStart], Dict[str, bool]]:
    """Warm-start examples for row-format ``rows``: the gold answer under every text prompt (``text_copies``
    times); under the audio of a seeded ``spoken_fraction`` of the questions the gold answer (``speech_copies``
    times), under the audio of the others every option once (an uncertain speech side, not a wrong one).

    Returns the examples and, per question id, whether its audio was taught the gold answer.
    """
    rng = random.Random(seed)
    ids = [row['question_id'] for row in rows]
    taught_ids = set(rng.sample(ids, round(spoken_fraction * len(ids))))
    examples, taught = [], {}
    for row in rows:
        options = row['options']
        gold = choice_letters(len(options)).index(row['solution'])
        word = row['text_query'].split()[0].lower()
        system = next((m['content'] for m in row['messages'] if m['role'] == 'system'), SYSTEM_THINK)
        examples += [WarmStart(row['text_query'], None, tars_answer(word, options, gold), system)] * text_copies
        taught[row['question_id']] = row['question_id'] in taught_ids
        spoken = [gold] * speech_copies if taught[row['question_id']] else range(len(options))
        examples += [WarmStart(None, row['audios'][0], tars_answer(word, options, k), system) for k in spoken]
    return examples, taught
