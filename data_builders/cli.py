"""``swift-tars build-data {mmlu,voicebench,upstream,librispeech}``: public sources -> ms-swift-ready row-format data
(``librispeech``: ASR rows for ``swift-tars eval --task asr``; ``voicebench --subset sd-qa``: open rows for
``swift-tars eval --task open``).

Every builder writes ``<out>/<name>.jsonl`` (rows), ``<out>/wav/`` (16 kHz mono wavs),
``<out>/<name>.manifest.json`` (counts, filters, voices, durations) and a dataset card, shows a
progress bar, runs workers in parallel and resumes after being killed (rerun the same command).
"""
import argparse
import sys
from typing import List

from data_builders import librispeech, mmlu, upstream, voicebench
from data_builders.pipeline import BuildError
from data_builders.tts import TTSError
from swift_tars.data.rows import RowError

HELP = ('build ms-swift-ready spoken multiple-choice data (mmlu: TTS; voicebench, upstream: conversion), ASR rows '
        '(librispeech) or open rows (voicebench --subset sd-qa)')


def _common(p: argparse.ArgumentParser, *, name_help: str, prompt: bool = True) -> None:
    g = p.add_argument_group('output and run')
    g.add_argument('--out', required=True, help='output folder (rows jsonl, wav/, manifest)')
    g.add_argument('--name', help=name_help)
    g.add_argument('--workers', type=int, default=2, help='parallel workers (threads; default 2)')
    g.add_argument('--limit', type=int, help='convert only the first N source rows')
    g.add_argument('--skip-invalid', action='store_true',
                   help='count and skip invalid rows (listed in the manifest) instead of stopping at the first')
    g.add_argument('--overwrite', action='store_true',
                   help='rebuild from scratch (needed when settings changed); cached wavs are reused')
    g.add_argument('--no-progress', action='store_true', help='no progress bar')
    if not prompt:
        return
    s = p.add_argument_group('prompt')
    s.add_argument('--system', help='system prompt of every row (default: the TARS think prompt)')
    s.add_argument('--system-file', help='read the system prompt from this file')


def _exclude(p: argparse.ArgumentParser) -> None:
    p.add_argument('--exclude', nargs='+', metavar='EVAL', default=[],
                   help='eval sets (jsonl, e.g. the output of `build-data voicebench`, or save_to_disk folders): '
                   'training questions whose normalised text matches one of theirs are dropped and counted')


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest='builder', required=True, metavar='BUILDER')

    p = sub.add_parser('mmlu', help='MMLU auxiliary_train or a local multiple-choice jsonl -> spoken training rows',
                       description='Blank rewriting, length filter, decontamination, TTS of question + options.')
    p.add_argument('--source', help='hub id (default cais/mmlu), save_to_disk folder, data file, or a local jsonl '
                   'with question, options (or choices), answer (letter/index/text) or answer_index, and optional '
                   'question_id, subject')
    p.add_argument('--subset', default='all', help='hub config (default: all)')
    p.add_argument('--split', default='auxiliary_train', help='split (default: auxiliary_train)')
    p.add_argument('--id-prefix', help='question ids for rows without one: PREFIX@<n> (default: mmlu, or the jsonl '
                   'file stem)')
    p.add_argument('--num-options', type=int, default=4, help='required option count (0: any; default 4)')
    p.add_argument('--max-chars', type=int, default=2000, help='drop text prompts longer than this (default 2000; '
                   '0: no limit)')
    t = p.add_argument_group('speech synthesis')
    t.add_argument('--tts', default='espeak', help='TTS backend: espeak (offline default) or cosyvoice')
    t.add_argument('--tts-option', action='append', metavar='KEY=VALUE',
                   help='backend option, repeatable (espeak: voices=en-us,en-gb rates=150,170 pitches=40,60; '
                   'cosyvoice: server_sample_rate=22050 speed=1.0 seed=0)')
    t.add_argument('--language', choices=['auto'],
                   help='auto: each row spoken by an espeak-ng voice that reads its script (Han -> cmn, Cyrillic -> '
                   'ru, kana -> ja, ...; rows the --tts-option voices read keep them). Without it every row uses the '
                   'configured voices, and rows in a script they cannot read stop the build before any audio is made '
                   '(cosyvoice: rows are only checked)')
    t.add_argument('--cosyvoice-model', help='CosyVoice2 model folder (with the cosyvoice package installed)')
    t.add_argument('--cosyvoice-url', help='URL of a running CosyVoice FastAPI server')
    t.add_argument('--speaker-prompts', help='folder of reference clips with .txt transcripts (cosyvoice)')
    q = p.add_argument_group('ASR quality control (off by default)')
    q.add_argument('--asr', default='none', help='none, faster-whisper or transformers')
    q.add_argument('--asr-model', help='ASR model (faster-whisper size like "medium", or a local folder)')
    q.add_argument('--max-wer', type=float, default=0.10, help='drop rows whose best take has a higher WER (0.10)')
    q.add_argument('--target-wer', type=float, default=0.05, help='stop retrying at this WER (0.05)')
    q.add_argument('--tts-takes', type=int, default=3, help='takes synthesised at most per row (3)')
    _exclude(p)
    _common(p, name_help='output name: <out>/<name>.jsonl (default: train)')

    p = sub.add_parser('voicebench', help='VoiceBench MMSU / OpenBookQA -> eval rows; SD-QA -> open rows',
                       description='hlt-lab/voicebench -> row format: text_query = prompt verbatim, options parsed '
                       'robustly, gold from reference, audio resampled to 16 kHz wavs. sd-qa: open rows (question '
                       'text, reference answer, accent) instead.')
    p.add_argument('--subset', required=True, choices=['mmsu', 'openbookqa', 'sd-qa'],
                   help='VoiceBench config; mmsu, openbookqa: multiple-choice rows; sd-qa: open rows (accented '
                   'spoken questions with free-form reference answers) for `swift-tars eval --task open`, which '
                   'reports accuracy per accent (open rows carry no system prompt: --system does not apply)')
    p.add_argument('--source', help='hub id (default hlt-lab/voicebench) or a save_to_disk folder')
    p.add_argument('--split', action='append', help='split(s) (default: all 12 MMSU domains / test / all 11 sd-qa '
                   'accents aus, gbr, ind_n, ind_s, irl, kenya, nga, nzl, phl, usa, zaf; every split of a local '
                   'folder)')
    _common(p, name_help='output name (default: the subset)')

    p = sub.add_parser('upstream', help='the released TARS training set -> training rows',
                       description='yuantuo666/MMLU_FULL-full_train_hf_format.merged.v1 (hub id or save_to_disk '
                       'folder) -> row format: text_query = prompt_for_tts verbatim, audio resampled to 16 kHz.')
    p.add_argument('--source', help='hub id (default: the released set) or a save_to_disk folder')
    p.add_argument('--subset', help='hub config (default: none)')
    p.add_argument('--split', action='append', help='split(s) (default: train; every split of a local folder)')
    _exclude(p)
    _common(p, name_help='output name (default: train)')
    _librispeech(sub)


def _librispeech(sub) -> None:
    p = sub.add_parser('librispeech', help='LibriSpeech -> ASR rows (audio, transcript) for eval --task asr',
                       description='openslr/librispeech_asr (hub id, or a local save_to_disk / data folder shaped '
                       'like it: audio, text, id, speaker_id, chapter_id) -> ASR rows, audio as 16 kHz wavs.')
    p.add_argument('--source', help=f'hub id (default {librispeech.HUB_ID}) or a local folder')
    p.add_argument('--subset', choices=librispeech.CONFIGS, help='hub config (default: clean)')
    p.add_argument('--split', action='append', help='split(s) (default: test, i.e. test-clean; every split of a '
                   'local folder)')
    _common(p, name_help='output name (default: <split>-<config>, e.g. test-clean)', prompt=False)


def parse(argv: List[str]) -> argparse.Namespace:
    """Parses ``build-data`` arguments (without the ``build-data`` word) for programmatic use."""
    parser = argparse.ArgumentParser(prog='swift-tars build-data')
    add_arguments(parser)
    return parser.parse_args(argv)


# Failures caused by the user's input or settings: printed as one line, never as a traceback.
USER_ERRORS = (BuildError, RowError, TTSError, FileNotFoundError, ValueError)


def run(args: argparse.Namespace, log=None):
    """Runs the chosen builder; returns its BuildResult (raises BuildError/RowError on failure)."""
    if args.builder == 'mmlu':
        return mmlu.build(args, log)
    builders = {'voicebench': voicebench.build, 'upstream': upstream.build, 'librispeech': librispeech.build}
    return builders[args.builder](args)


def main(args: argparse.Namespace) -> int:
    try:
        run(args)
    except USER_ERRORS as e:
        print(f'swift-tars build-data {args.builder}: error: {e}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':  # python -m data_builders.cli mmlu ...
    sys.exit(main(parse(sys.argv[1:])))
