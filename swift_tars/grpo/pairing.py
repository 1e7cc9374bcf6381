"""Speech/text pairing inside GRPO groups (pure functions, no ms-swift).

A GRPO group is one dataset row repeated G times. TARS turns it into G/2 speech rollouts (even
positions: the audio prompt) and G/2 text rollouts (odd positions: ``text_query``, no audio), so
every micro-batch of even size holds audio. Rollouts are paired by ``question_id``, never by
batch position: :func:`question_runs` finds the groups, :func:`reference_cosines` compares each
speech rollout with the correct text rollouts of the same question.
"""
import copy
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

import torch

from swift_tars.config import allowed_values
from swift_tars.data.rows import (
    AUDIOS,
    MESSAGES,
    MODALITY,
    QUESTION_ID,
    SPEECH,
    TEXT,
    TEXT_QUERY,
    RowError,
    column,
    text_view_messages,
)

REFERENCE_MODES = allowed_values('TARS_REFERENCE')


class PairingError(ValueError):
    """The batch cannot be split into speech/text groups of one question each."""


def _describe(row: Mapping[str, Any], i: int) -> str:
    return f'rollout row {i} (question_id={row.get(QUESTION_ID)!r})'


SPEECH_PROMPT = 'tars_speech_prompt'  # kept on text rows: the speech messages and audios (TARS_TEXT_SCORING=upstream)


def text_view(row: Mapping[str, Any], i: int = 0) -> Dict[str, Any]:
    """A copy of ``row`` tagged as a text rollout: the text view of its messages
    (:func:`~swift_tars.data.rows.text_view_messages`) and no audio (the speech prompt is kept under
    ``tars_speech_prompt`` for the upstream scoring mode)."""
    try:
        messages = text_view_messages(row.get(MESSAGES), row.get(TEXT_QUERY), _describe(row, i),
                                      'its TARS text rollouts')
    except RowError as e:
        raise PairingError(str(e)) from None
    out = copy.deepcopy(dict(row))
    out[SPEECH_PROMPT] = {MESSAGES: out.get(MESSAGES), AUDIOS: list(row.get(AUDIOS) or [])}
    out[MESSAGES] = messages
    out[AUDIOS] = []
    out[MODALITY] = TEXT
    return out


def restore_speech_prompt(sample) -> None:
    """Puts a generated text rollout back under its question's speech prompt (same completion tokens).

    ``sample``: an ms-swift ``GRPOSample`` of a text rollout whose last message is the generated completion.
    """
    saved = sample.extra.get(SPEECH_PROMPT)
    if not saved:
        raise PairingError(f'text rollout of question_id={sample.extra.get(QUESTION_ID)!r} has no saved speech prompt')
    sample.messages = copy.deepcopy(saved[MESSAGES]) + [sample.messages[-1]]
    sample.audios = list(saved[AUDIOS])
    sample.encoded = None


def speech_view(row: Mapping[str, Any], i: int = 0) -> Dict[str, Any]:
    """A copy of ``row`` tagged as a speech rollout; it must carry exactly one audio."""
    audios = row.get(AUDIOS) or []
    if len(audios) != 1:
        raise PairingError(f'{_describe(row, i)} has {len(audios)} audios; a TARS speech row needs exactly one '
                           '(the spoken question) with an <audio> tag in its user turn')
    out = copy.deepcopy(dict(row))
    out[MODALITY] = SPEECH
    return out


def pair_rows(rows: Sequence[Mapping[str, Any]], group_size: int, layout: str = 'paired') -> List[Dict[str, Any]]:
    """Tags a rank-local generation batch: even positions speech, odd positions text (``layout='paired'``), or
    every position speech (``layout='speech'``, ``TARS_GROUP_LAYOUT=speech``: the speech-only GRPO baseline).

    ``rows`` holds whole groups (``group_size`` consecutive copies of one question); a group that
    mixes question ids means the group straddles ranks or the sampler changed.
    """
    check_group_size(group_size)
    if len(rows) % group_size:
        raise PairingError(f'{len(rows)} rows on this rank is not a multiple of num_generations={group_size}: '
                           'each rank must hold whole groups (per_device_train_batch_size × '
                           'steps_per_generation divisible by num_generations)')
    check_one_question_per_id(rows)
    out = []
    for start in range(0, len(rows), group_size):
        block = rows[start:start + group_size]
        ids = [r.get(QUESTION_ID) for r in block]
        if ids[0] is None:
            raise PairingError(f'{_describe(block[0], start)} has no {QUESTION_ID!r}; TARS pairs rollouts by it')
        if any(q != ids[0] for q in ids):
            raise PairingError(f'rows {start}-{start + group_size - 1} mix question ids {sorted(set(map(str, ids)))}: '
                               'a GRPO group must be one question on one rank')
        for j, row in enumerate(block):
            if row.get('teacher_prompt') is not None:
                raise PairingError(f'{_describe(row, start + j)} has a teacher_prompt column, which switches on '
                                   "ms-swift's self-distillation path; rename or drop that column")
            text = layout == 'paired' and j % 2 == 1
            out.append(text_view(row, start + j) if text else speech_view(row, start + j))
    return out


QUESTION_FIELDS = (TEXT_QUERY, AUDIOS, 'solution', 'answer_index', 'options')  # what makes two rows one question


def check_one_question_per_id(rows: Sequence[Mapping[str, Any]]) -> None:
    """Refuses rows that share a ``question_id`` but carry different questions (text query, audio, gold or
    options): rollouts are paired by ``question_id``, so their references would mix. The error names both rows
    and the fields that differ."""
    first: Dict[Any, int] = {}
    for i, row in enumerate(rows):
        qid = row.get(QUESTION_ID)
        if qid is None:
            continue
        j = first.setdefault(qid, i)
        differ = [k for k in QUESTION_FIELDS if row.get(k) != rows[j].get(k)]
        if differ:
            raise PairingError(f'{_describe(rows[j], j)} and {_describe(row, i)} share question_id {qid!r} but are '
                               f'different questions (they differ in {", ".join(differ)}): rollouts are paired by '
                               'question_id, so their references would mix. Give each question its own id in the '
                               'dataset (the dataset checks name every such row before training)')


def check_group_size(group_size: int) -> None:
    if group_size < 2 or group_size % 2:
        raise PairingError(f'num_generations={group_size}: TARS needs an even group (half speech, half text), '
                           'e.g. --num_generations 8')


def rollout_groups(batch: Mapping[str, Any], n: int, reward: str) -> Tuple[List[str], List[Any]]:
    """(modality tags, question ids) of a batched reward call, for rewards that compare speech with text.

    The tags exist only when the swift-tars trainer made the rollouts; otherwise the error says how to run it.
    """
    if MODALITY not in batch:
        raise RuntimeError(f'{reward} needs the swift-tars trainer (speech/text groups): run `swift rlhf '
                           '--rlhf_type grpo --external_plugins $(swift-tars plugin-path) ...`')
    return (list(column(batch, MODALITY, n, needed_for=reward)), list(column(batch, QUESTION_ID, n,
                                                                             needed_for=reward)))


def question_runs(question_ids: Sequence[Any], modalities: Sequence[str]) -> List[List[int]]:
    """Index lists of consecutive rollouts sharing a question id, each checked to alternate speech/text.

    >>> question_runs(['q1', 'q1', 'q2', 'q2'], ['speech', 'text', 'speech', 'text'])
    [[0, 1], [2, 3]]
    """
    if len(question_ids) != len(modalities):
        raise PairingError(f'{len(question_ids)} question ids for {len(modalities)} modality tags')
    runs: List[List[int]] = []
    for i, qid in enumerate(question_ids):
        if runs and question_ids[runs[-1][0]] == qid:
            runs[-1].append(i)
        else:
            runs.append([i])
    for run in runs:
        expected = [SPEECH if k % 2 == 0 else TEXT for k in range(len(run))]
        got = [modalities[i] for i in run]
        if got != expected or len(run) % 2:
            raise PairingError(f'question_id={question_ids[run[0]]!r}: rollouts {run[0]}-{run[-1]} have modalities '
                               f'{got}; expected alternating speech/text in whole groups')
    return runs


def reference_cosines(vectors: torch.Tensor,
                      question_ids: Sequence[Any],
                      modalities: Sequence[str],
                      correct: Sequence[float],
                      reference: str = 'mean',
                      usable: Optional[Sequence[bool]] = None) -> torch.Tensor:
    """Per-rollout mean over layers of cos(speech vector, reference text vector); NaN where undefined.

    ``vectors``: ``[N, L, D]`` (L layers, or L=1 for sentence embeddings), any float dtype; computed in
    fp32. The reference of a speech rollout is built from the *correct* text rollouts of its question
    (``correct[i] == 1``) that are ``usable`` (e.g. had tokens to pool):

    - ``mean``: cosine to the mean of their vectors (per layer);
    - ``round_robin``: the k-th speech rollout of the group against correct text number ``k mod K``.

    NaN for text rollouts (asymmetric design), for speech rollouts whose question has no usable
    correct text rollout, and for unusable speech rollouts.
    """
    if reference not in REFERENCE_MODES:
        raise ValueError(f'reference={reference!r}; use one of {REFERENCE_MODES}')
    n = vectors.shape[0]
    if vectors.dim() == 2:
        vectors = vectors.unsqueeze(1)
    usable = [True] * n if usable is None else list(usable)
    if not (len(question_ids) == len(modalities) == len(correct) == len(usable) == n):
        raise ValueError('vectors, question_ids, modalities, correct and usable must have the same length')
    vectors = vectors.float()
    out = torch.full((n, ), float('nan'), dtype=torch.float32)
    for run in question_runs(question_ids, modalities):
        texts = [i for i in run if modalities[i] == TEXT and correct[i] == 1 and usable[i]]
        speech = [i for i in run if modalities[i] == SPEECH]
        if not texts:
            continue
        for k, i in enumerate(speech):
            if not usable[i]:
                continue
            if reference == 'mean':
                target = vectors[texts].mean(dim=0)
            else:
                target = vectors[texts[k % len(texts)]]
            out[i] = torch.nn.functional.cosine_similarity(vectors[i], target, dim=-1, eps=1e-12).mean()
    return out
