"""Teacher-forcing a tiny model before RL: the examples (:class:`WarmStart`), the TARS-format answer, and
the seeded minibatch AdamW loop that writes them into the thinker."""
from typing import List, Mapping, NamedTuple, Optional, Sequence

from swift_tars.answers import choice_letters
from swift_tars.prompts import SYSTEM_THINK


class WarmStart(NamedTuple):
    """One teacher-forced example: a text user turn or an audio file, the assistant answer, the system prompt."""
    user: Optional[str]
    audio: Optional[str]
    answer: str
    system: str = SYSTEM_THINK


def gap_warm_start(rows: Sequence[Mapping]) -> List[WarmStart]:
    """Warm-start examples from row-format rows: the gold answer under each text prompt, nothing on speech.

    ``<think>{first word} means {gold option}</think><answer>The answer is {gold}.</answer>``. The audio
    side stays untrained, so speech rollouts mostly miss the format and the answer: the tiny model
    has a (large) modality gap, and correct text rollouts exist for the alignment rewards.
    """
    examples = []
    for row in rows:
        options = row['options']
        gold = choice_letters(len(options)).index(row['solution'])
        word = row['text_query'].split()[0].lower()
        examples.append(WarmStart(row['text_query'], None, tars_answer(word, options, gold)))
    return examples


def tars_answer(word: str, options: Sequence[str], index: int) -> str:
    """A completion in the TARS format naming option ``index``: ``<think>{word} means {option}</think><answer>…``."""
    return f'<think>{word} means {options[index]}</think><answer>The answer is {choice_letters(len(options))[index]}.</answer>'


# How a warm-start example is written: chatml (the Qwen families) by default.
CHATML = ('<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n'
          '{answer}<|im_end|>')


def teacher_force(thinker, processor, examples: Sequence['WarmStart'], steps: int, batch_size: int = 16,
                  chat: str = CHATML) -> None:
    """Seeded minibatch AdamW on the assistant tokens of ``examples`` (``chat`` under each example's system prompt;
    its text after ``{answer}`` ends the answer).

    Each minibatch is run through the processor when drawn (audio features of a few clips, not of all of them).
    """
    import librosa
    import torch

    waveforms = {path: librosa.load(path, sr=16000)[0] for path in {ex.audio for ex in examples if ex.audio}}
    optimizer = torch.optim.AdamW(thinker.parameters(), lr=5e-3)
    generator = torch.Generator().manual_seed(0)
    thinker.train()
    for _ in range(steps):
        rows = torch.randperm(len(examples), generator=generator)[:batch_size]
        inputs, labels = _warm_start_batch(processor, [examples[int(r)] for r in rows], waveforms, chat)
        loss = thinker(**inputs, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    thinker.eval()


def _warm_start_batch(processor, examples: Sequence['WarmStart'], waveforms: Mapping[str, object],
                      chat: str = CHATML):
    """Processor inputs and labels (-100 outside the assistant answer) for one minibatch of ``examples``."""
    import torch

    texts, answers, audios = [], [], []
    end = chat.split('{answer}')[1]
    for ex in examples:
        user = '<|audio_bos|><|AUDIO|><|audio_eos|>' if ex.audio else ex.user
        texts.append(chat.format(system=ex.system, user=user, answer=ex.answer))
        answers.append(len(processor.tokenizer.encode(ex.answer + end, add_special_tokens=False)))
        if ex.audio:
            audios.append(waveforms[ex.audio])
    batch = processor(text=texts, audio=audios or None, padding=True, return_tensors='pt')
    labels = torch.full_like(batch['input_ids'], -100)
    for i, n_answer in enumerate(answers):
        positions = batch['attention_mask'][i].nonzero().flatten()[-n_answer:]
        labels[i, positions] = batch['input_ids'][i, positions]
    keys = ('input_ids', 'attention_mask') + (('input_features', 'feature_attention_mask') if audios else ())
    return {k: batch[k] for k in keys}, labels
