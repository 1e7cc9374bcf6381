"""The registered dataset names resolve in ms-swift (no download: the hub call is replaced by local fixtures),
and the Omni preprocessor turns upstream / VoiceBench / row-format rows into cached 16 kHz rows."""
import json

import pytest
import soundfile as sf

from swift_tars.testing.data import upstream_rows, voicebench_prompt, wav_bytes

NAMES = {
    'tars-mmlu-speech': ('yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1', 'default', ['train']),
    'tars-voicebench-mmsu': ('hlt-lab/voicebench', 'mmsu', ['law', 'engineering', 'other', 'biology', 'business',
                                                            'economics', 'health', 'philosophy', 'psychology',
                                                            'history', 'chemistry', 'physics']),
    'tars-voicebench-obqa': ('hlt-lab/voicebench', 'openbookqa', ['test']),
}


@pytest.fixture()
def swift_env(tmp_path, monkeypatch):
    """Registered datasets, a private wav cache and map cache, USE_HF unset (ms-swift's default hub)."""
    monkeypatch.setenv('TARS_AUDIO_CACHE', str(tmp_path / 'wav-cache'))
    monkeypatch.setenv('MODELSCOPE_CACHE', str(tmp_path / 'ms-cache'))
    monkeypatch.delenv('USE_HF', raising=False)
    monkeypatch.delenv('TARS_SYSTEM_PROMPT', raising=False)
    from swift_tars.data.datasets import register_datasets
    register_datasets()
    return tmp_path


@pytest.fixture()
def fake_hub(monkeypatch):
    """Replaces the Hugging Face hub download by local datasets; records (dataset_id, subset, split)."""
    import datasets
    from swift.hub.hub import HFHub

    calls, tables = [], {}

    def load(cls, dataset_id, subset_name, split, **kwargs):
        calls.append((dataset_id, subset_name, split))
        columns = tables[(dataset_id, subset_name)](split)
        return datasets.Dataset.from_dict(columns).cast_column('audio', datasets.Audio())

    monkeypatch.setattr(HFHub, 'load_dataset', classmethod(load))
    return calls, tables


def swift_load(name, **kwargs):
    from swift.dataset import load_dataset
    train, _ = load_dataset([name], remove_unused_columns=False, load_from_cache_file=False, **kwargs)
    return train


def test_names_map_to_their_dataset_meta(swift_env):
    from swift.dataset import DATASET_MAPPING

    from swift_tars.data.datasets import HubDatasetLoader, TarsOmniPreprocessor
    for name, (hub_id, subset, splits) in NAMES.items():
        meta = DATASET_MAPPING[name]
        assert meta.hf_dataset_id == hub_id and meta.ms_dataset_id is None and meta.loader is HubDatasetLoader
        (sub, ) = meta.subsets
        assert sub.subset == subset
        resolved = sub.set_default(meta)
        assert list(resolved.split) == splits
        assert isinstance(resolved.preprocess_func, TarsOmniPreprocessor)
    assert DATASET_MAPPING['tars-voicebench-obqa'].subsets[0].preprocess_func.voicebench_config == 'openbookqa'


def test_other_voicebench_configs_keep_the_default_preprocessor(swift_env):
    from swift.dataset.dataset_syntax import DatasetSyntax
    from swift.dataset.loader import DatasetLoader
    from swift.dataset.preprocessor import AutoPreprocessor

    meta = DatasetSyntax.parse('hlt-lab/voicebench:alpacaeval').get_dataset_meta(use_hf=True)
    (subset, ) = DatasetLoader._select_subsets(['alpacaeval'], meta)
    assert subset.subset == 'alpacaeval' and isinstance(subset.preprocess_func, AutoPreprocessor)


def test_voicebench_names_resolve_and_convert(swift_env, fake_hub):
    calls, tables = fake_hub

    def mmsu(split):
        return {'prompt': [voicebench_prompt(f'A {split} question?', ['w', 'x', 'y', 'z'])], 'reference': ['D'],
                'src': [f'ori_mmlu-{split}'], 'question_id': [len(split)], 'category': [split], 'cot_content': [''],
                'audio': [{'bytes': wav_bytes(16000, 0.5, 100 + len(split)), 'path': None}]}

    def obqa(split):
        return {'prompt': [voicebench_prompt(q, ['a', 'b', 'c', 'd']) for q in ('Predators eat', 'Fog forms near')],
                'reference': ['C', 'A'],
                'audio': [{'bytes': wav_bytes(16000, 0.5, f), 'path': None} for f in (300, 310)]}

    tables[('hlt-lab/voicebench', 'mmsu')] = mmsu
    tables[('hlt-lab/voicebench', 'openbookqa')] = obqa
    rows = swift_load('tars-voicebench-mmsu')
    assert calls == [('hlt-lab/voicebench', 'mmsu', s) for s in NAMES['tars-voicebench-mmsu'][2]]
    assert len(rows) == 12 and rows[0]['question_id'] == 'ori_mmlu-law_3' and rows[0]['subject'] == 'law'
    assert rows[11]['solution'] == 'D' and rows[11]['source'] == 'voicebench_mmsu'
    calls.clear()
    rows = swift_load('tars-voicebench-obqa')
    assert calls == [('hlt-lab/voicebench', 'openbookqa', 'test')]
    assert [r['question_id'] for r in rows] == ['obqa_0', 'obqa_1'] and [r['solution'] for r in rows] == ['C', 'A']
    assert rows[1]['messages'][1] == {'role': 'user', 'content': '<audio>'}
    assert rows[1]['text_query'].startswith('Fog forms near\nA. a')


def test_upstream_name_resolves_resamples_and_caches(swift_env, fake_hub, monkeypatch):
    calls, tables = fake_hub
    durations = [(24000, 1.0), (44100, 0.5)]
    tables[('yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1', 'default')] = lambda split: upstream_rows(
        [{'bytes': wav_bytes(sr, s, 150 + i), 'path': f'mmlu@{i + 1}.wav'} for i, (sr, s) in enumerate(durations)])
    monkeypatch.setenv('TARS_SYSTEM_PROMPT', 'Answer briefly.')
    rows = swift_load('tars-mmlu-speech')
    assert calls == [('yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1', 'default', 'train')]
    assert [r['question_id'] for r in rows] == ['mmlu@1', 'mmlu@2']
    assert rows[0]['messages'][0] == {'role': 'system', 'content': 'Answer briefly.'}
    assert rows[0]['text_query'].endswith('Option D: south 0') and rows[1]['solution'] == 'B'
    for row, (sr, seconds) in zip(rows, durations):
        info = sf.info(row['audios'][0])
        assert row['audios'][0].startswith(str(swift_env / 'wav-cache'))
        assert info.samplerate == 16000 and abs(info.frames - 16000 * seconds) <= 1
    again = swift_load('tars-mmlu-speech')
    assert [r['audios'] for r in again] == [r['audios'] for r in rows]
    assert len(list((swift_env / 'wav-cache').rglob('*.wav'))) == 2  # no duplicate files on rerun


def test_preprocessor_errors_name_the_row(swift_env, fake_hub, monkeypatch):
    from swift_tars.data.rows import RowError
    calls, tables = fake_hub
    tables[('hlt-lab/voicebench', 'openbookqa')] = lambda split: {
        'prompt': [voicebench_prompt('Good?', ['a', 'b', 'c', 'd']), voicebench_prompt('Bad?', ['a', 'b', 'c'])],
        'reference': ['A', 'A'], 'audio': [{'bytes': wav_bytes(16000, 0.2), 'path': None}] * 2}
    from swift_tars.data.row_checks import InvalidRowsError
    with pytest.raises(InvalidRowsError, match=r'tars-voicebench-obqa: 1 row\(s\) could not be converted; the log '
                       'above names each row'):
        swift_load('tars-voicebench-obqa')  # ms-swift logs and drops the bad row; swift-tars stops
    monkeypatch.setenv('TARS_SKIP_INVALID', '1')
    from swift_tars.data.row_checks import _SKIPPED, skipped_summary
    _SKIPPED.clear()
    rows = swift_load('tars-voicebench-obqa')  # TARS_SKIP_INVALID=1: dropped and counted
    assert [r['question_id'] for r in rows] == ['obqa_0']
    assert skipped_summary() == {'rows': 1, 'by_source': {'tars-voicebench-obqa': 1}}
    _SKIPPED.clear()
    with pytest.raises(RowError, match=r"tars-voicebench-obqa row 1 \(question_id='obqa_1'\): wrong option count"):
        swift_load('tars-voicebench-obqa', strict=True)


def test_row_format_dataset_passes_through_and_is_validated(swift_env, demo_dataset):
    import datasets

    from swift_tars.data.datasets import TarsOmniPreprocessor
    rows = [json.loads(line) for line in demo_dataset.read_text().splitlines()[:3]]
    ds = datasets.Dataset.from_list(rows)
    out = TarsOmniPreprocessor()(ds, load_from_cache_file=False)
    assert out['question_id'] == [r['question_id'] for r in rows] and out['audios'] == [r['audios'] for r in rows]
    rows[1]['solution'] = 'F'
    with pytest.raises(Exception, match=r"dataset row 1 \(question_id='demo-01'\): solution 'F' is not among"):
        TarsOmniPreprocessor()(datasets.Dataset.from_list(rows), load_from_cache_file=False, strict=True)


def test_builder_output_folder_loads_as_dataset_in_swift(swift_env, demo_dataset):
    rows = swift_load(str(demo_dataset.parent))
    assert len(rows) == 16 and rows[0]['question_id'] == 'demo-00' and rows[0]['text_query'].startswith('Which')


def test_plugin_registers_the_datasets(monkeypatch):
    from swift.dataset import DATASET_MAPPING
    from swift.utils import import_external_file

    from swift_tars.cli import plugin_path
    for name in NAMES:
        DATASET_MAPPING.pop(name, None)
    import_external_file(plugin_path())
    assert set(NAMES) <= set(DATASET_MAPPING)
