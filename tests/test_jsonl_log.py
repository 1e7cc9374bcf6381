"""The one resumable append-only jsonl (eval predictions, build-data's partial rows): torn tails are cut off,
strict files refuse damage, cache files keep what reads cleanly."""
import json

import pytest

from swift_tars.data.jsonl_log import JsonlLog


def key(entry):
    return entry['id']


def lines(*entries):
    return ''.join(json.dumps(e) + '\n' for e in entries).encode()


@pytest.mark.parametrize('strict', [True, False])
def test_torn_tail_is_cut_before_appending(tmp_path, strict):
    path = tmp_path / 'log.jsonl'
    good = lines({'id': 'a'}, {'id': 'b'})
    path.write_bytes(good + b'{"id": "c", "x"')  # killed mid-write
    log = JsonlLog(path, key, strict=strict)
    assert log.load() == 2 and 'b' in log and log.repaired_bytes == len(b'{"id": "c", "x"')
    assert path.read_bytes() == good
    log.append([{'id': 'c'}])
    log.close()
    assert [json.loads(x)['id'] for x in path.read_text().splitlines()] == ['a', 'b', 'c']


def test_strict_refuses_a_damaged_middle_line_and_a_repeated_key(tmp_path):
    path = tmp_path / 'log.jsonl'
    path.write_bytes(lines({'id': 'a'}) + b'{"no_id": 1}\n' + lines({'id': 'b'}))
    with pytest.raises(ValueError, match=r'line at byte \d+ is not an entry .* is damaged'):
        JsonlLog(path, key, what='test log').load()
    path.write_bytes(lines({'id': 'a'}, {'id': 'a'}))
    with pytest.raises(ValueError, match='holds a twice; the file was not written by me'):
        JsonlLog(path, key, writer='me').load()


def test_not_strict_keeps_what_reads_cleanly(tmp_path):
    """A cache: reading stops at the first bad line (cut off with the rest; that work is redone)."""
    path = tmp_path / 'log.jsonl'
    path.write_bytes(lines({'id': 'a'}, {'id': 'a', 'v': 2}) + b'not json\n' + lines({'id': 'b'}))
    log = JsonlLog(path, key, strict=False)
    assert log.load() == 1 and log.entries['a'] == {'id': 'a', 'v': 2}
    assert path.read_bytes() == lines({'id': 'a'}, {'id': 'a', 'v': 2})


def test_append_refuses_keys_already_there_or_repeated(tmp_path):
    log = JsonlLog(tmp_path / 'sub' / 'log.jsonl', key)
    assert log.load() == 0
    log.append([{'id': 'a'}])
    with pytest.raises(ValueError, match='already in'):
        log.append([{'id': 'a'}])
    with pytest.raises(ValueError, match='already in'):
        log.append([{'id': 'b'}, {'id': 'b'}])
    log.close()
    assert JsonlLog(log.path, key).load() == 1  # nothing of the refused appends was written
