"""The fast paths of the batch reader give exactly what the general paths give."""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path

import pytest

from slaengine.batches.spill import read_partition, spill, spill_file, spill_parquet
from slaengine.errors import EventError
from slaengine.event_parsing import _checked_event, parse_event
from slaengine.inputs.jsonl import LineError, decode_line, parse_lines
from slaengine.inputs.parquet import batch_events
from slaengine.inputs.tables import row_events
from slaengine.timeline import build_timelines

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
    # Who opened it: optional on created, one of the message authors.
    {"ticket": "B", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "phone",
     "priority": "low", "author": "agent"},
    {"ticket": "B", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "phone",
     "priority": "low", "author": "Agent"},
    {"ticket": "B", "at": "2025-12-01T10:00:00Z", "type": "created", "channel": "phone",
     "priority": "low", "author": 1},
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
    # Instants: offsets of every shape, the year bounds, before 1970, odd forms.
    *(
        {"ticket": "D", "at": at, "type": "message", "author": "customer", "id": "d"}
        for at in (
            "2025-12-01T10:00:00+00:00", "2025-12-01T10:00:00-05:30", "2025-12-01T10:00:00+14:00",
            "2025-12-01T10:00:00+01:00:30", "2025-12-01T10:00:00+01:00:00.5",
            "2025-12-01T10:00:00-00:00:00.25", "2025-12-01T23:59:59-23:59",
            "1900-01-01T00:00:00Z", "1900-01-01T00:00:00+01:00", "1899-12-31T23:59:59Z",
            "2199-12-31T23:59:59-12:00", "2200-01-01T00:00:00+01:00", "1969-12-31T23:59:59Z",
            "1950-06-01T12:00:00.000001+02:00", "2024-02-29T12:00:00Z", "2025-02-29T12:00:00Z",
            "2025-12-01 10:00:00Z", "2025-12-01T10:00Z", "2025-12-01T10Z", "20251201T100000Z",
            "2025-W49-1T10:00:00Z", "2025-335T10:00:00Z", "2025-12-01T10:00:00.000Z",
            "2025-12-01T24:00:00Z", "2025-12-01T10:00:60Z", "2025-12-01", " 2025-12-01T10:00:00Z",
        )
    ),
    {"ticket": "D", "at": 1764583200, "type": "status", "status": "open"},
    {"ticket": "D", "at": "2025-12-01T10:00:00Z", "type": "status", "status": "Open"},
    {"ticket": "D", "at": "2025-12-01T10:00:00Z", "type": "status", "status": ["open"]},
    {"ticket": "D", "at": "2025-12-01T10:00:00Z", "type": "status", "status": "open", "id": 3},
    {"ticket": "D", "at": "2025-12-01T10:00:00Z", "type": "message", "author": "agent",
     "agent": 4},
    {"ticket": "D", "at": "2025-12-01T10:00:00Z", "type": "message", "author": "Agent"},
]  # fmt: skip


_CSAT = [
    {"ticket": "E", "at": "2025-12-01T10:00:00Z", "type": "csat", "score": 4},
    {"ticket": "E", "at": "2025-12-01T10:00:00Z", "type": "csat", "score": 4.5, "id": "e"},
    {"ticket": "E", "at": "2025-12-01T10:00:00Z", "type": "csat", "score": True},
    {"ticket": "E", "at": "2025-12-01T10:00:00Z", "type": "csat", "score": "4"},
    {"ticket": "E", "at": "2025-12-01T10:00:00Z", "type": "csat"},
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
        path, "rt", encoding="utf-8", errors="surrogateescape"
    ) as stream:
        slow = spill(stream, tmp_path / "slow", 3, "x")
    assert fast.lines == slow.lines
    assert _partitions(fast) == _partitions(slow)


def test_parse_lines_decodes_like_json_loads():
    lines = [*(json.dumps(e) + "\n" for e in EVENTS), "{} {}\n", '{"a": 1}\r\n', "[1]\n", "{\n"]
    problems_fast: list = []
    fast = list(parse_lines(lines, "x", {"waiting": "pending"}, problems_fast))
    assert len(fast) + len(problems_fast) == len(lines)
    n = len(EVENTS)
    assert [(p.line, p.code) for p in problems_fast][-4:] == [
        (n + 1, "E401"),
        (n + 2, "E400"),
        (n + 3, "E400"),
        (n + 4, "E401"),
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
    from slaengine.inputs.parquet import parquet_lines

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
    import slaengine.batches.spill as spill_module

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


_VALUE_KEYS = (
    "ticket", "at", "type", "id", "channel", "priority", "status", "customer", "group",
    "assignee", "tags", "fields", "author", "public", "agent", "score",
)  # fmt: skip


@pytest.mark.parametrize("obj", [*EVENTS, *_CSAT], ids=range(len(EVENTS) + len(_CSAT)))
def test_canonical_values_agree_with_parse_event(obj):
    from slaengine.event_parsing import canonical_values

    values = [obj.get(key, True if key == "public" else None) for key in _VALUE_KEYS]
    fast = canonical_values(3, 3, *values)
    if fast is not None:  # None: the caller takes the validating path
        assert fast == parse_event(obj, seq=3, line=3)
        assert type(fast.score) is (float if obj["type"] == "csat" else type(None))


def _mixed_table(pa):
    # Sparse and dense text columns with "" and nulls, booleans with nulls, a list column,
    # JSON text, numbers, an integer ticket column and an unknown column.
    n = 40
    return pa.table({
        "ticket": pa.array([i % 3 if i % 7 else None for i in range(n)], pa.int64()),
        "at": [f"2025-12-01T10:{i % 60:02d}:00Z" if i % 11 else "" for i in range(n)],
        "type": [("created", "message", "status", "update", "csat", "")[i % 6] for i in range(n)],
        "channel": ["Email" if i % 5 == 0 else ("" if i % 5 == 1 else None) for i in range(n)],
        "priority": ["high" if i % 4 == 0 else None for i in range(n)],
        "status": ["open" if i % 3 == 0 else "" for i in range(n)],
        "tags": pa.array([["a", "b"] if i % 4 == 0 else None for i in range(n)],
                         pa.list_(pa.string())),
        "fields": ['{"x": 1}' if i % 6 == 0 else ("null" if i % 6 == 1 else None)
                   for i in range(n)],
        "author": ["agent" if i % 2 else None for i in range(n)],
        "public": pa.array([None if i % 3 else bool(i % 2) for i in range(n)], pa.bool_()),
        "score": pa.array([float(i % 5) if i % 6 == 4 else None for i in range(n)]),
        "other": [f"o{i}" for i in range(n)],
    })  # fmt: skip


def test_column_cells_are_what_batch_events_sets():
    pa = pytest.importorskip("pyarrow")
    from slaengine.inputs.parquet import column_cells
    from slaengine.inputs.tables import ABSENT

    batch = _mixed_table(pa).to_batches()[0]
    dicts = batch_events(batch)
    for name in batch.schema.names:
        for absent in (ABSENT, None, True):
            expected = [event.get(name, absent) for event in dicts]
            assert column_cells(name, batch.column(name), absent) == expected, name


def test_parquet_partitions_of_mixed_columns_read_like_their_json(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    from slaengine.inputs.parquet import parquet_lines

    path = tmp_path / "mixed.parquet"
    pq.write_table(_mixed_table(pa), path, row_group_size=16)
    columnar = spill_parquet(path, tmp_path / "arrow", 2, "t")
    text = spill(parquet_lines(path), tmp_path / "text", 2, "t")
    for arrow_part, text_part in zip(columnar.paths, text.paths, strict=True):
        a, b = read_partition(arrow_part, "t"), read_partition(text_part, "t")
        assert a.timelines == b.timelines
        assert a.problems == b.problems
        assert a.duplicates == b.duplicates


@pytest.mark.parametrize("block", [1, 5, 64, 1 << 15])
def test_spilled_partitions_read_like_their_lines(tmp_path, monkeypatch, block):
    import slaengine.batches.spill as spill_module
    from slaengine.batches.spill_rows import spilled_rows
    from slaengine.inputs.jsonl import parse_numbered

    monkeypatch.setattr(spill_module, "_TEXT_BLOCK", block)  # records of so many lines
    lines = [*(json.dumps(e) for e in EVENTS), "{} {}", "[1]", "{", '{"ticket": "Z", "at": 1}']
    lines.insert(3, "")  # left out, the numbers after it kept
    result = spill(lines, tmp_path / "p", 2, "x")
    for path in result.paths:
        rows = spilled_rows(path.read_bytes())
        numbered = [(number, text.decode()) for number, text in rows]
        problems: list = []
        expected = list(parse_numbered(numbered, "x", {"waiting": "pending"}, problems))
        found: list = []
        got = spill_module._spilled_events(path, "x", {"waiting": "pending"}, found)
        assert got == expected
        assert found == problems


def test_timelines_from_events_out_of_seq_order_sort_by_instant_then_seq():
    from slaengine.timeline import build_timelines

    raw = [
        ("created", "10:00", 5, "a"), ("message", "10:05", 9, "b"), ("message", "10:05", 2, "c"),
        ("message", "10:05", 7, "b"), ("status", "10:01", 1, None), ("status", "10:01", 3, None),
    ]  # fmt: skip
    events = [
        parse_event(
            {"ticket": "T", "at": f"2025-12-01T{at}:00Z", "type": kind, "id": ident,
             "author": "agent", "status": "open", "channel": "email", "priority": "low"},
            seq=seq, line=seq,
        )
        for kind, at, seq, ident in raw
    ]  # fmt: skip
    built = build_timelines(events)
    # The first "b" in input order (seq 9) is kept; ties at 10:05 go by seq.
    assert [e.seq for e in built.timelines["T"].events] == [5, 1, 3, 2, 9]
    assert built.duplicates == 1
    in_order = build_timelines(sorted(events, key=lambda e: e.seq))
    assert [e.seq for e in in_order.timelines["T"].events] == [5, 1, 3, 2, 7]


# -- the orjson fast path reads lines exactly as the standard library does -------------------

_BASE = '{"ticket": "F", "at": "2025-12-01T10:00:00Z", '
# Where orjson and the json module disagree, or could: huge integers (orjson gives a float),
# floats, NaN and infinities (orjson refuses), lone surrogates, duplicate keys, whitespace.
_TRICKY_LINES = [
    _BASE + '"type": "created", "channel": "web", "priority": "low", '
    '"fields": {"account": 123456789012345678901234567890}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", '
    '"fields": {"limit": 18446744073709551615, "low": -9223372036854775808}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", "fields": {"ratio": 0.1}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", "fields": {"x": NaN}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", "fields": {"x": 1e400}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", "fields": {"n": {"a": 1}}}',
    _BASE + '"type": "created", "channel": "web", "priority": "low", "assignee": '
    "98765432109876543210987654321}",
    _BASE + '"type": "csat", "score": 4}',
    _BASE + '"type": "csat", "score": 4.7}',
    _BASE + '"type": "csat", "score": 100000000000000000000000000001}',
    _BASE + '"type": "csat", "score": true}',
    _BASE + '"type": "csat", "score": Infinity}',
    _BASE + '"type": "message", "author": "agent", "agent": "\\ud800"}',
    _BASE + '"type": "message", "author": "agent", "agent": "\\ud83d\\ude00"}',
    _BASE + '"type": "message", "author": "agent", "author": "customer"}',
    _BASE + '"type": "message", "author": "agent"}  \r\n',
    _BASE + '"type": "message", "author": "agent"}\x0c\n',
    _BASE + '"type": "message", "author": "agent", "x": 1} {}\n',
    _BASE + '"type": "message", "author": "agent", "id": 12345678901234567890123}',
    _BASE + '"type": "status", "status": "waiting"}',
]


def _reference(line: str, number: int, status_map: dict) -> object:
    # The standard library's reading (with the refusals of decode_line: NaN, Infinity,
    # lone surrogates, ...) and the validating path alone, without the orjson fast path.
    if not line.strip():
        return None
    try:
        obj = decode_line(line)
    except LineError as exc:
        return (exc.code, exc.column, exc.reason)
    try:
        return _checked_event(obj, number, number, status_map)
    except EventError as exc:
        return ("E400", 0, exc.reason)


def _read(line: str, number: int, status_map: dict) -> object:
    problems: list = []
    events = list(parse_lines([""] * (number - 1) + [line], "x", status_map, problems))
    if problems:
        (problem,) = problems
        return (problem.code, problem.column, problem.message)
    return events[0] if events else None


@pytest.mark.parametrize("line", _TRICKY_LINES, ids=range(len(_TRICKY_LINES)))
def test_parse_line_reads_as_the_json_module_does(line):
    status_map = {"waiting": "pending"}
    assert _read(line, 3, status_map) == _reference(line, 3, status_map)


def test_huge_integers_keep_their_value():
    (event,) = parse_lines([_TRICKY_LINES[0]])
    assert event.fields["account"] == 123456789012345678901234567890
    assert type(event.fields["account"]) is int
    (csat,) = parse_lines([_TRICKY_LINES[9]])
    assert csat.score == float(100000000000000000000000000001)


def test_spilled_partitions_read_the_tricky_lines_like_the_json_module(tmp_path):
    source = tmp_path / "tricky.jsonl"
    lines = [_BASE + '"type": "created", "channel": "web", "priority": "low"}']
    lines += [line.rstrip("\r\n") for line in _TRICKY_LINES if '"created"' not in line]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    spilled = spill_file(source, tmp_path / "parts", 2, "x")
    status_map = {"waiting": "pending"}
    read = {}
    problems = []
    for files in spilled.partition_files():
        found = read_partition(files, "x", status_map)
        read.update(found.timelines)
        problems += [(p.line, p.code, p.message) for p in found.problems]
    outcomes = [_reference(line, n, status_map) for n, line in enumerate(lines, start=1)]
    # Problems are plain tuples; events are named tuples.
    expected = build_timelines(o for o in outcomes if o is not None and type(o) is not tuple)
    assert read["F"].events == expected.timelines["F"].events
    assert len(read["F"].events) > 5
    assert sorted(problems) == sorted(
        (n, o[0], o[2]) for n, o in enumerate(outcomes, start=1) if type(o) is tuple
    )
