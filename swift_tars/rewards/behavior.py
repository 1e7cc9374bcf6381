"""``tars_behavior``: embedding cosine between a speech completion and the correct text completions of
the same question (docs/method.md §5.4), with a sentence-transformers model (``TARS_EMBEDDING_MODEL``,
default ``Qwen/Qwen3-Embedding-0.6B``).

The embedder is loaded once per process, lazily, outside ZeRO-3 partitioning, on the rank's device.
Each call encodes every completion it needs in one batched ``encode``. Text rollouts get NaN.
"""
import re
from typing import Any, Dict, List, Optional, Tuple

import torch
from swift.rewards import ORM

from swift_tars.config import TarsConfig
from swift_tars.data.rows import SPEECH, TEXT
from swift_tars.grpo.pairing import question_runs, reference_cosines, rollout_groups
from swift_tars.rewards.accuracy import correctness

_TAGS = re.compile(r'</?(?:think|answer)>')
_EMBEDDERS: Dict[Tuple[str, str], Any] = {}  # (model, device) -> SentenceTransformer, one per process


def strip_tags(text: str) -> str:
    """Removes ``<think>``/``<answer>`` tags, keeping what they enclose."""
    return ' '.join(_TAGS.sub(' ', text).split())


def load_embedder(name: str, device: str):
    """The sentence-transformers model ``name`` on ``device``, loaded once per process, never ZeRO-3
    partitioned (swift's ``disable_deepspeed_zero3``)."""
    key = (name, device)
    if key not in _EMBEDDERS:
        from sentence_transformers import SentenceTransformer
        from swift.utils import disable_deepspeed_zero3

        with disable_deepspeed_zero3():
            model = SentenceTransformer(name, device=device)
        model.eval()
        _EMBEDDERS[key] = model
    return _EMBEDDERS[key]


def rank_device(args: Optional[Any] = None) -> str:
    """This process's device: the trainer's when known, else ``cuda:LOCAL_RANK`` or CPU."""
    device = getattr(args, 'device', None)
    if device is not None:
        return str(device)
    if torch.cuda.is_available():
        import os
        return f'cuda:{int(os.environ.get("LOCAL_RANK", 0))}'
    return 'cpu'


class TarsBehavior(ORM):
    """R_beh for speech rollouts; NaN for text rollouts and for questions without a correct text."""

    def __init__(self, args=None, **kwargs):
        super().__init__(args, **kwargs)
        self.config = TarsConfig.from_env()
        self.encode_calls = 0  # one per reward call that needs embeddings (tests check batching)

    def __call__(self, completions: List[str], **kwargs) -> List[float]:
        n = len(completions)
        modalities, question_ids = rollout_groups(kwargs, n, 'tars_behavior')
        correct = correctness(completions, kwargs)
        needed = set()
        for run in question_runs(question_ids, modalities):
            texts = [i for i in run if modalities[i] == TEXT and correct[i] == 1]
            if texts:
                needed.update(texts)
                needed.update(i for i in run if modalities[i] == SPEECH)
        rewards = torch.full((n, ), float('nan'))
        if needed:
            order = sorted(needed)
            strings = [strip_tags(completions[i]) if self.config.strip_tags else completions[i] for i in order]
            model = load_embedder(self.config.embedding_model, rank_device(self.args))
            with torch.no_grad():
                emb = model.encode(
                    strings, batch_size=self.config.embedding_batch_size, convert_to_tensor=True,
                    show_progress_bar=False).float().cpu()
            self.encode_calls += 1
            vectors = torch.zeros((n, 1, emb.shape[-1]))
            vectors[order, 0] = emb
            rewards = reference_cosines(vectors, question_ids, modalities, correct, self.config.reference,
                                        usable=[i in needed for i in range(n)])
        return [None if v != v else float(v) for v in rewards.tolist()]
