"""Conversion of datasets that already have audio (upstream release, VoiceBench): fields + 16 kHz wav."""
from pathlib import Path
from typing import Callable

from data_builders.common import finish_spec, read_source, resolve_system
from data_builders.decontaminate import Decontaminator
from data_builders.pipeline import BuildSpec, SkipRow, Task
from data_builders.sources import Record, is_local
from swift_tars.data.rows import make_row, validate_row
from swift_tars.data.upstream import HUB_ID as UPSTREAM_ID
from swift_tars.data.voicebench import HUB_ID as VOICEBENCH_ID
from swift_tars.data.wavcache import store_audio


def convert_audio_dataset(args, *, builder: str, hf_config, default_splits, fields: Callable[[Record], dict],
                          default_name: str, log=None):
    """Runs one conversion build: ``fields(record)`` gives the text fields, the row's ``audio`` column
    becomes a content-addressed wav under ``<out>/wav``; ``--exclude`` drops contaminated questions.
    Splits: ``--split`` if given, else every split of a local source, else ``default_splits`` on the hub."""

    system = resolve_system(args)
    out = Path(args.out)
    decon = Decontaminator.from_paths(getattr(args, 'exclude', None))
    source = args.source or {'upstream': UPSTREAM_ID, 'voicebench': VOICEBENCH_ID}[builder]
    splits = args.split or (None if is_local(source) else list(default_splits))
    records, total, local = read_source(source, config=hf_config, splits=splits, limit=args.limit)
    wav_dir = out / 'wav'
    base_dir = (Path(source) if Path(source).is_dir() else Path(source).parent) if local else None

    def prepare(record: Record) -> Task:
        f = fields(record)
        hit = decon.match(f['question'])
        if hit:
            decon.dropped[hit] += 1
            raise SkipRow('contaminated', f'question_id={f["question_id"]!r} matches eval set {hit}')
        audio = record.data.get('audio', record.data.get('audios'))
        return Task(f['question_id'], record.where, (f, audio))

    def work(task: Task):
        f, audio = task.payload
        at = f'{task.where} (question_id={task.question_id!r})'
        path, duration = store_audio(audio, wav_dir, where=at, base_dir=base_dir)
        row = make_row(audio=path, system=system, **f)
        validate_row(row, task.where)
        return row, {'duration_s': duration}

    settings = {'source': str(Path(source).resolve()) if local else source, 'config': hf_config,
                'splits': list(splits) if splits else None, 'limit': args.limit, 'system': system,
                'exclude': decon.settings()}
    spec = BuildSpec(builder=builder, out_dir=out, name=args.name or default_name, settings=settings,
                     records=records, prepare=prepare, work=work, total=total,
                     report=lambda: {'decontamination': decon.report()} if decon.eval_sets else {})
    return finish_spec(spec, args, log)
