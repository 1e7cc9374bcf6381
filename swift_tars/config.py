"""The one place that reads ``TARS_*`` environment variables (what ms-swift's CLI cannot carry).

ms-swift rejects unknown CLI flags, so — like its own ``ENABLE_AUDIO_OUTPUT`` or ``SAMPLING_RATE`` —
swift-tars takes its extra settings from the environment. torchrun inherits them; on several nodes
set them on every node. Each variable is validated here with an error that names it and the values
it accepts. ``TARS_VARIABLES`` documents them (the README table is generated from the same text).
"""
import math
import os
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Tuple

DEFAULT_EMBEDDING_MODEL = 'Qwen/Qwen3-Embedding-0.6B'

# The allowed values of each variable with a closed set, with what each means, in the order the docs list
# them: the parser accepts exactly these, its error message lists them and the TARS_VARIABLES text below is
# written from them, so a value cannot be added in one place and missed in another.
LAYER_SETS: Dict[str, str] = {  # TARS_LAYERS (or 1-based ranges); the layers of each set: parse_layers
    'all': '', 'shallow': '', 'middle': '', 'deep': 'thirds of the stack without its last two layers',
    'last': 'last two'}
LAYER_SET_NAMES = tuple(LAYER_SETS)
CHOICES: Dict[str, Dict[str, str]] = {
    'TARS_REFERENCE': {'mean': 'the mean of all correct text rollouts of its question',
                       'round_robin': 'speech k ↔ correct text k mod K, the reference code'},
    'TARS_STRIP_TAGS': {'1': 'remove `<think>`/`<answer>` tags before embedding (ablation)',
                        '0': 'embed the raw completion (paper)'},
    'TARS_EMPTY_POOL': {'neutral': 'the mean of the other speech rollouts of its group, so the term moves no '
                                   'advantage',
                        'penalty': "0.0, the reference code's implicit behaviour"},
    'TARS_TEXT_SCORING': {'paper': 'text rollouts are generated, scored and trained under their own text prompt',
                          'upstream': 'after generation they are put back under the audio prompt for the '
                                      'old-policy pass, the hidden states and the loss, as the reference code does '
                                      '(docs/method.md §12; for reproducing its numbers)'},
    'TARS_GROUP_LAYOUT': {'paired': 'every group alternates speech and text rollouts of its question (TARS)',
                          'speech': 'every rollout is speech-conditioned: plain speech-only GRPO, the baseline of '
                                    'docs/method.md §11 (no text rollouts, so no alignment rewards and no CORD)'},
    'TARS_LOG_REPRESENTATION': {'1': 'capture hidden states and log `tars/representation_cosine` even when '
                                     '`tars_representation` is not a reward (diagnostics)',
                                '0': 'capture only for `tars_representation`'},
    'TARS_SKIP_INVALID': {'0': 'any invalid dataset row stops the run before the first step, with one error listing '
                                'every bad row (file, line, question_id, what is wrong, how to fix it)',
                          '1': 'invalid rows are dropped and counted (logged, and written to `tars_config.json`)'},
    'TARS_ALLOW_CHANGED_CONFIG': {'0': 'a `--resume_from_checkpoint` run stops, naming each difference, when its '
                                       '`TARS_*` settings, `--reward_funcs` or `--num_generations` differ from the '
                                       '`tars_config.json` of the checkpoint\'s run',
                                  '1': 'resume anyway; the differences are logged and the new run records its own '
                                       'settings'},
    'TARS_DISTILL_MODE': {'loss': 'add `coef · mean_t(w_t · KL_t)` to the GRPO loss',
                          'advantage': 'subtract `coef · w_t · KL_t` from the per-token advantages of speech '
                                       'rollouts'},
}
# the spellings of the two values of a flag (TARS_STRIP_TAGS): '1' and '0' in CHOICES
FLAG_SPELLINGS = {'1': ('1', 'true', 'yes', 'on'), '0': ('0', 'false', 'no', 'off', '')}


def allowed_values(name: str) -> Tuple[str, ...]:
    """The values ``name`` accepts (a variable of :data:`CHOICES`), e.g. ``('mean', 'round_robin')``."""
    return tuple(CHOICES[name])


def _values(table: Mapping[str, str]) -> List[str]:
    return [f'`{value}` ({meaning})' if meaning else f'`{value}`' for value, meaning in table.items()]


def _either(name: str) -> str:
    """The values of ``name`` for its docs: ``a`` (what it means) or ``b`` (what it means)."""
    return ' or '.join(_values(CHOICES[name]))


def _cases(name: str) -> str:
    """The values of ``name`` for its docs: ``a``: what it means; ``b``: what it means."""
    return '; '.join(f'`{value}`: {meaning}' for value, meaning in CHOICES[name].items())


# name -> (default, description). Order = README order.
TARS_VARIABLES: Dict[str, Tuple[str, str]] = {
    'TARS_LAYERS': ('all', f'Decoder layers for `tars_representation`: {", ".join(_values(LAYER_SETS))}, or '
                    '1-based ranges such as `11-20` or `1-4,9`.'),
    'TARS_REFERENCE': ('mean', f'Which correct text rollouts a speech rollout is compared with: '
                       f'{_either("TARS_REFERENCE")}.'),
    'TARS_EMBEDDING_MODEL': (DEFAULT_EMBEDDING_MODEL, 'Sentence-transformers model for `tars_behavior` '
                             '(hub id or local path).'),
    'TARS_EMBEDDING_BATCH_SIZE': ('32', 'Batch size of the one `encode` call per step of `tars_behavior`.'),
    'TARS_STRIP_TAGS': ('0', f'{_cases("TARS_STRIP_TAGS")}.'),
    'TARS_EMPTY_POOL': ('neutral', f'Speech rollout with no completion token to pool: {_either("TARS_EMPTY_POOL")}. '
                        'Counted in `tars/empty_pool`.'),
    'TARS_FORMAT_SCORES': ('1.0,0.5,0.0', '`tars_format` scores for strict, loose and no match.'),
    'TARS_TEXT_SCORING': ('paper', f'{_cases("TARS_TEXT_SCORING")}.'),
    'TARS_GROUP_LAYOUT': ('paired', f'{_cases("TARS_GROUP_LAYOUT")}.'),
    'TARS_LOG_REPRESENTATION': ('0', f'{_cases("TARS_LOG_REPRESENTATION")}.'),
    'TARS_DISTILL_COEF': ('0', 'CORD token-level self-distillation of speech rollouts towards the text-conditioned '
                          'policy: coefficient of the term (`0` = off).'),
    'TARS_DISTILL_MODE': ('loss', f'{_cases("TARS_DISTILL_MODE")}.'),
    'TARS_DISTILL_TOPK': ('20', 'Reverse KL over the student\'s top-k tokens (both renormalised there); `0` = exact '
                          'over the vocabulary.'),
    'TARS_DISTILL_TOP_TOKENS': ('20', 'CORD: how many highest-KL tokens of each speech rollout are up-weighted.'),
    'TARS_DISTILL_KL_WEIGHT': ('2', 'CORD: weight of those highest-KL tokens (others 1).'),
    'TARS_DISTILL_POSITION_WEIGHT': ('2', 'CORD: weight of the first completion token, decaying linearly to 1 at the '
                                     'last.'),
    'TARS_DISTILL_CHUNK': ('64', 'Completion positions per chunk when teacher logits are recomputed (memory bound).'),
    'TARS_AGREEMENT_JUDGE': ('extract', '`tars_agreement` judge: `extract` (deterministic letter match with the text '
                             'majority), an OpenAI-compatible base URL (`http://host:port/v1`), or a local model '
                             'path served through ms-swift.'),
    'TARS_AGREEMENT_JUDGE_MODEL': ('', 'Model name sent to an OpenAI-compatible judge endpoint.'),
    'TARS_ACCURACY_JUDGE': ('', '`tars_accuracy` (and so which text rollouts count as correct references for the '
                            'alignment rewards) read by an answer judge in xFinder\'s format instead of the '
                            'deterministic extractor: empty (off), `xfinder` (IAAR-Shanghai/xFinder-qwen1505, loaded '
                            'on every rank), a local model folder or hub id, or an OpenAI-compatible base URL. One '
                            'batched call per step and rank.'),
    'TARS_ACCURACY_JUDGE_MODEL': ('', 'Model name sent to an OpenAI-compatible `TARS_ACCURACY_JUDGE` endpoint.'),
    'TARS_AUDIO_CACHE': ('~/.cache/swift_tars/wav', 'Where registered datasets (`tars-*`) cache their 16 kHz wavs '
                         '(content-addressed; `$XDG_CACHE_HOME` is honoured). Delete it together with ms-swift\'s '
                         'dataset map cache.'),
    'TARS_SKIP_INVALID': ('0', 'Dataset rows are checked before generation (missing or unreadable audio, no '
                          '`text_query`, missing or out-of-range gold, option count, empty file, non-JSON line, a '
                          f'`question_id` reused by another question): {_cases("TARS_SKIP_INVALID")}.'),
    'TARS_ALLOW_CHANGED_CONFIG': ('0', f'Resuming with other settings: {_cases("TARS_ALLOW_CHANGED_CONFIG")}.'),
    'TARS_SYSTEM_PROMPT': ('(the TARS think prompt)', 'System prompt written into rows converted by the registered '
                           'datasets.'),
}


class TarsConfigError(ValueError):
    """``TARS_*`` variables hold values swift-tars cannot use; ``problems`` has one line per bad variable (the
    message itself when there is one)."""

    def __init__(self, message: str, problems: Optional[List[str]] = None):
        super().__init__(message)
        self.problems: List[str] = list(problems) if problems is not None else [message]


class TarsPathError(TarsConfigError, FileNotFoundError):
    """A ``TARS_*`` variable names a local path that does not exist."""


def parse_layers(spec: str, num_layers: int) -> List[int]:
    """0-based decoder-layer indices for a layer-set spec (1-based in the spec, like the paper).

    Named sets split the stack without its last two layers into thirds (ceil boundaries), so 28
    layers give shallow 1–9, middle 10–18, deep 19–26, last 27–28 and 32 give the paper's 1–10,
    11–20, 21–30, 31–32.

    >>> parse_layers('middle', 28)[0] + 1, parse_layers('middle', 28)[-1] + 1
    (10, 18)
    >>> parse_layers('2-3,6', 6)
    [1, 2, 5]
    """
    spec = (spec or '').strip().lower()
    if num_layers < 1:
        raise TarsConfigError(f'the model has no decoder layers (num_layers={num_layers})')
    body = max(num_layers - 2, 0)
    b1, b2 = math.ceil(body / 3), math.ceil(2 * body / 3)
    named = {
        'all': range(0, num_layers),
        'shallow': range(0, b1),
        'middle': range(b1, b2),
        'deep': range(b2, body),
        'last': range(max(num_layers - 2, 0), num_layers),
    }
    if spec in named:
        layers = list(named[spec])
        if not layers:
            raise TarsConfigError(f'TARS_LAYERS={spec!r} is empty for a model with {num_layers} decoder layers; '
                                  'use `all` or an explicit range such as `1-2`')
        return layers
    layers = set()
    for part in spec.split(','):
        m = re.fullmatch(r'\s*(\d+)\s*(?:-\s*(\d+)\s*)?', part)
        if not m:
            raise TarsConfigError(f'TARS_LAYERS={spec!r} is not valid: use one of {", ".join(LAYER_SET_NAMES)} '
                                  'or 1-based ranges like `11-20` or `1-4,9`')
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if not 1 <= lo <= hi <= num_layers:
            raise TarsConfigError(f'TARS_LAYERS={spec!r}: range {lo}-{hi} is outside 1-{num_layers} '
                                  f'(the model has {num_layers} decoder layers)')
        layers.update(range(lo - 1, hi))
    return sorted(layers)


def _choice(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, TARS_VARIABLES[name][0]).strip().lower()
    if value not in CHOICES[name]:
        raise TarsConfigError(f'{name}={value!r} is not valid; use one of: {", ".join(allowed_values(name))}')
    return value


def _flag(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name, TARS_VARIABLES[name][0]).strip().lower()
    if value in FLAG_SPELLINGS['1']:
        return True
    if value in FLAG_SPELLINGS['0']:
        return False
    raise TarsConfigError(f'{name}={value!r} is not a boolean; use {" or ".join(allowed_values(name))}')


def _floats(env: Mapping[str, str], name: str, n: int) -> Tuple[float, ...]:
    raw = env.get(name, TARS_VARIABLES[name][0])
    try:
        values = tuple(float(x) for x in raw.split(','))
    except ValueError:
        values = ()
    if len(values) != n or not all(math.isfinite(v) for v in values):
        raise TarsConfigError(f'{name}={raw!r} must be {n} comma-separated finite numbers, e.g. '
                              f'{TARS_VARIABLES[name][0]!r}')
    return values


def _nonnegative(env: Mapping[str, str], name: str) -> float:
    raw = env.get(name, TARS_VARIABLES[name][0])
    try:
        value = float(raw)
    except ValueError:
        value = float('nan')
    if not math.isfinite(value) or value < 0:
        raise TarsConfigError(f'{name}={raw!r} must be a finite number >= 0')
    return value


def _natural(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, TARS_VARIABLES[name][0])
    if not raw.strip().isdigit():
        raise TarsConfigError(f'{name}={raw!r} must be an integer >= 0')
    return int(raw)


def _positive_int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, TARS_VARIABLES[name][0])
    if not raw.strip().isdigit() or int(raw) < 1:
        raise TarsConfigError(f'{name}={raw!r} must be a positive integer')
    return int(raw)


def _layers(env: Mapping[str, str]) -> str:
    layers = env.get('TARS_LAYERS', TARS_VARIABLES['TARS_LAYERS'][0]).strip().lower()
    if layers not in LAYER_SET_NAMES:
        parse_layers(layers, 10**6)  # syntax check now; the range is checked against the model later
    return layers


def _audio_cache(env: Mapping[str, str]) -> str:
    if env.get('TARS_AUDIO_CACHE'):
        return os.path.expanduser(env['TARS_AUDIO_CACHE'])
    base = env.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'swift_tars', 'wav')


def check_model_path(value: str, label: str, alternatives: str = '') -> str:
    """``value`` (a model as a hub id or a local folder); a path (``/``, ``.``, ``~``) that is no folder is a
    :class:`TarsPathError` naming ``label`` (``TARS_X=value`` or ``--flag value``) and the accepted forms."""
    if value.startswith(('/', '.', '~')) and not os.path.isdir(os.path.expanduser(value)):
        raise TarsPathError(f'{label}: no such model folder; give a local model folder, a hub id{alternatives}')
    return value


def _model(env: Mapping[str, str], name: str, alternatives: str = '') -> str:
    """A model given as a hub id or a local folder (:func:`check_model_path`)."""
    default = TARS_VARIABLES[name][0]
    value = env.get(name, default).strip() or default
    return check_model_path(value, f'{name}={value}', alternatives)


def _judge(env: Mapping[str, str], name: str) -> str:
    """An optional judge: empty (off), ``xfinder``, an endpoint, or a model (:func:`check_model_path`)."""
    value = env.get(name, '').strip()
    return check_model_path(value, f'{name}={value}', ', `xfinder`, an http(s)://.../v1 endpoint, or leave it empty '
                            '(off)')


@dataclass(frozen=True)
class TarsConfig:
    """Validated ``TARS_*`` settings; build with :meth:`from_env`."""
    layers: str = 'all'
    reference: str = 'mean'
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    embedding_batch_size: int = 32
    strip_tags: bool = False
    empty_pool: str = 'neutral'
    format_scores: Tuple[float, float, float] = (1.0, 0.5, 0.0)
    audio_cache: str = ''
    system_prompt: Optional[str] = None
    text_scoring: str = 'paper'
    group_layout: str = 'paired'
    log_representation: bool = False
    skip_invalid: bool = False
    distill_coef: float = 0.0
    distill_mode: str = 'loss'
    distill_topk: int = 20
    distill_top_tokens: int = 20
    distill_kl_weight: float = 2.0
    distill_position_weight: float = 2.0
    distill_chunk: int = 64
    agreement_judge: str = 'extract'
    agreement_judge_model: str = ''
    accuracy_judge: str = ''
    accuracy_judge_model: str = ''
    allow_changed_config: bool = False

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> 'TarsConfig':
        """The settings of ``env`` (default ``os.environ``); every bad or unknown ``TARS_*`` variable is reported
        at once in one :class:`TarsConfigError` (its ``problems`` list one line each)."""
        env = os.environ if env is None else env
        errors: List[TarsConfigError] = []

        def read(parse, *args):
            try:
                return parse(env, *args)
            except TarsConfigError as e:
                errors.append(e)
                return None

        unknown = sorted(k for k in env if k.startswith('TARS_') and k not in TARS_VARIABLES)
        if unknown:
            errors.append(TarsConfigError(f'unknown swift-tars variable(s) {", ".join(unknown)}; known: '
                                          f'{", ".join(TARS_VARIABLES)}'))
        values = dict(
            layers=read(_layers),
            reference=read(_choice, 'TARS_REFERENCE'),
            embedding_model=read(_model, 'TARS_EMBEDDING_MODEL'),
            embedding_batch_size=read(_positive_int, 'TARS_EMBEDDING_BATCH_SIZE'),
            strip_tags=read(_flag, 'TARS_STRIP_TAGS'),
            empty_pool=read(_choice, 'TARS_EMPTY_POOL'),
            format_scores=read(_floats, 'TARS_FORMAT_SCORES', 3),
            audio_cache=_audio_cache(env),
            system_prompt=env.get('TARS_SYSTEM_PROMPT') or None,
            text_scoring=read(_choice, 'TARS_TEXT_SCORING'),
            group_layout=read(_choice, 'TARS_GROUP_LAYOUT'),
            log_representation=read(_flag, 'TARS_LOG_REPRESENTATION'),
            skip_invalid=read(_flag, 'TARS_SKIP_INVALID'),
            distill_coef=read(_nonnegative, 'TARS_DISTILL_COEF'),
            distill_mode=read(_choice, 'TARS_DISTILL_MODE'),
            distill_topk=read(_natural, 'TARS_DISTILL_TOPK'),
            distill_top_tokens=read(_natural, 'TARS_DISTILL_TOP_TOKENS'),
            distill_kl_weight=read(_nonnegative, 'TARS_DISTILL_KL_WEIGHT'),
            distill_position_weight=read(_nonnegative, 'TARS_DISTILL_POSITION_WEIGHT'),
            distill_chunk=read(_positive_int, 'TARS_DISTILL_CHUNK'),
            agreement_judge=read(_model, 'TARS_AGREEMENT_JUDGE', ', an http(s)://.../v1 endpoint, or `extract`'),
            agreement_judge_model=env.get('TARS_AGREEMENT_JUDGE_MODEL', '').strip(),
            accuracy_judge=read(_judge, 'TARS_ACCURACY_JUDGE'),
            accuracy_judge_model=env.get('TARS_ACCURACY_JUDGE_MODEL', '').strip(),
            allow_changed_config=read(_flag, 'TARS_ALLOW_CHANGED_CONFIG'),
        )
        if len(errors) == 1:
            raise errors[0]
        if errors:
            problems = [p for e in errors for p in e.problems]
            raise TarsConfigError(f'{len(problems)} TARS_* problems:\n  - ' + '\n  - '.join(problems), problems)
        return cls(**values)

    def layer_ids(self, num_layers: int) -> List[int]:
        """0-based decoder-layer indices of ``TARS_LAYERS`` for a stack of ``num_layers``."""
        return parse_layers(self.layers, num_layers)
