"""Parquet rows taken in Arrow give what their JSON text gives: the same events, the same
problems, whatever the instants' form (text or timestamps) and however odd the cells."""

from __future__ import annotations

import datetime as dt
import json
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slaengine.inputs.arrow_events import arrow_events
from slaengine.inputs.arrow_words import WordCache, code_bytes, row_flags, use_numpy
from slaengine.inputs.event_columns import KINDS, Coded, column_events
from slaengine.inputs.files import source_name
from slaengine.inputs.jsonl import parse_lines
from slaengine.inputs.parquet import parquet_lines
from slaengine.inputs.parquet_parts import RowRange, read_rows
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event, build_timelines

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

_AT = "2025-12-01T10:00:00Z"
ROWS = [
    {"ticket": "A", "at": _AT, "type": "created", "channel": "EMAIL", "priority": "high",
     "id": "a1", "customer": "c", "group": "g", "assignee": "x", "author": "bot"},
    {"ticket": "A", "at": "2025-12-01T10:05:00+01:00", "type": "message", "author": "agent",
     "agent": "ann", "public": False},
    {"ticket": "A", "at": "2025-12-01T10:06:00-05:30", "type": "message", "author": "customer"},
    {"ticket": "A", "at": "2025-12-01T10:07:00Z", "type": "status", "status": "pending"},
    {"ticket": "A", "at": "2025-12-01T10:07:00Z", "type": "status", "status": "waiting"},
    {"ticket": "A", "at": "2025-12-01T10:08:00Z", "type": "update", "channel": "Chat"},
    {"ticket": "A", "at": "2025-12-01T10:08:00Z", "type": "update"},
    {"ticket": "A", "at": "2025-12-01T10:08:00Z", "type": "update", "status": "open"},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "update", "priority": "HIGH"},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "csat", "score": 4.5},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "csat", "score": float("nan")},
    {"ticket": "A", "at": "2025-12-01T10:09:00Z", "type": "csat"},
    {"ticket": "A", "at": "2025-12-01T10:10:00Z", "type": "message", "author": "Agent"},
    {"ticket": "A", "at": "2025-12-01T10:10:00Z", "type": "message", "author": ""},
    {"ticket": "A", "at": "2025-12-01T10:10:00Z", "type": "message", "author": "bot", "id": ""},
    {"ticket": "A", "at": "2025-12-01T10:10:00Z", "type": "message", "author": "bot",
     "agent": ""},
    {"ticket": "A", "at": "2025-12-01T10:11:00Z", "type": "", "author": "bot"},
    {"ticket": "A", "at": "2025-12-01T10:11:00Z", "type": "Message", "author": "bot"},
    {"ticket": "", "at": _AT, "type": "message", "author": "bot"},
    {"ticket": "B", "at": _AT, "type": "created", "channel": " ", "priority": "low"},
    {"ticket": "B", "at": _AT, "type": "created", "channel": "\x1c", "priority": "low"},
    {"ticket": "B", "at": _AT, "type": "created", "channel": "\u00c9mail", "priority": "low"},
    {"ticket": "B", "at": _AT, "type": "created", "channel": "web", "priority": "low",
     "status": "", "tags": ["a", "b"], "fields": '{"plan": "pro"}'},
    {"ticket": "B", "at": _AT, "type": "created", "channel": "web", "priority": "low",
     "status": "solved", "author": "Bot"},
    {"ticket": "C", "at": _AT, "type": "created", "channel": "web", "priority": "low",
     "fields": '{"n": 1.5}'},
    *(
        {"ticket": "E", "at": _AT, "type": kind, "channel": "web", "priority": "low",
         "fields": fields, "tags": tags}
        for kind in ("created", "update")
        for fields, tags in (
            ("{}", []), ("null", None), ("[1]", None), ("not json", ["x", None]), ("", [""]),
            ('{"a": {"b": 1}}', None), ('{"a": 1, "a": "two"}', ["t"]),
        )
    ),
    {"ticket": "E", "at": _AT, "type": "update", "fields": '{"seats": 3}'},
    {"ticket": "E", "at": _AT, "type": "update", "fields": "null"},
    {"ticket": "E", "at": _AT, "type": "update", "tags": ["vip"]},
    {"ticket": "E", "at": _AT, "type": "update", "tags": []},
    {"ticket": "D", "at": "1900-01-01T00:00:00Z", "type": "created", "channel": "web",
     "priority": "low"},
    *(
        {"ticket": "D", "at": at, "type": "message", "author": "customer"}
        for at in (
            "2025-02-30T10:00:00Z", "2024-02-29T10:00:00Z", "2025-12-01T10:00:00+24:00",
            "2025-12-01T10:00:00-23:59", "1899-12-31T23:59:59Z", "1900-01-01T00:30:00+01:00",
            "2199-12-31T23:00:00-05:00", "2200-01-01T00:30:00+01:00", "2025-12-01T10:00:00.5Z",
            "2025-12-01 10:00:00Z", "", None, "2025-12-01T10:00:00", "2025-12-01T24:00:00Z",
            "2025-12-01T10:00:60Z", "2025-13-01T10:00:00Z", "2025-12-01T10:00:00-00:00",
            "12025-12-01T10:00:00Z", "2025-12-01T10:00:00+0100",
        )
    ),
]  # fmt: skip


def _table(rows: list[dict], at_type=None):
    keys = ["ticket", "at", "type", "id", "channel", "priority", "status", "customer", "group",
            "assignee", "author", "agent", "fields"]  # fmt: skip
    text = [key for key in keys if at_type is None or key != "at"]
    columns = {key: pa.array([row.get(key) for row in rows], pa.string()) for key in text}
    if at_type is not None:
        columns["at"] = pa.array([row.get("at") for row in rows], at_type)
    columns["tags"] = pa.array([row.get("tags") for row in rows], pa.list_(pa.string()))
    columns["public"] = pa.array([row.get("public") for row in rows], pa.bool_())
    columns["score"] = pa.array([row.get("score") for row in rows], pa.float64())
    return pa.table(columns)


def _both(path):
    """The rows read column-wise (row ranges) and from their JSON text."""
    rows = pq.ParquetFile(path).metadata.num_rows
    status_map = {"waiting": "pending"}
    ranged = read_rows(RowRange(str(path), 0, rows), source_name(path), status_map)
    problems: list = []
    events = list(parse_lines(parquet_lines(path), source_name(path), status_map, problems))
    return ranged, build_timelines(events, source_name(path), problems)


def _assert_same(path):
    ranged, text = _both(path)
    assert ranged.timelines == text.timelines
    assert ranged.problems == text.problems
    assert ranged.duplicates == text.duplicates
    return ranged


def test_text_instants_and_odd_cells_read_as_their_json(tmp_path):
    path = tmp_path / "rows.parquet"
    pq.write_table(_table(ROWS), path, row_group_size=16)
    read = _assert_same(path)
    assert len(read.timelines["A"].events) >= 8
    assert len(read.timelines["D"].events) >= 8
    assert len(read.timelines["E"].events) >= 8
    assert len(read.problems) > 10


_WHEN = st.datetimes(min_value=dt.datetime(1899, 12, 30), max_value=dt.datetime(2200, 1, 2))


@settings(max_examples=25, deadline=None)
@given(
    st.lists(_WHEN, min_size=1, max_size=8),
    st.sampled_from(["s", "ms", "us", "ns"]),
    st.sampled_from(["UTC", "Europe/Berlin", "America/St_Johns", "+05:45"]),
)
def test_timestamp_columns_read_as_their_json(tmp_path_factory, whens, unit, tz):
    zone = dt.UTC
    rows = [{"ticket": "T", "at": _AT, "type": "created", "channel": "web", "priority": "low"}]
    for when in whens:
        rows.append({"ticket": "T", "at": when.replace(tzinfo=zone), "type": "status",
                     "status": "open"})  # fmt: skip
    rows[0]["at"] = dt.datetime(1950, 1, 1, tzinfo=zone)
    path = tmp_path_factory.mktemp("ts") / "rows.parquet"
    table = _table(rows, pa.timestamp(unit, tz=tz))
    pq.write_table(table, path)
    _assert_same(path)
    # The usual rows are taken in Arrow: whole seconds well inside the years.
    taken, slow = arrow_events(table.combine_chunks().to_batches()[0], range(1, len(rows) + 1))
    usual = [i for i, row in enumerate(rows) if _usual(row["at"], unit)]
    assert [event.seq - 1 for event in taken] == usual
    assert slow == [i for i in range(len(rows)) if i not in usual]


def _usual(when: dt.datetime, unit: str) -> bool:
    # What the column holds: microseconds cut to its unit; a day inside the years, in UTC.
    kept = {"s": 0, "ms": when.microsecond // 1000 * 1000}.get(unit, when.microsecond)
    low, high = dt.datetime(1900, 1, 2, tzinfo=dt.UTC), dt.datetime(2199, 12, 31, tzinfo=dt.UTC)
    return not kept and low <= when < high


def test_naive_timestamps_are_problems_of_their_rows(tmp_path):
    rows = [{"ticket": "T", "at": dt.datetime(2025, 12, 1, 10), "type": "message",
             "author": "bot"}]  # fmt: skip
    path = tmp_path / "naive.parquet"
    pq.write_table(_table(rows, pa.timestamp("s")), path)
    read = _assert_same(path)
    assert [p.line for p in read.problems] == [1]


def test_repeated_words_are_one_string_whatever_the_input(tmp_path):
    # Events keep one string per word: the vocabularies' own, and each name once, so a
    # part's events take memory for what differs between them only.
    rows = [
        row
        for ticket in ("T1", "T2")
        for row in (
            {"ticket": ticket, "at": _AT, "type": "created", "channel": "web", "priority": "low"},
            {"ticket": ticket, "at": _AT, "type": "message", "author": "agent", "agent": "ann"},
            {"ticket": ticket, "at": _AT, "type": "status", "status": "pending"},
        )
    ]
    path = tmp_path / "words.parquet"
    pq.write_table(_table(rows), path)
    ranged, text = _both(path)
    assert ranged.timelines == text.timelines
    for found in (ranged, text):
        one, two = (found.timelines[t].events for t in ("T1", "T2"))
        assert one[0].channel is two[0].channel
        assert one[1].agent is two[1].agent
        assert one[1].author is two[1].author is "agent"  # noqa: F632 - the shared string
        assert one[2].status is two[2].status is "pending"  # noqa: F632
        assert one[2].type is two[2].type is "status"  # noqa: F632
    # Both inputs share the same strings, too.
    assert ranged.timelines["T1"].events[1].agent is text.timelines["T1"].events[1].agent


_TEXT_FORMS = {
    "dictionary": lambda column: column.dictionary_encode(),
    "large_string": lambda column: column.cast(pa.large_string()),
    **(
        {"string_view": lambda column: column.cast(pa.string_view())}
        if hasattr(pa, "string_view")
        else {}
    ),
}


@pytest.mark.parametrize("form", sorted(_TEXT_FORMS))
def test_text_columns_of_every_form_read_as_plain_text(tmp_path, form):
    # Dictionary columns (pandas' categoricals), large strings and string views: the same
    # events and problems as plain text, and the same rows taken in Arrow.
    plain = _table(ROWS)
    recast = pa.table(
        {
            name: _TEXT_FORMS[form](column) if pa.types.is_string(column.type) else column
            for name, column in zip(plain.column_names, plain.columns, strict=True)
        }
    )
    assert pa.types.is_string(plain.schema.field("ticket").type)
    assert not pa.types.is_string(recast.schema.field("ticket").type)
    numbers = range(1, len(ROWS) + 1)
    taken, slow = arrow_events(plain.combine_chunks().to_batches()[0], numbers)
    assert arrow_events(recast.combine_chunks().to_batches()[0], numbers) == (taken, slow)
    assert len(taken) > 20
    path = tmp_path / "recast.parquet"
    pq.write_table(recast, path, row_group_size=16)
    plain_path = tmp_path / "plain.parquet"
    pq.write_table(plain, plain_path, row_group_size=16)
    read = _assert_same(path)
    assert read.timelines == _assert_same(plain_path).timelines


def _generated(tickets: int):
    # Generated events as a table: timestamp instants, text columns, tags, fields as text.
    from slaengine.inputs.synthetic import generate_events

    start = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)
    rows = list(generate_events(tickets, 7, start))
    for row in rows:
        row["at"] = dt.datetime.fromisoformat(row["at"])
        if "fields" in row:
            row["fields"] = json.dumps(row["fields"])
    return _table(rows, pa.timestamp("s", tz="UTC"))


@pytest.mark.parametrize(
    "options",
    [{"use_dictionary": False}, {"dictionary_pagesize_limit": 2_000}, {}],
    ids=["plain", "dictionary-overflows", "dictionary"],
)
def test_words_read_as_codes_whatever_the_file_encoding(tmp_path, options):
    # Plain-encoded text (and a dictionary that overflows into plain pages) is read as
    # dictionaries that grow from batch to batch of a row group: the same events as
    # the rows' JSON text, and every row of this canonical file taken in Arrow.
    table = _generated(3_000)
    assert table.num_rows > 20_000  # more than one batch of a row group
    path = tmp_path / "generated.parquet"
    pq.write_table(table, path, row_group_size=25_000, **options)
    read = _assert_same(path)
    assert not read.problems
    assert sum(len(t.events) for t in read.timelines.values()) == table.num_rows


@pytest.mark.parametrize("numpy", [True, False], ids=["numpy", "itemgetter"])
def test_values_picked_with_or_without_numpy_are_the_same(tmp_path, numpy):
    previous = use_numpy(numpy)
    try:
        path = tmp_path / "rows.parquet"
        pq.write_table(_table(ROWS), path, row_group_size=16)
        _assert_same(path)
        generated = tmp_path / "generated.parquet"
        pq.write_table(_generated(300), generated)
        _assert_same(generated)
    finally:
        use_numpy(previous)


def test_a_word_cache_takes_a_grown_dictionary_and_drops_another():
    cache = WordCache()
    first = cache.vocabulary("ticket", pa.array(["a", "", "b"]))
    assert first.words == ["a", None, "b"]
    assert first.made_of("upper", str.upper) == ["A", None, "B"]
    grown = cache.vocabulary("ticket", pa.array(["a", "", "b", "c"]))
    assert grown is first
    assert grown.words == ["a", None, "b", "c"]
    assert grown.made_of("upper", str.upper) == ["A", None, "B", "C"]
    assert grown.table("upper", str.upper, "-") == ["A", "-", "B", "C", "-"]
    other = cache.vocabulary("ticket", pa.array(["x", "b"]))
    assert other is not first
    assert other.words == ["x", "b"]
    assert cache.vocabulary("group", pa.array(["x", "b"])) is not other


def test_channels_beyond_ascii_are_taken_in_arrow_and_lowered_as_python_does():
    rows = [
        {"ticket": "T", "at": _AT, "type": "created", "channel": "\u00c9mail", "priority": "low"},
        {"ticket": "T", "at": _AT, "type": "update", "channel": "\u0130stanbul"},
        {"ticket": "T", "at": _AT, "type": "created", "channel": "\u2003", "priority": "low"},
    ]
    for row in rows:
        row["at"] = dt.datetime.fromisoformat(row["at"])
    table = _table(rows, pa.timestamp("s", tz="UTC")).combine_chunks()
    taken, slow = arrow_events(table.to_batches()[0], range(1, 4))
    assert [event.channel for event in taken] == ["\u00e9mail", "\u0130stanbul".lower()]
    assert slow == [2]  # a blank channel (a space beyond ASCII): the per-row path reports it


def test_coded_columns_read_four_byte_little_endian_codes():
    values = [f"v{code}" for code in range(70_001)]
    codes = [0, 255, 256, 65_535, 65_536, 70_000, 1]
    column = Coded(struct.pack(f"<{len(codes)}i", *codes), values)
    assert [column.at(row) for row in range(len(codes))] == [f"v{code}" for code in codes]
    assert Coded(code_bytes(pa.array(codes, pa.int32())), values).at(5) == "v70000"
    previous = use_numpy(False)
    try:  # the same bytes without numpy
        assert code_bytes(pa.array(codes, pa.int32())) == column.codes
        assert row_flags(pa.array([True, False, True])) == b"\x01\x00\x01"
    finally:
        use_numpy(previous)
    assert row_flags(pa.array([True, False, True])) == b"\x01\x00\x01"


def test_column_events_make_each_types_fields_and_skip_rows_not_taken():
    # Every column holds a value on every row: a row takes only the fields its type sets,
    # in row order, and the rows not taken are left out.
    kinds = ["created", "update", "status", "message", "csat", "message", "created"]
    rows = len(kinds)

    def coded(values):
        return Coded(struct.pack(f"<{rows}i", *range(rows)), values)

    fields = [ReadOnlyMap({"n": row}) for row in range(rows)]
    made = column_events(
        bytes([1, 1, 1, 1, 1, 0, 1]),
        coded([KINDS.index(kind) for kind in kinds]),
        10,
        None,
        coded([f"T{row}" for row in range(rows)]),
        [1_000 + row for row in range(rows)],
        [f"e{row}" for row in range(rows)],
        coded([f"channel{row}" for row in range(rows)]),
        coded(["high"] * rows),
        coded(["open", "open", "pending", "open", "open", "open", None]),
        coded([f"c{row}" for row in range(rows)]),
        coded([f"g{row}" for row in range(rows)]),
        coded([f"a{row}" for row in range(rows)]),
        [("vip", str(row)) for row in range(rows)],
        coded(fields),
        coded(["agent"] * rows),
        [False] * rows,
        coded([f"ann{row}" for row in range(rows)]),
        [4.5],
    )
    assert made == [
        Event("T0", 1_000, "created", 10, 10, "e0", "channel0", "high", "open", "c0", "g0",
              "a0", ("vip", "0"), fields[0], "agent", True, None, None),
        Event("T1", 1_001, "update", 11, 11, "e1", "channel1", "high", None, "c1", "g1", "a1",
              ("vip", "1"), fields[1]),
        Event("T2", 1_002, "status", 12, 12, "e2", status="pending"),
        Event("T3", 1_003, "message", 13, 13, "e3", author="agent", public=False,
              agent="ann3"),
        Event("T4", 1_004, "csat", 14, 14, "e4", score=4.5),
        Event("T6", 1_006, "created", 16, 16, "e6", "channel6", "high", "new", "c6", "g6",
              "a6", ("vip", "6"), fields[6], "agent", True, None, None),
    ]  # fmt: skip
    numbered = column_events(
        b"\x00\x00\x01", coded([2] * rows), 0, [7, 8, 9], coded(["T"] * rows), [5] * rows,
        [None] * rows, *([coded([None] * rows)] * 6), [None] * rows, coded([None] * rows),
        coded([None] * rows), [True] * rows, coded([None] * rows), [],
    )  # fmt: skip
    assert numbered == [Event("T", 5, "status", 9, 9)]
