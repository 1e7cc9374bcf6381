"""``swift-tars build-data upstream``: the released TARS training set -> row-format jsonl + 16 kHz wavs.
The schema lives in :mod:`swift_tars.data.upstream`."""
from data_builders.convert import convert_audio_dataset
from swift_tars.data.upstream import upstream_fields


def build(args):
    """``swift-tars build-data upstream``: released dataset (hub id or ``save_to_disk`` dir) -> jsonl + wavs."""
    def fields(record):
        return upstream_fields(record.data, where=record.where)

    return convert_audio_dataset(args, builder='upstream', hf_config=args.subset, default_splits=['train'],
                                 fields=fields, default_name='train')
