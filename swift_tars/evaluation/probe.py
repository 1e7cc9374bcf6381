"""Teacher-forced speech/text hidden states of one model (the paper's Fig. 2 probe, docs/method.md §10, §14.2).

For one eval row and one answer text, the speech request (``SYSTEM_THINK`` + audio) and the text request
(``SYSTEM_THINK`` + ``text_query``) are each encoded *with the answer as the assistant turn* by the model's
own ms-swift template (training mode, so the labels mark the answer), run through one forward pass, and the
output of every decoder layer is captured with forward hooks (layer i = output of decoder layer i, 1-based;
the last layer is taken before the final norm). The layers are found like the trainer's ``R_rep`` finds
them (:func:`swift_tars.grpo.hidden_states.find_decoder_layers`: ``thinker.model.layers`` for Qwen2.5-Omni,
``model.layers`` for plain LLMs, through a PEFT wrapper).

Positions used (indices into each encoded sequence):

- **answer tokens**: the labelled positions (labels != -100) whose ids are the answer's own tokenisation
  (``tokenizer.encode(answer)``), i.e. the answer without the template's end-of-turn tokens. The speech and
  the text sequence must give the same ids there; an item where they differ is skipped and counted.
- **speech prompt S** (APS): the audio placeholder tokens (``<|AUDIO|>`` for Qwen2.5-Omni) of the speech
  sequence; for a model without an audio token id, the whole span where the speech sequence differs from
  the text one.
- **text prompt T** (APS): the span where the text sequence differs from the speech one: the tokens of the
  ``text_query`` (everything between the shared system/user-header prefix and the shared suffix of
  end-of-turn, assistant header and answer).
"""
import contextlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from swift_tars.evaluation.alignment import best_monotonic_path
from swift_tars.evaluation.eval_sets import build_request
from swift_tars.evaluation.stats import t_intervals


class ProbeError(RuntimeError):
    """The model or template does not fit the probe (no decoder layers found, no labels, ...)."""


def audio_token_id(model) -> Optional[int]:
    """The audio placeholder token id from the model config (``audio_token_index`` / ``audio_token_id``)."""
    config = getattr(model, 'config', None)
    for cfg in (config, getattr(config, 'thinker_config', None)):
        for attr in ('audio_token_index', 'audio_token_id'):
            value = getattr(cfg, attr, None) if cfg is not None else None
            if isinstance(value, int):
                return value
    return None


@contextlib.contextmanager
def template_mode(template, mode: str):
    """Temporarily switch an ms-swift template's mode (``train`` encodes labels)."""
    old = template.mode
    template.set_mode(mode)
    try:
        yield template
    finally:
        template.set_mode(old)


def encode_with_answer(template, request: dict, answer: str) -> dict:
    """ms-swift training-mode encoding of ``request`` + the assistant ``answer`` (input_ids, labels, audio features)."""
    messages = list(request['messages']) + [{'role': 'assistant', 'content': answer}]
    with template_mode(template, 'train'):
        return template.encode({**request, 'messages': messages})


def answer_positions(encoded: dict, answer_ids: Sequence[int]) -> List[int]:
    """Labelled positions of the answer tokens (see the module docstring); all labelled ones if the ids differ."""
    labels, ids = encoded['labels'], encoded['input_ids']
    labelled = [i for i, label in enumerate(labels) if label != -100]
    if not labelled:
        raise ProbeError('the template produced no labelled (answer) tokens')
    head = labelled[:len(answer_ids)]
    return head if [ids[i] for i in head] == list(answer_ids) else labelled


def prompt_spans(speech_ids: Sequence[int], text_ids: Sequence[int],
                 audio_id: Optional[int]) -> Tuple[List[int], List[int]]:
    """(S, T): speech-prompt and text-prompt positions for the APS (see the module docstring)."""
    n_s, n_t = len(speech_ids), len(text_ids)
    p = 0
    while p < min(n_s, n_t) and speech_ids[p] == text_ids[p]:
        p += 1
    s = 0
    while s < min(n_s, n_t) - p and speech_ids[n_s - 1 - s] == text_ids[n_t - 1 - s]:
        s += 1
    speech = list(range(p, n_s - s))
    text = list(range(p, n_t - s))
    if audio_id is not None and any(speech_ids[i] == audio_id for i in speech):
        speech = [i for i in speech if speech_ids[i] == audio_id]
    return speech, text


class LayerCapture:
    """Forward hooks that keep ``hidden[0, positions]`` of every decoder layer during one forward pass."""

    def __init__(self, layers: list) -> None:
        self.layers, self.positions, self.states, self._handles = layers, None, {}, []

    def __enter__(self):
        for index, layer in enumerate(self.layers):
            self._handles.append(layer.register_forward_hook(self._hook(index)))
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    def _hook(self, index: int):

        def hook(module, args, output):
            hidden = output[0] if isinstance(output, (tuple, list)) else output
            self.states[index] = hidden[0, self.positions].detach().float()

        return hook

    def run(self, model, template, encoded: dict, positions: Sequence[int]):
        """One forward pass of ``encoded``; returns the captured states, shape (layers, len(positions), dim)."""
        import torch

        self.positions = torch.as_tensor(list(positions), dtype=torch.long, device=model.device)
        self.states = {}
        if getattr(template, 'use_model', False):
            template.model = model
        with template_mode(template, 'train'), torch.inference_mode():
            batch = template.data_collator([encoded])  # training-mode collation: mrope position ids
            if batch['input_ids'].shape[-1] != len(encoded['input_ids']):
                raise ProbeError('the data collator padded or truncated a single sequence: positions would shift')
            _, kwargs = template.pre_forward_hook(model, None, batch)
            kwargs.pop('labels', None)
            model(**kwargs)
        if len(self.states) != len(self.layers):
            raise ProbeError(f'captured {len(self.states)} of {len(self.layers)} decoder layers')
        return torch.stack([self.states[i] for i in range(len(self.layers))])


@dataclass
class ItemResult:
    """Per-layer answer-token similarity and APS of one question (arrays of shape (layers,))."""
    question_id: str
    answer: str
    n_answer_tokens: int
    n_speech_positions: int
    n_text_positions: int
    similarity: List[float] = field(default_factory=list)
    aps: List[float] = field(default_factory=list)


def layer_measures(speech, text, k: int) -> Tuple[List[float], List[float]]:
    """Per-layer answer similarity and APS from captured states (torch, on the model's device).

    ``speech``: (layers, k + n, dim) = k answer-token states then the n speech-prompt states; ``text``:
    (layers, k + m, dim) likewise with the m text-prompt states. Same numbers as
    :func:`alignment.answer_similarity` and :func:`alignment.alignment_path_score`, with the big cosine
    products on the device and only the (layers, n, m) matrix sent to numpy for the path search.
    """
    import torch.nn.functional as F

    similarity = F.cosine_similarity(speech[:, :k], text[:, :k], dim=-1, eps=1e-12).mean(-1)
    cos = F.normalize(speech[:, k:], dim=-1, eps=1e-12) @ F.normalize(text[:, k:], dim=-1, eps=1e-12).transpose(1, 2)
    aps = best_monotonic_path(cos.double().cpu().numpy()).mean
    return [float(x) for x in similarity.cpu()], [float(x) for x in np.atleast_1d(aps)]


def probe_item(model, template, layers: list, row: dict, answer: str, requests: Dict[str, dict],
               audio_id: Optional[int]) -> Optional[ItemResult]:
    """Both modalities of one row teacher-forced on ``answer``; None if the answer tokenisations differ."""
    answer_ids = template.tokenizer.encode(answer, add_special_tokens=False)
    enc = {mode: encode_with_answer(template, requests[mode], answer) for mode in ('speech', 'text')}
    ans = {mode: answer_positions(enc[mode], answer_ids) for mode in enc}
    ids = {mode: enc[mode]['input_ids'] for mode in enc}
    if [ids['speech'][i] for i in ans['speech']] != [ids['text'][i] for i in ans['text']]:
        return None
    s_pos, t_pos = prompt_spans(ids['speech'], ids['text'], audio_id)
    if not s_pos or not t_pos:
        raise ProbeError(f'row {row.get("question_id")!r}: the speech and text prompts do not differ')
    capture = LayerCapture(layers)
    with capture:
        speech = capture.run(model, template, enc['speech'], ans['speech'] + s_pos)
        text = capture.run(model, template, enc['text'], ans['text'] + t_pos)
    k = len(ans['speech'])
    similarity, aps = layer_measures(speech, text, k)
    return ItemResult(str(row.get('question_id')), answer, k, len(s_pos), len(t_pos), similarity, aps)


def summarize_items(items: Sequence[ItemResult], confidence: float = 0.95) -> dict:
    """Per layer: mean and Student-t interval over items of the similarity and of the APS."""

    out = {}
    for key in ('similarity', 'aps'):
        matrix = np.array([getattr(item, key) for item in items], dtype=np.float64)
        if matrix.size == 0:
            out[key] = {'mean': [], 'ci_low': [], 'ci_high': [], 'mean_over_layers': None}
            continue
        intervals = t_intervals(matrix, confidence)
        out[key] = {'mean': [iv.mean for iv in intervals], 'ci_low': [iv.low for iv in intervals],
                    'ci_high': [iv.high for iv in intervals], 'mean_over_layers': float(matrix.mean())}
    return out


def probe_model(engine, rows: Sequence[dict], answers: Sequence[str], *, progress: bool = True,
                confidence: float = 0.95) -> dict:
    """Runs :func:`probe_item` for every (row, answer) with ``engine``'s model and template; the summary dict."""
    from tqdm import tqdm

    # deferred: torch; the same decoder layers the trainer's R_rep hooks
    from swift_tars.grpo.hidden_states import find_decoder_layers

    model, template = engine.model, engine.template
    model.eval()
    layers = list(find_decoder_layers(model))
    audio_id = audio_token_id(model)
    items, skipped = [], {'answer_tokenisation_differs': 0, 'empty_answer': 0}
    for row, answer in tqdm(list(zip(rows, answers)), desc='swift-tars probe', unit='q', disable=not progress):
        if not answer.strip():
            skipped['empty_answer'] += 1
            continue
        requests = {mode: build_request(row, mode) for mode in ('speech', 'text')}
        item = probe_item(model, template, layers, row, answer, requests, audio_id)
        if item is None:
            skipped['answer_tokenisation_differs'] += 1
        else:
            items.append(item)
    return {'layers': list(range(1, len(layers) + 1)), 'n_items': len(items),
            'n_requested': len(rows), 'skipped': skipped, 'confidence': confidence,
            **summarize_items(items, confidence), 'items': [item.__dict__ for item in items]}
