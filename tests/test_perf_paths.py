"""The fast paths of the batch reader give exactly what the general paths give."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from slaengine.errors import EventError
from slaengine.eventlog import parse_lines
from slaengine.spill import read_partition, spill, spill_file, spill_parquet
from slaengine.tabular import batch_events, row_events
from slaengine.timeline import _checked_event, parse_event

EVENTS = [
    {"ticket": "A", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "Email",
     "priority": "high", "tags": ["vip"], "fields": {"plan": "pro"}, "id": "1"},
    {"ticket": "A", "at": "2025-12-01T10:05:00+01:00", "type": "message", "author": "agent",
     "agent": "ann", "public": False},
    {"ticket": "A", "at": "2025-12-01T10:06:00.5Z", "type": "status", "status": "pending"},
    {"ticket": "A", "at": "2025-12-01T10:07:00Z", "type": "status", "status": "waiting"},
    {"ticket": "A", "at": "2025-12-01T10:08:00Z", "type": "update", "channel": ""},
    {"ticket": "A", "at": "2025-12-01T10:08:00Z", "type": "update"},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "update", "priority": "HIGH"},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "update", "tags": ["a", 1]},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "update", "assignee": 7},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "csat", "score": 4},
    {"ticket": 5, "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "chat",
     "priority": "low", "status": "open"},
    {"ticket": "B", "at": "2025-12-01T10:00:00", "type": "created", "channel": "chat",
     "priority": "low"},
    {"ticket": "B", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": " ",
     "priority": "low"},
    {"ticket": "B", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "web",
     "priority": ["low"]},
    {"ticket": "", "at": "2025-12-01T10:00:00Z", "type": "message", "author": "bot"},
    {"ticket": "C", "at": "1800-12-01T10:00:00Z", "type": "message", "author": "bot"},
    {"ticket": "C", "at": "2025-12-01T10:00:00Z", "type": "message", "author": {"x": 1}},
    {"ticket": "C", "at": "2025-12-01T10:00:00Z", "type": "message", "author": "bot",
     "public": None},
    {"ticket": "C", "at": "2025-12-01T10:00:00Z", "type": ["message"]},
]  # fmt: skip


def _outcome(parse, obj):
    try:
        return parse(obj)
    except EventError as exc:
        return exc.reason


@pytest.mark.parametrize("obj", EVENTS, ids=range(len(EVENTS)))
def test_parse_event_fast_path_agrees_with_full_validation(obj):
    status_map = {"waiting": "pending"}
    fast = _outcome(lambda o: parse_event(o, seq=3, line=3, status_map=status_map), obj)
    full = _outcome(lambda o: _checked_event(o, 3, 3, status_map), obj)
    assert fast == full


def _lines_text() -> str:
    lines = [json.dumps(event) for event in EVENTS]
    lines[1] = "   " + lines[1]  # leading blanks: not the fast JSON path
    lines.insert(3, "")
    lines.insert(4, " \t")
    lines.insert(5, '{"ticket": "caf\u00e9", "at": "2025-12-01T10:00:00Z"}')
    lines.insert(6, '{"fields": {"ticket": "X"}, "ticket": "D"}')
    lines.insert(7, "not json")
    lines.insert(8, '{"ticket": "D"} trailing')
    return "\n".join(lines)


def _partitions(result) -> list[str]:
    return [path.read_text(encoding="utf-8", errors="replace") for path in result.paths]


@pytest.mark.parametrize(
    ("name", "text", "end"),
    [
        ("lf.jsonl", _lines_text(), "\n"),
        ("crlf.jsonl.gz", _lines_text().replace("\n", "\r\n"), "\r\n"),
        ("lone-cr.jsonl", _lines_text().replace("\n", "\r", 3), ""),
        ("no-final-newline.jsonl", _lines_text(), ""),
    ],
)
def test_spill_file_writes_what_the_text_spill_writes(tmp_path, name, text, end):
    data = (text + end).encode("utf-8") + b'\n{"ticket": "E\xff", "at": 1}\n'
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    fast = spill_file(path, tmp_path / "fast", 3, "x")
    with (gzip.open if name.endswith(".gz") else open)(
        path, "rt", encoding="utf-8", errors="replace"
    ) as stream:
        slow = spill(stream, tmp_path / "slow", 3, "x")
    assert fast.lines == slow.lines
    assert _partitions(fast) == _partitions(slow)


def test_parse_lines_decodes_like_json_loads():
    lines = [*(json.dumps(e) + "\n" for e in EVENTS), "{} {}\n", '{"a": 1}\r\n', "[1]\n", "{\n"]
    problems_fast: list = []
    fast = list(parse_lines(lines, "x", {"waiting": "pending"}, problems_fast))
    assert len(fast) + len(problems_fast) == len(lines)
    assert [(p.line, p.code) for p in problems_fast][-4:] == [
        (20, "E401"),
        (21, "E400"),
        (22, "E400"),
        (23, "E401"),
    ]
    assert "Extra data" in problems_fast[-4].message


def _table_rows() -> list[dict]:
    return [
        {"ticket": "A", "at": dt.datetime(2025, 12, 1, 10, tzinfo=dt.UTC), "type": "created",
         "channel": "email", "priority": "high", "tags": "vip; gold", "fields": '{"plan": "pro"}',
         "public": None, "score": None},
        {"ticket": "A", "at": dt.datetime(2025, 12, 1, 11, tzinfo=dt.UTC), "type": "message",
         "channel": "", "priority": None, "tags": None, "fields": None, "public": "false",
         "score": None, "author": "agent"},
        {"ticket": None, "at": None, "type": None},
        {"ticket": "B", "at": dt.datetime(2025, 12, 1, 12, tzinfo=dt.UTC), "type": "csat",
         "score": "4.0", "tags": '["x"]'},
    ]  # fmt: skip


def test_batch_events_equal_the_json_of_each_row():
    pa = pytest.importorskip("pyarrow")
    rows = _table_rows()
    keys = list(dict.fromkeys(k for row in rows for k in row))
    batch = pa.RecordBatch.from_pylist([{k: row.get(k) for k in keys} for row in rows])
    expected = list(row_events(batch.schema.names, [c.to_pylist() for c in batch.columns]))
    assert batch_events(batch) == expected
    assert expected[0]["tags"] == ["vip", "gold"]
    assert expected[1]["public"] is False


def test_parquet_partitions_read_like_the_json_of_the_rows(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from slaengine.tabular import parquet_lines

    rows = _table_rows()
    keys = list(dict.fromkeys(k for row in rows for k in row))
    path = tmp_path / "t.parquet"
    pq.write_table(pa.Table.from_pylist([{k: row.get(k) for k in keys} for row in rows]), path)
    columnar = spill_parquet(path, tmp_path / "arrow", 3, "t")
    text = spill(parquet_lines(path), tmp_path / "text", 3, "t")
    assert columnar.lines == text.lines == len(rows)
    for arrow_part, text_part in zip(columnar.paths, text.paths, strict=True):
        a, b = read_partition(arrow_part, "t"), read_partition(text_part, "t")
        assert a.timelines == b.timelines
        assert a.problems == b.problems


def test_spill_file_on_an_empty_file(tmp_path: Path):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    assert spill_file(path, tmp_path / "p", 2, "x").lines == 0


@pytest.mark.parametrize(
    ("name", "text", "end"),
    [
        ("lf.jsonl", _lines_text(), "\n"),
        ("crlf.jsonl.gz", _lines_text().replace("\n", "\r\n"), "\r\n"),
        ("lone-cr.jsonl", _lines_text().replace("\n", "\r", 3), ""),
        ("no-final-newline.jsonl", _lines_text(), ""),
    ],
)
@pytest.mark.parametrize("block", [7, 64, 1 << 22])
@pytest.mark.parametrize("workers", [2, 3])
def test_shared_spill_reads_back_like_the_serial_spill(
    tmp_path, monkeypatch, name, text, end, block, workers
):
    import slaengine.spill as spill_module

    monkeypatch.setattr(spill_module, "_BLOCK", block)
    data = (text + end).encode("utf-8") + b'\n{"ticket": "E\xff", "at": 1}\n' + text.encode()
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    serial = spill_file(path, tmp_path / "serial", 3, "x")
    shared = spill_file(path, tmp_path / "shared", 3, "x", workers=workers)
    assert shared.lines == serial.lines
    files = shared.partition_files()
    assert len(files) == 3
    for one, several in zip(serial.paths, files, strict=True):
        a, b = read_partition(one, "x"), read_partition(several, "x")
        assert list(a.timelines.items()) == list(b.timelines.items())
        assert a.problems == b.problems
        assert a.duplicates == b.duplicates
