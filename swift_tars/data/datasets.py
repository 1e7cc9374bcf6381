"""ms-swift dataset registration: ``--dataset tars-mmlu-speech`` / ``tars-voicebench-mmsu`` / ``tars-voicebench-obqa``.

:class:`TarsOmniPreprocessor` turns rows of the released upstream schema (``question``, ``options``,
``answer_index``, ``prompt_for_tts``, HF ``Audio``, ``key``/``question_id``) and VoiceBench rows
(``prompt``, ``reference``, ``audio``, …) into the swift-tars row format (``rows.py``); rows already in
the row format pass through after :func:`~swift_tars.data.rows.validate_row`. Audio is resampled to 16 kHz
once and written to a content-addressed wav cache (``$TARS_AUDIO_CACHE``, default
``~/.cache/swift_tars/wav``), so reruns write no duplicate files. The system prompt is the TARS think
prompt unless ``$TARS_SYSTEM_PROMPT`` is set.

The registered datasets live on the Hugging Face hub only; their loader reads them from there even
when ``USE_HF`` is unset. Delete the wav cache together with ms-swift's dataset map cache.

:func:`install_row_checks` (called by the plugin) makes ``swift rlhf`` check every dataset before the first
generation (:mod:`swift_tars.data.row_checks`): local row files before ms-swift reads them, loaded rows after.
It wraps ``RLHFArguments.load_dataset`` (``BaseArguments.load_dataset`` in ms-swift 4.6.0, called by
``SwiftSft._get_dataset``), an ms-swift internal listed with the other private hooks in
``swift_tars/grpo/trainer.py`` and checked by ``tests/test_swift_hooks.py``.
"""
from pathlib import Path
from typing import Any, Dict, List, Optional

from swift.dataset import DatasetMeta, SubsetDataset, register_dataset
from swift.dataset.loader import DatasetLoader
from swift.dataset.preprocessor import AutoPreprocessor, RowPreprocessor

from swift_tars.config import TarsConfig
from swift_tars.data.row_checks import (
    InvalidRowsError,
    RowProblem,
    check_loaded,
    local_files,
    prepare_specs,
    record_skipped,
)
from swift_tars.data.rows import AUDIOS, MESSAGES, TEXT_QUERY, RowError, make_row, validate_row
from swift_tars.data.upstream import HUB_ID as UPSTREAM_ID
from swift_tars.data.upstream import upstream_fields
from swift_tars.data.voicebench import HUB_ID as VOICEBENCH_ID
from swift_tars.data.voicebench import SPLITS, voicebench_fields
from swift_tars.data.wavcache import store_audio, undecoded_audio

UPSTREAM, VOICEBENCH, ROWS = 'upstream', 'voicebench', 'rows'
INDEX_COLUMN = '__tars_index'  # row position within its split (OBQA keys are obqa_<index>)


def audio_cache_dir() -> Path:
    """Where converted wavs are cached: ``$TARS_AUDIO_CACHE`` or ``$XDG_CACHE_HOME/swift_tars/wav``."""
    return Path(TarsConfig.from_env().audio_cache)


def detect_schema(row: Dict[str, Any]) -> str:
    """``'rows'`` (row format), ``'upstream'`` or ``'voicebench'``; a :class:`RowError` for anything else."""
    if MESSAGES in row and TEXT_QUERY in row:
        return ROWS
    if 'prompt_for_tts' in row:
        return UPSTREAM
    if 'prompt' in row and 'reference' in row:
        return VOICEBENCH
    raise RowError(f'unrecognised row with columns {sorted(k for k in row if not k.startswith("__"))}: expected '
                   'the swift-tars row format, the upstream schema (prompt_for_tts, options, answer_index, audio) '
                   'or VoiceBench (prompt, reference, audio)')


class TarsOmniPreprocessor(RowPreprocessor):
    """Upstream / VoiceBench / row-format rows -> row format with a cached 16 kHz wav (see module doc).

    ``schema``: force ``'upstream'``, ``'voicebench'`` or ``'rows'`` (default: detected per row);
    ``voicebench_config``: ``'mmsu'`` or ``'openbookqa'`` (default: inferred from the columns);
    ``label``: names the dataset in error messages.
    """

    def __init__(self, *, schema: Optional[str] = None, voicebench_config: Optional[str] = None,
                 label: str = 'dataset', num_options: Optional[int] = 4, **kwargs):
        super().__init__(**kwargs)
        self.schema, self.voicebench_config = schema, voicebench_config
        self.label, self.num_options = label, num_options
        self.system: Optional[str] = None
        self.cache_dir: Optional[str] = None

    def __call__(self, dataset, **kwargs):
        # read the environment now, so that it is part of the fingerprint of ms-swift's map cache
        config = TarsConfig.from_env()
        self.system, self.cache_dir = config.system_prompt, str(audio_cache_dir())
        converted = super().__call__(dataset, **kwargs)
        lost = len(dataset) - len(converted) if hasattr(converted, '__len__') and hasattr(dataset, '__len__') else 0
        if lost > 0 and not config.skip_invalid:  # ms-swift (strict=False) logged each row's error and dropped it
            raise InvalidRowsError([RowProblem(self.label, None, None, f'{lost} row(s) could not be converted; '
                                               'the log above names each row and its error')], len(dataset))
        if lost > 0:
            record_skipped(self.label, lost)
        return converted

    def prepare_dataset(self, dataset):
        dataset = undecoded_audio(dataset, ('audio', AUDIOS))  # bytes + path: no decoder needed
        if INDEX_COLUMN not in (dataset.features or {}):
            dataset = dataset.map(lambda _, i: {INDEX_COLUMN: i}, with_indices=True)
        return dataset

    def preprocess(self, row: Dict[str, Any]) -> Optional[Dict[str, Any]]:

        index = row.pop(INDEX_COLUMN, None)
        where = f'{self.label} row {index}'
        schema = self.schema or detect_schema(row)
        if schema == ROWS:
            validate_row(row, where, num_options=self.num_options)
            return row
        if schema == UPSTREAM:
            fields = upstream_fields(row, where=where, num_options=self.num_options)
        elif schema == VOICEBENCH:
            fields = voicebench_fields(row, index=index, where=where, config=self.voicebench_config,
                                       num_options=self.num_options)
        else:
            raise ValueError(f'unknown schema {schema!r}')
        audio = row.get('audio', row.get(AUDIOS))
        at = f'{where} (question_id={fields["question_id"]!r})'
        path, _ = store_audio(audio, self.cache_dir or audio_cache_dir(), where=at)
        return make_row(audio=path, system=self.system, **fields)


class HubDatasetLoader(DatasetLoader):
    """Loads a registered hub-only dataset from the Hugging Face hub even when ``USE_HF`` is unset
    (ms-swift would otherwise look for a ModelScope id the dataset does not have)."""

    def load(self, dataset_syntax=None, dataset_meta=None, *, use_hf=None):
        if (dataset_syntax is not None and dataset_meta is not None and dataset_syntax.dataset is None
                and dataset_meta.hf_dataset_id):
            dataset_syntax.dataset = dataset_meta.hf_dataset_id
            use_hf = True
        return super().load(dataset_syntax, dataset_meta, use_hf=use_hf)


def dataset_metas() -> List[DatasetMeta]:
    """The swift-tars datasets: the upstream training set and the two VoiceBench eval sets."""

    return [
        DatasetMeta(
            dataset_name='tars-mmlu-speech', hf_dataset_id=UPSTREAM_ID, split=['train'], loader=HubDatasetLoader,
            preprocess_func=TarsOmniPreprocessor(schema=UPSTREAM, label='tars-mmlu-speech'),
            tags=['audio', 'multiple-choice', 'grpo', 'tars'],
            help='TARS training set (MMLU auxiliary_train spoken by CosyVoice2), as swift-tars rows with 16 kHz wavs'),
        # The VoiceBench converter is attached to our subsets only: other VoiceBench configs loaded by hub id
        # keep ms-swift's default preprocessing.
        DatasetMeta(
            dataset_name='tars-voicebench-mmsu', hf_dataset_id=VOICEBENCH_ID, loader=HubDatasetLoader,
            subsets=[SubsetDataset(name='mmsu', subset='mmsu', split=list(SPLITS['mmsu']),
                                   preprocess_func=TarsOmniPreprocessor(schema=VOICEBENCH, voicebench_config='mmsu',
                                                                        label='tars-voicebench-mmsu'))],
            preprocess_func=AutoPreprocessor(), tags=['audio', 'multiple-choice', 'eval', 'tars'],
            help='VoiceBench MMSU (12 domain splits, 3,074 questions) as swift-tars rows'),
        DatasetMeta(
            dataset_name='tars-voicebench-obqa', hf_dataset_id=VOICEBENCH_ID, loader=HubDatasetLoader,
            subsets=[SubsetDataset(name='openbookqa', subset='openbookqa', split=list(SPLITS['openbookqa']),
                                   preprocess_func=TarsOmniPreprocessor(schema=VOICEBENCH,
                                                                        voicebench_config='openbookqa',
                                                                        label='tars-voicebench-obqa'))],
            preprocess_func=AutoPreprocessor(), tags=['audio', 'multiple-choice', 'eval', 'tars'],
            help='VoiceBench OpenBookQA (test split, 455 questions) as swift-tars rows'),
    ]


def register_datasets() -> List[DatasetMeta]:
    """Registers the swift-tars datasets in ms-swift (idempotent); returns their metas."""
    metas = dataset_metas()
    for meta in metas:
        register_dataset(meta, exist_ok=True)
    return metas


def _checked_load_dataset(load_dataset):
    """``RLHFArguments.load_dataset`` with the row checks of :mod:`swift_tars.data.row_checks` around it."""

    def checked(self):
        skip = TarsConfig.from_env().skip_invalid
        self.dataset = prepare_specs(list(self.dataset or []), skip=skip)
        self.val_dataset = prepare_specs(list(self.val_dataset or []), skip=skip)
        checked_sources = [p for spec in list(self.dataset) + list(self.val_dataset) if local_files(spec)
                           for p in [spec, spec.rsplit('#', 1)[0], spec.split(':', 1)[0]] + local_files(spec)]
        train, val = load_dataset(self)
        return (check_loaded(train, skip=skip, checked_sources=checked_sources, split='train'),
                check_loaded(val, skip=skip, checked_sources=checked_sources, split='val'))

    checked.tars_row_checks = True
    return checked


def install_row_checks() -> None:
    """Makes ``swift rlhf`` check its datasets before the first generation (idempotent)."""
    from swift.arguments import RLHFArguments

    if not getattr(RLHFArguments.load_dataset, 'tars_row_checks', False):
        RLHFArguments.load_dataset = _checked_load_dataset(RLHFArguments.load_dataset)
