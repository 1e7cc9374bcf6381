"""``swift-tars build-data voicebench``: a VoiceBench config (MMSU, OpenBookQA) -> row-format eval jsonl
+ 16 kHz wavs. The schema (hub id, splits, prompt parsing) lives in :mod:`swift_tars.data.voicebench`."""
from data_builders.convert import convert_audio_dataset
from swift_tars.data.voicebench import CONFIGS, SPLITS, voicebench_fields


def build(args):
    """``swift-tars build-data voicebench``: VoiceBench config -> eval jsonl + 16 kHz wavs."""
    if args.subset not in CONFIGS:
        raise SystemExit(f'--subset must be one of {", ".join(CONFIGS)}')

    def fields(record):
        return voicebench_fields(record.data, index=record.index, where=record.where, config=args.subset,
                                 split=record.split)

    return convert_audio_dataset(args, builder='voicebench', hf_config=args.subset, default_splits=SPLITS[args.subset],
                                 fields=fields, default_name=args.subset)
