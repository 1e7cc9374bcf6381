"""Benchmark-only ms-swift plugin of ``benchmarks/gpu_check.sh`` (loaded with ``--external_plugins``); it acts only
when its variables are set:

- Writes ``$GPU_CHECK_MEMORY_FILE.<rank>`` at exit: the rank's peak memory as JSON (CUDA: ``max_memory_allocated``
  and ``max_memory_reserved`` of its device; always: the process's peak RSS).
- With ``GPU_CHECK_ANSWER_IDS`` (comma-separated token ids), every generated completion's last tokens before its
  end are overwritten with those ids after ``generate`` has run in full. A random-weight model answers nothing,
  so no text rollout would be correct and TARS would skip its alignment work (no reference to compare with);
  with the answer written in (the benchmark's rows all have the gold letter A) every speech rollout gets both
  alignment rewards, the costliest case. Generation cost and completion lengths stay those of the model.
"""
import atexit
import functools
import json
import os
import resource

import torch
from transformers.generation.utils import GenerationMixin

_generate = GenerationMixin.generate
_depth = [0]


def _answer_ids():
    raw = os.environ.get('GPU_CHECK_ANSWER_IDS', '')
    return [int(i) for i in raw.split(',') if i.strip()]


def write_answer(sequences: torch.Tensor, prompt_length: int, answer, eos_id: int) -> torch.Tensor:
    """Puts ``answer`` at the end of each completion (before its first ``eos_id``, if any, else at the very end)."""
    out = sequences.clone()
    tail = torch.tensor(answer, dtype=out.dtype, device=out.device)
    for row in out:
        completion = row[prompt_length:]
        ends = (completion == eos_id).nonzero()
        end = int(ends[0]) if len(ends) else len(completion)
        start = max(0, end - len(answer))
        completion[start:end] = tail[len(answer) - (end - start):]
    return out


@functools.wraps(_generate)  # keeps the signature that callers inspect
def generate(self, *args, **kwargs):
    _depth[0] += 1
    try:
        output = _generate(self, *args, **kwargs)
    finally:
        _depth[0] -= 1
    answer = _answer_ids()
    if _depth[0] or not answer:
        return output
    inputs = kwargs.get('input_ids', args[0] if args else None)
    prompt_length = 0 if inputs is None else inputs.shape[-1]
    eos = self.generation_config.eos_token_id
    eos = eos[0] if isinstance(eos, (list, tuple)) else eos
    if isinstance(output, torch.Tensor):
        return write_answer(output, prompt_length, answer, eos)
    output.sequences = write_answer(output.sequences, prompt_length, answer, eos)
    return output


def _write_memory():
    path = os.environ['GPU_CHECK_MEMORY_FILE']
    record = {'rank': int(os.environ.get('RANK', '0')), 'device': 'cpu',
              'peak_rss_gib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        device = torch.cuda.current_device()
        record.update(device=torch.cuda.get_device_name(device),
                      max_allocated_gib=torch.cuda.max_memory_allocated(device) / 2**30,
                      max_reserved_gib=torch.cuda.max_memory_reserved(device) / 2**30)
    with open(f'{path}.{record["rank"]}', 'w') as f:
        json.dump(record, f)


# Nothing is patched or registered unless the variables are set (importing it elsewhere changes nothing).
if os.environ.get('GPU_CHECK_ANSWER_IDS'):
    GenerationMixin.generate = generate
if os.environ.get('GPU_CHECK_MEMORY_FILE'):
    atexit.register(_write_memory)
