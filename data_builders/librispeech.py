"""``swift-tars build-data librispeech``: LibriSpeech (``openslr/librispeech_asr``) -> ASR rows + 16 kHz wavs.

The default is test-clean (config ``clean``, split ``test``: 2,620 utterances), the set ``swift-tars eval --task
asr`` reports WER on. Each source row (``audio``, ``text``, ``id``, ``speaker_id``, ``chapter_id``) becomes an
ASR row (:mod:`swift_tars.data.asr_rows`): the audio, read undecoded from ``datasets`` and converted once to a
content-addressed 16 kHz mono wav, the transcript verbatim (LibriSpeech's upper case, no punctuation; normalised
only when scored) and ``question_id = librispeech-<id>``. Resumable like every build (rerun the same command).
"""
from pathlib import Path

from data_builders.common import finish_spec, read_source, wav_row_work
from data_builders.pipeline import BuildSpec, Task
from data_builders.sources import Record, is_local
from swift_tars.data.asr_rows import make_asr_row, validate_asr_row
from swift_tars.data.rows import RowError

HUB_ID = 'openslr/librispeech_asr'
CONFIGS = ('clean', 'other', 'all')
DEFAULT_CONFIG, DEFAULT_SPLIT = 'clean', 'test'


def librispeech_fields(data, *, where: str, config: str, split: str) -> dict:
    """The ASR-row fields of one LibriSpeech record; :class:`RowError` naming it when ``text`` or ``id`` is
    missing."""
    if not isinstance(data, dict):
        raise RowError(f'{where}: expected a record, got {type(data).__name__}')
    text, uid = data.get('text'), data.get('id')
    if uid in (None, ''):
        raise RowError(f'{where}: no "id" (LibriSpeech names each utterance <speaker>-<chapter>-<n>)')
    qid = f'librispeech-{uid}'
    if not isinstance(text, str) or not text.strip():
        raise RowError(f'{where} (question_id={qid!r}): empty "text" (the reference transcript)')
    return {'question_id': qid, 'transcript': text.strip(), 'speaker_id': data.get('speaker_id'),
            'chapter_id': data.get('chapter_id'), 'source': f'librispeech_{config}_{split}'.replace('.', '_')}


def build(args, log=None):
    """``swift-tars build-data librispeech``."""
    out = Path(args.out)
    source = args.source or HUB_ID
    config = args.subset or DEFAULT_CONFIG
    splits = args.split or (None if is_local(source) else [DEFAULT_SPLIT])
    records, total, local = read_source(source, config=config, splits=splits, limit=args.limit)
    base_dir = (Path(source) if Path(source).is_dir() else Path(source).parent) if local else None
    wav_dir = out / 'wav'

    def prepare(record: Record) -> Task:
        fields = librispeech_fields(record.data, where=record.where, config=config, split=record.split or 'train')
        return Task(fields['question_id'], record.where, (fields, record.data.get('audio')))

    work = wav_row_work(wav_dir, base_dir, make_asr_row, validate_asr_row)

    settings = {'source': str(Path(source).resolve()) if local else source, 'config': config,
                'splits': list(splits) if splits else None, 'limit': args.limit, 'row_format': 'asr'}
    name = args.name or (f'{splits[0]}-{config}' if splits and len(splits) == 1 else f'librispeech-{config}')
    spec = BuildSpec(builder='librispeech', out_dir=out, name=name.replace('.', '-'), settings=settings,
                     records=records, prepare=prepare, work=work, total=total)
    return finish_spec(spec, args, log)
