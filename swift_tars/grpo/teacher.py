"""The text-conditioned teacher view of speech rollouts (CORD), built with ms-swift's own encoding.

For each speech rollout, the teacher input is the text view of the same conversation (the user turn replaced
by ``text_query``, :func:`~swift_tars.data.rows.text_view_messages`) and no audio, followed by exactly the
completion tokens the speech rollout sampled.
ms-swift's OPSD path (a ``teacher_prompt`` column) was not reused as is: its teacher view keeps the
sample's audio and it yields only the sampled token's log-prob, while CORD needs the teacher's whole
next-token distribution; the encoding and collation below are ms-swift's (``encode_sample``,
``collate_to_grpo_micro_batch``), applied to text views of the samples.
"""
import copy
from typing import Any, Dict, List, Sequence, Tuple

import torch
from swift.rl_core.data import GRPOBatch
from swift.rlhf_trainers.utils import collate_to_grpo_micro_batch, encode_sample

from swift_tars.data.rows import AUDIOS, MODALITY, QUESTION_ID, SPEECH, TEXT_QUERY, text_view_messages


def text_teacher_sample(sample):
    """A copy of a speech ``GRPOSample`` whose last user turn is its ``text_query`` and which has no audio; its
    last message, the sampled completion, is kept."""
    teacher = copy.copy(sample)
    teacher.messages = text_view_messages(sample.messages, sample.extra.get(TEXT_QUERY),
                                          f'speech rollout of question_id={sample.extra.get(QUESTION_ID)!r}',
                                          'its CORD text teacher view')
    teacher.audios = []
    teacher.extra = {**sample.extra, AUDIOS: []}
    teacher.encoded = None
    return teacher


def speech_rows(samples: Sequence[Any]) -> List[int]:
    """Positions of the speech rollouts in a micro-batch."""
    return [i for i, s in enumerate(samples) if s.extra.get(MODALITY) == SPEECH]


def collate_teacher(samples: Sequence[Any], template, device,
                    drop_inputs: Sequence[str] = ()) -> Tuple[List[int], Dict[str, Any], GRPOBatch]:
    """(speech row positions, model inputs, GRPOBatch) of the text teacher views of a micro-batch; ``drop_inputs``:
    model-input keys the family's teacher view must not carry (``ModelFamily.teacher_drop_inputs``)."""
    rows = speech_rows(samples)
    teachers = [text_teacher_sample(samples[i]) for i in rows]
    for t in teachers:
        t.encoded = encode_sample(t, template)
        t.encoded.pop('_extra_kwargs', None)
    model_inputs, grpo_batch = collate_to_grpo_micro_batch(teachers, template, device=device, use_logits_to_keep=True)
    for key in ('labels', *drop_inputs):
        model_inputs.pop(key, None)
    return rows, model_inputs, grpo_batch


def completion_states(final_hidden: torch.Tensor, keep: int) -> torch.Tensor:
    """Final hidden states that predict the completion tokens: positions ``[-(keep+1), -1)`` -> ``[B, keep, H]``."""
    return final_hidden[:, -(keep + 1):-1, :]
