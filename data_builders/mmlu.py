"""MMLU ``auxiliary_train`` (or any local multiple-choice jsonl) -> spoken training rows (docs/method.md §2.2).

Steps: blanks rewritten for speech, the TARS text prompt (question, blank line, ``Option X:`` lines),
length filter (default 2,000 characters, as upstream), decontamination against eval sets, TTS of the
question plus options, optional ASR quality control, 16 kHz wavs and row-format jsonl.
"""
import inspect
from pathlib import Path

from data_builders.asr import get_asr
from data_builders.common import finish_spec, read_source, resolve_system
from data_builders.decontaminate import Decontaminator
from data_builders.mcq import parse_mc
from data_builders.pipeline import BuildSpec, SkipRow, Task
from data_builders.speak import Speaker
from data_builders.tts import BACKENDS, get_backend
from swift_tars.data.rows import make_row, validate_row
from swift_tars.prompts import rewrite_blanks, tars_text_prompt

DEFAULT_SOURCE = 'cais/mmlu'
def _value(text: str):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def tts_options(backend_cls, pairs) -> dict:
    """``KEY=VALUE`` strings -> constructor keywords; comma lists (or options whose default is a sequence)
    become lists, numbers become numbers."""
    params = inspect.signature(backend_cls.__init__).parameters
    options = {}
    for pair in pairs or []:
        key, sep, value = pair.partition('=')
        if not sep or key not in params or key == 'self':
            raise ValueError(f'--tts-option {pair!r}: expected KEY=VALUE with KEY one of '
                             f'{", ".join(k for k in params if k != "self")}')
        if ',' in value or isinstance(params[key].default, (list, tuple)):
            options[key] = [_value(v.strip()) for v in value.split(',') if v.strip()]
        else:
            options[key] = _value(value)
    return options


def make_tts(args):
    """The TTS backend chosen by ``--tts`` with its options."""

    if args.tts not in BACKENDS:
        raise ValueError(f'unknown TTS backend {args.tts!r}; available: {", ".join(sorted(BACKENDS))}')
    options = tts_options(BACKENDS[args.tts], args.tts_option)
    if getattr(args, 'language', None) and 'language' in inspect.signature(BACKENDS[args.tts].__init__).parameters:
        options['language'] = args.language  # backends without voices per language (cosyvoice) are only checked
    if args.tts == 'cosyvoice':
        options.update({k: v for k, v in (('model_dir', args.cosyvoice_model), ('server_url', args.cosyvoice_url),
                                          ('prompts_dir', args.speaker_prompts)) if v})
    return get_backend(args.tts, **options)


def _speaker(args, out: Path, num_options) -> Speaker:
    """The TTS backend of ``--tts`` with the ASR quality control of ``--asr``, writing under ``out/wav``."""
    asr = None
    if args.asr != 'none':
        asr = get_asr(args.asr, **({'model': args.asr_model} if args.asr_model else {}))
    return Speaker(make_tts(args), out / 'wav', asr=asr, max_wer=args.max_wer, target_wer=args.target_wer,
                   takes=args.tts_takes, num_options=num_options or 0)


def _spoken_rows(records, spoken_fields, decon):
    """``(question_id, where, text_query)`` of every source row the build would speak, for the script check
    made before any audio; rows the build rejects or skips are left to it (it reports them with their row)."""
    for record in records:
        try:
            if isinstance(record.data, Exception):
                continue
            fields = spoken_fields(record)
        except Exception:  # invalid or too long: reported or counted by the build itself
            continue
        if not decon.match(fields['question'], fields['spoken_question']):
            yield fields['question_id'], record.where, fields['text_query']


def build(args, log=None):
    """``swift-tars build-data mmlu``."""

    system = resolve_system(args)
    num_options = args.num_options or None
    out = Path(args.out)
    speaker = _speaker(args, out, num_options)
    decon = Decontaminator.from_paths(args.exclude)
    source = args.source or DEFAULT_SOURCE
    read = dict(config=args.subset, splits=[args.split], limit=args.limit)
    records, total, local = read_source(source, **read)
    jsonl = local and Path(source).suffix in ('.jsonl', '.json')
    id_prefix = args.id_prefix or (Path(source).stem if jsonl else 'mmlu')
    mmlu = not jsonl and (args.split == 'auxiliary_train' or 'mmlu' in str(source).lower())
    default_source = f'mmlu_{args.split}' if mmlu else None

    def spoken_fields(record) -> dict:
        fields = parse_mc(record.data, record.where, index=record.index, id_prefix=id_prefix,
                          num_options=num_options, source=default_source)
        spoken_question = rewrite_blanks(fields['question'])
        text_query = tars_text_prompt(spoken_question, fields['options'])
        if args.max_chars and len(text_query) > args.max_chars:
            raise SkipRow('too_long', f'{len(text_query)} characters > --max-chars {args.max_chars}')
        return {**fields, 'spoken_question': spoken_question, 'text_query': text_query}

    def prepare(record) -> Task:
        fields = spoken_fields(record)
        hit = decon.match(fields['question'], fields['spoken_question'])
        if hit:
            decon.dropped[hit] += 1
            raise SkipRow('contaminated', f'question_id={fields["question_id"]!r} matches eval set {hit}')
        return Task(fields['question_id'], record.where, fields)

    def work(task: Task):
        f = task.payload
        path, meta = speaker.speak(task.question_id, f['text_query'])
        row = make_row(audio=path, text_query=f['text_query'], solution=f['solution'], question_id=f['question_id'],
                       options=f['options'], system=system, question=f['question'], subject=f['subject'],
                       source=f['source'])
        validate_row(row, task.where, num_options=num_options)
        return row, meta

    # before any audio: rows in a script their voice cannot read stop here, all of them named
    scripts = speaker.check_scripts(_spoken_rows(read_source(source, **read)[0], spoken_fields, decon))
    settings = {
        'source': str(Path(source).resolve()) if local else source, 'subset': None if jsonl else args.subset,
        'split': None if jsonl else args.split, 'id_prefix': id_prefix, 'limit': args.limit, 'num_options': num_options,
        'blank_rewriting': 'upstream (docs/method.md §2.2 step 2)', 'max_chars': args.max_chars,
        'system': system, **speaker.settings(), 'exclude': decon.settings(),
    }
    report = {'script_check': {'rows_checked': sum(scripts.values()), 'rows_per_script': scripts}}
    spec = BuildSpec(builder='mmlu', out_dir=out, name=args.name or 'train', settings=settings, records=records,
                     prepare=prepare, work=work, total=total,
                     report=lambda: {**report, **({'decontamination': decon.report()} if decon.eval_sets else {})},
                     row_report=speaker.report)
    return finish_spec(spec, args, log)
