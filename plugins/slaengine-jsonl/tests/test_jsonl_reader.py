"""JsonlSource: whole lines only, bad lines as problems, files in name order, safe cursors."""

from __future__ import annotations

import json

import pytest
import structlog
from slaengine_jsonl.reader import Cursor, JsonlSource

import slaengine
from slaengine.sources import EventSource

CREATED = {
    "id": "e1",
    "ticket": "T-1001",
    "at": "2025-12-01T08:30:00+01:00",
    "type": "created",
    "channel": "email",
    "priority": "normal",
}
REPLY = {
    "id": "e2",
    "ticket": "T-1001",
    "at": "2025-12-01T10:05:00+01:00",
    "type": "message",
    "author": "agent",
}


def _line(event: dict[str, object]) -> str:
    return json.dumps(event) + "\n"


def _read_all(source: JsonlSource, cursor: str | None = None, limit: int = 100):
    batch = source.read(cursor, limit)
    return batch.records, batch.cursor


def test_reads_canonical_events_as_mappings_the_engine_accepts(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(_line(CREATED) + _line(REPLY))
    source = JsonlSource("helpdesk", path)

    records, cursor = _read_all(source)

    assert isinstance(source, EventSource)
    assert [r.payload for r in records] == [CREATED, REPLY]
    assert [r.origin for r in records] == [f"{path}:1", f"{path}:2"]
    assert all(r.problem is None for r in records)
    events = [slaengine.parse_event(dict(r.payload)) for r in records]
    assert [e.ticket for e in events] == ["T-1001", "T-1001"]
    assert json.loads(cursor) == {"file": "events.jsonl", "offset": path.stat().st_size, "line": 2}


def test_a_line_without_its_newline_waits_for_the_next_read(tmp_path):
    path = tmp_path / "events.jsonl"
    first, second = _line(CREATED), _line(REPLY)
    path.write_text(first + second[:20])
    source = JsonlSource("s", path)

    records, cursor = _read_all(source)
    assert [r.payload for r in records] == [CREATED]
    assert source.read(cursor, 10).records == ()

    with path.open("a") as handle:
        handle.write(second[20:])
    records, _ = _read_all(source, cursor)
    assert [(r.origin, r.payload) for r in records] == [(f"{path}:2", REPLY)]


def test_limit_and_cursor_continue_without_loss_or_repeat(tmp_path):
    path = tmp_path / "events.jsonl"
    events = [dict(REPLY, id=f"e{n}") for n in range(7)]
    path.write_text("".join(_line(e) for e in events))
    source = JsonlSource("s", path)

    seen, cursor = [], None
    for limit in (3, 3, 3, 3):
        batch = source.read(cursor, limit)
        assert len(batch.records) <= limit
        seen += [r.payload["id"] for r in batch.records]
        cursor = batch.cursor

    assert seen == [f"e{n}" for n in range(7)]


def test_an_empty_read_returns_the_same_cursor(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(_line(CREATED) + "\n  \n")
    source = JsonlSource("s", path)

    assert source.read(None, 0).cursor is None
    records, cursor = _read_all(source)
    assert len(records) == 1
    again = source.read(cursor, 5)
    assert again.records == ()
    assert again.cursor == cursor


def test_bad_lines_become_problems_and_reading_goes_on(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"ticket": "T-1"}\n'  # a byte-order mark before the first line
        b"\n"
        b"not json\n"
        b"[1, 2]\n"
        b"null\n"
        b'{"ticket": "caf\xe9"}\n'  # Latin-1, not UTF-8
        b'{"ticket": "T-2"}\r\n'
    )

    records, _ = _read_all(JsonlSource("s", path))

    assert [(r.origin.rsplit(":", 1)[1], r.payload, r.problem) for r in records] == [
        ("1", {"ticket": "T-1"}, None),
        ("3", None, "E401 not valid JSON: Expecting value (column 1)"),
        ("4", None, "E400 an event must be a JSON object, got an array"),
        ("5", None, "E400 an event must be a JSON object, got null"),
        ("6", None, "E401 not valid UTF-8 (byte 16 of the line)"),
        ("7", {"ticket": "T-2"}, None),
    ]
    # A problem carries its line as read (without the newline), for the rejects table.
    assert [r.raw for r in records] == [
        None,
        b"not json",
        b"[1, 2]",
        b"null",
        b'{"ticket": "caf\xe9"}',
        None,
    ]


def test_a_directory_is_read_in_name_order_and_new_files_are_picked_up(tmp_path):
    (tmp_path / "2025-12-02.jsonl").write_text(_line(dict(REPLY, id="b1")))
    (tmp_path / "2025-12-01.jsonl").write_text(_line(dict(REPLY, id="a1")) + _line(REPLY)[:9])
    (tmp_path / "notes.txt").write_text("not an event\n")
    (tmp_path / "sub.jsonl").mkdir()  # a directory matching the pattern is not a file
    source = JsonlSource("dir", tmp_path)

    records, cursor = _read_all(source)
    # 2025-12-01 is finished (a later file exists): its last line counts without a newline.
    assert [r.origin for r in records] == [
        f"{tmp_path / '2025-12-01.jsonl'}:1",
        f"{tmp_path / '2025-12-01.jsonl'}:2",
        f"{tmp_path / '2025-12-02.jsonl'}:1",
    ]
    assert records[1].problem is not None
    assert json.loads(cursor)["file"] == "2025-12-02.jsonl"

    (tmp_path / "2025-12-03.jsonl").write_text(_line(dict(REPLY, id="c1")))
    with (tmp_path / "2025-12-02.jsonl").open("a") as handle:
        handle.write(_line(dict(REPLY, id="b2")))
    records, cursor = _read_all(source, cursor)

    assert [r.payload["id"] for r in records] == ["b2", "c1"]
    assert json.loads(cursor) == {
        "file": "2025-12-03.jsonl",
        "offset": (tmp_path / "2025-12-03.jsonl").stat().st_size,
        "line": 1,
    }


def test_the_pattern_chooses_the_files(tmp_path):
    (tmp_path / "a.ndjson").write_text(_line(CREATED))
    (tmp_path / "b.jsonl").write_text(_line(REPLY))

    records, _ = _read_all(JsonlSource("s", tmp_path, pattern="*.ndjson"))

    assert [r.payload for r in records] == [CREATED]


def test_a_path_that_does_not_exist_yet_reads_nothing_until_it_does(tmp_path):
    source = JsonlSource("s", tmp_path / "later" / "events.jsonl")
    assert source.read(None, 10).records == ()

    (tmp_path / "later").mkdir()
    (tmp_path / "later" / "events.jsonl").write_text(_line(CREATED))
    assert [r.payload for r in source.read(None, 10).records] == [CREATED]


def test_a_truncated_file_is_read_again_from_its_start_with_a_warning(tmp_path):
    path = tmp_path / "events.jsonl"
    path.write_text(_line(CREATED) + _line(REPLY))
    source = JsonlSource("s", path)
    _, cursor = _read_all(source)

    path.write_text(_line(dict(REPLY, id="new")))
    with structlog.testing.capture_logs() as logs:
        records, _ = _read_all(source, cursor)

    assert [r.payload["id"] for r in records] == ["new"]
    assert [(e["log_level"], e["source"]) for e in logs] == [("warning", "s")]


def test_when_the_cursors_file_is_gone_reading_goes_on_with_the_next(tmp_path):
    (tmp_path / "01.jsonl").write_text(_line(CREATED))
    source = JsonlSource("s", tmp_path)
    _, cursor = _read_all(source)

    (tmp_path / "01.jsonl").unlink()
    assert source.read(cursor, 10) == source.read(cursor, 10)
    assert source.read(cursor, 10).records == ()

    (tmp_path / "02.jsonl").write_text(_line(REPLY))
    records, cursor = _read_all(source, cursor)
    assert [r.payload for r in records] == [REPLY]
    assert json.loads(cursor)["file"] == "02.jsonl"


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "[]",
        '{"file": "a.jsonl"}',
        '{"file": "a", "offset": -1, "line": 0}',
        '{"offset": 1}',
        '{"file": "a", "offset": true, "line": 0}',
    ],
    ids=["empty", "array", "no-offset", "negative", "no-file", "bool"],
)
def test_a_foreign_cursor_is_refused(tmp_path, cursor):
    with pytest.raises(ValueError, match="cursor"):
        JsonlSource("s", tmp_path).read(cursor, 10)


def test_cursor_round_trip():
    cursor = Cursor("événements.jsonl", 1234, 56)
    assert Cursor.loads(cursor.dumps()) == cursor


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param(
            '{"ticket": "T-1", "n": ' + "9" * 5000 + "}",
            "E401 not usable JSON: Exceeds the limit (4300 digits) for integer string conversion",
            id="huge-integer",
        ),
        pytest.param(
            '{"ticket": "T-1", "deep": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "E401 not usable JSON: nested too deeply",
            id="deep-nesting",
        ),
        pytest.param(
            '{"ticket": "T-\\ud800"}',
            "E401 not valid Unicode: a \\u escape names a lone surrogate",
            id="lone-surrogate-value",
        ),
        pytest.param(
            '{"T-\\udfff": 1}',
            "E401 not valid Unicode: a \\u escape names a lone surrogate",
            id="lone-surrogate-key",
        ),
    ],
)
def test_poison_lines_are_located_problems_and_the_lines_around_them_are_read(
    tmp_path, line, problem
):
    path = tmp_path / "events.jsonl"
    path.write_text(_line(CREATED) + line + "\n" + _line(REPLY), encoding="utf-8")

    records, cursor = _read_all(JsonlSource("s", path))

    assert [(r.origin, r.payload, r.problem) for r in records] == [
        (f"{path}:1", CREATED, None),
        (f"{path}:2", None, problem),
        (f"{path}:3", REPLY, None),
    ]
    assert json.loads(cursor)["line"] == 3  # past the poison line: it is not read again


def test_surrogate_pairs_nul_and_escaped_backslashes_are_ordinary_text(tmp_path):
    path = tmp_path / "events.jsonl"
    # An emoji as a \u pair, a NUL, and a backslash before "ud800" are all valid JSON text.
    path.write_text(
        '{"ticket": "T-\\ud83d\\ude00"}\n{"ticket": "T-\\u0000"}\n{"ticket": "T-\\\\ud800"}\n',
        encoding="utf-8",
    )

    records, _ = _read_all(JsonlSource("s", path))

    assert [(r.payload, r.problem) for r in records] == [
        ({"ticket": "T-\U0001f600"}, None),
        ({"ticket": "T-\x00"}, None),
        ({"ticket": "T-\\ud800"}, None),
    ]


def test_a_cursor_naming_an_undecodable_file_name_is_ascii_and_round_trips(tmp_path):
    name = "ev-\udce9.jsonl"  # the byte 0xE9, as the file system's name decodes
    cursor = Cursor(name, 12, 1).dumps()
    cursor.encode("ascii")
    assert Cursor.loads(cursor) == Cursor(name, 12, 1)
