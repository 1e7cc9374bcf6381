"""``swift-tars build-data voicebench``: a VoiceBench config -> eval jsonl + 16 kHz wavs. MMSU and OpenBookQA
give multiple-choice rows; SD-QA (``--subset sd-qa``: real accented speech, one split per accent) gives open rows
(:mod:`swift_tars.data.open_rows`) for ``swift-tars eval --task open``. The schema (hub id, splits, prompt parsing)
lives in :mod:`swift_tars.data.voicebench`."""
from pathlib import Path

from data_builders.common import finish_spec, read_source, wav_row_work
from data_builders.convert import convert_audio_dataset
from data_builders.pipeline import BuildSpec, Task
from data_builders.sources import Record, is_local
from swift_tars.data.open_rows import make_open_row, validate_open_row
from swift_tars.data.voicebench import CONFIGS, HUB_ID, SDQA_CONFIG, SDQA_SPLITS, SPLITS, sdqa_fields, voicebench_fields


def build(args):
    """``swift-tars build-data voicebench``: VoiceBench config -> eval jsonl + 16 kHz wavs."""
    if args.subset == SDQA_CONFIG:
        return build_sdqa(args)
    if args.subset not in CONFIGS:
        raise SystemExit(f'--subset must be one of {", ".join(CONFIGS + (SDQA_CONFIG, ))}')

    def fields(record):
        return voicebench_fields(record.data, index=record.index, where=record.where, config=args.subset,
                                 split=record.split)

    return convert_audio_dataset(args, builder='voicebench', hf_config=args.subset, default_splits=SPLITS[args.subset],
                                 fields=fields, default_name=args.subset)


def build_sdqa(args, log=None):
    """``swift-tars build-data voicebench --subset sd-qa``: open rows (question text, reference answer, accent)
    + one content-addressed 16 kHz wav per row. Splits: ``--split``, else every split of a local folder, else all
    11 accents on the hub. Resumable like every build (rerun the same command)."""
    out = Path(args.out)
    source = args.source or HUB_ID
    splits = args.split or (None if is_local(source) else list(SDQA_SPLITS))
    records, total, local = read_source(source, config=SDQA_CONFIG, splits=splits, limit=args.limit)
    base_dir = (Path(source) if Path(source).is_dir() else Path(source).parent) if local else None
    wav_dir = out / 'wav'

    def prepare(record: Record) -> Task:
        fields = sdqa_fields(record.data, index=record.index, where=record.where, split=record.split or 'test')
        return Task(fields['question_id'], record.where, (fields, record.data.get('audio')))

    work = wav_row_work(wav_dir, base_dir, make_open_row, validate_open_row)

    settings = {'source': str(Path(source).resolve()) if local else source, 'config': SDQA_CONFIG,
                'splits': list(splits) if splits else None, 'limit': args.limit, 'row_format': 'open'}
    spec = BuildSpec(builder='voicebench', out_dir=out, name=args.name or SDQA_CONFIG, settings=settings,
                     records=records, prepare=prepare, work=work, total=total)
    return finish_spec(spec, args, log)
