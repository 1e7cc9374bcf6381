"""TARS_* variables: layer sets, validation errors naming the variable."""
import dataclasses

import pytest

from swift_tars.config import TarsConfig, TarsConfigError, parse_layers


def one_based(spec, n):
    layers = parse_layers(spec, n)
    return layers[0] + 1, layers[-1] + 1, len(layers)


@pytest.mark.parametrize('spec, n, expected', [
    ('all', 28, (1, 28, 28)),
    ('shallow', 28, (1, 9, 9)),
    ('middle', 28, (10, 18, 9)),
    ('deep', 28, (19, 26, 8)),
    ('last', 28, (27, 28, 2)),
    ('shallow', 32, (1, 10, 10)),  # the paper's bands for 32 layers
    ('middle', 32, (11, 20, 10)),
    ('deep', 32, (21, 30, 10)),
    ('last', 32, (31, 32, 2)),
    ('11-20', 28, (11, 20, 10)),
    (' 1-2 , 5 ', 6, (1, 5, 3)),
])
def test_layer_sets(spec, n, expected):
    assert one_based(spec, n) == expected


@pytest.mark.parametrize('spec, n, message', [
    ('middle', 3, 'is empty'),
    ('0-3', 6, 'outside 1-6'),
    ('5-40', 28, 'outside 1-28'),
    ('mid', 28, 'not valid'),
    ('3-1', 6, 'outside'),
])
def test_layer_errors(spec, n, message):
    with pytest.raises(TarsConfigError, match=message):
        parse_layers(spec, n)


def test_defaults():
    c = TarsConfig.from_env({})
    assert (c.layers, c.reference, c.embedding_model, c.strip_tags, c.empty_pool, c.format_scores) == (
        'all', 'mean', 'Qwen/Qwen3-Embedding-0.6B', False, 'neutral', (1.0, 0.5, 0.0))


@pytest.mark.parametrize('env, message', [
    ({'TARS_REFERENCE': 'nearest'}, "TARS_REFERENCE='nearest' is not valid"),
    ({'TARS_LAYERS': 'top'}, "TARS_LAYERS='top' is not valid"),
    ({'TARS_STRIP_TAGS': 'maybe'}, 'not a boolean'),
    ({'TARS_FORMAT_SCORES': '1,0.5'}, 'must be 3 comma-separated'),
    ({'TARS_EMBEDDING_BATCH_SIZE': '0'}, 'positive integer'),
    ({'TARS_LAYER': 'all'}, 'unknown swift-tars variable'),
])
def test_bad_values(env, message):
    with pytest.raises(TarsConfigError, match=message):
        TarsConfig.from_env(env)


def test_parsed_values():
    c = TarsConfig.from_env({'TARS_LAYERS': 'Deep', 'TARS_REFERENCE': 'round_robin', 'TARS_STRIP_TAGS': 'true',
                             'TARS_EMPTY_POOL': 'penalty', 'TARS_FORMAT_SCORES': '1,0,0'})
    assert (c.layers, c.reference, c.strip_tags, c.empty_pool, c.format_scores) == ('deep', 'round_robin', True,
                                                                                    'penalty', (1.0, 0.0, 0.0))
    assert c.layer_ids(6) == [3]


@pytest.mark.parametrize('name', ['TARS_EMBEDDING_MODEL', 'TARS_AGREEMENT_JUDGE'])
def test_missing_model_folder_names_the_variable(name, tmp_path):
    with pytest.raises(FileNotFoundError, match=f'{name}={tmp_path}/gone: no such model folder'):
        TarsConfig.from_env({name: str(tmp_path / 'gone')})
    assert getattr(TarsConfig.from_env({name: str(tmp_path)}), name[5:].lower()) == str(tmp_path)
    assert getattr(TarsConfig.from_env({name: 'org/model'}), name[5:].lower()) == 'org/model'  # a hub id


def test_one_table_of_allowed_values_per_variable():
    """Parsing, the error message and the docs text of a variable all come from its entry in CHOICES."""
    from swift_tars.config import CHOICES, LAYER_SET_NAMES, TARS_VARIABLES, allowed_values

    for name, table in CHOICES.items():
        doc = TARS_VARIABLES[name][1]
        assert all(f'`{value}`' in doc for value in table), name
        with pytest.raises(TarsConfigError, match=', '.join(allowed_values(name)).replace(', ', '.*')):
            TarsConfig.from_env({name: 'no-such-value'})
        if set(table) != {'1', '0'}:  # flags parse to booleans
            for value in table:
                assert value in dataclasses.astuple(TarsConfig.from_env({name: value.upper()}))
    for name in LAYER_SET_NAMES:
        assert f'`{name}`' in TARS_VARIABLES['TARS_LAYERS'][1]
        assert parse_layers(name, 32)  # every documented set is one parse_layers knows
    from swift_tars.grpo.pairing import REFERENCE_MODES
    from swift_tars.rewards.representation import EMPTY_POOL_POLICIES
    assert REFERENCE_MODES == allowed_values('TARS_REFERENCE')
    assert EMPTY_POOL_POLICIES == allowed_values('TARS_EMPTY_POOL')
