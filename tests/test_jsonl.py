"""Reading events from JSON Lines files (plain and gzip): good lines used, bad ones reported."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import pytest

from slaengine.errors import Problem
from slaengine.inputs import parse_lines, read_events

DATA = Path(__file__).resolve().parent / "data" / "events"

MIXED_PROBLEMS = [
    (2, "E401", "not valid JSON: Expecting value"),
    (3, "E400", "an event must be a JSON object, got a list"),
    (6, "E410", "ticket 'T-2' has no 'created' event; its 1 event is ignored"),
    (7, "E411", "ticket 'T-1' is already created (line 1); event ignored"),
    (8, "E412", "event is before ticket 'T-1' was created; event ignored"),
    (
        10,
        "E400",
        "'type' must be one of created, message, status, update, csat, got 'craeted'; "
        "did you mean 'created'?",
    ),
]


@pytest.fixture
def clean_events() -> Path:
    """Five good events of three tickets."""
    return DATA / "clean.jsonl"


@pytest.fixture
def mixed_events() -> Path:
    """Good events mixed with one line of each kind of mistake."""
    return DATA / "mixed.jsonl"


@pytest.fixture
def gzipped_clean_events(tmp_path: Path, clean_events: Path) -> Path:
    """``clean.jsonl`` compressed with gzip."""
    target = tmp_path / "clean.jsonl.gz"
    with clean_events.open("rb") as source, gzip.open(target, "wb") as out:
        shutil.copyfileobj(source, out)
    return target


def test_read_clean_file(clean_events: Path) -> None:
    built = read_events(clean_events)
    assert list(built.timelines) == ["T-1", "T-2", "T-3"]
    assert [e.id for e in built.timelines["T-1"].events] == ["a1", "a2"]
    assert [e.line for e in built.timelines["T-2"].events] == [3, 4]
    assert (built.problems, built.duplicates) == ([], 0)


def test_read_gzip_file(gzipped_clean_events: Path, clean_events: Path) -> None:
    built = read_events(gzipped_clean_events)
    plain = read_events(clean_events)
    assert built.timelines == plain.timelines
    assert built.problems == []


def test_bad_lines_are_reported_with_line_numbers_and_the_rest_is_used(
    mixed_events: Path,
) -> None:
    built = read_events(mixed_events)
    assert [(p.line, p.code, p.message) for p in built.problems] == MIXED_PROBLEMS
    assert built.problems[0].column == 37  # the unquoted word after "at":
    assert {p.source for p in built.problems} == {str(mixed_events)}
    assert [e.id for e in built.timelines["T-1"].events] == ["a1", "a3"]
    assert [e.id for e in built.timelines["T-3"].events] == ["c1"]
    assert "T-2" not in built.timelines
    assert built.duplicates == 1


def test_invalid_json_problem_prints_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text('{"ticket": x}\n', encoding="utf-8")
    (problem,) = read_events(path).problems
    assert str(problem) == f"{path}:1:12: E401 not valid JSON: Expecting value"


def test_truncated_line_column_points_at_its_end() -> None:
    # Regression: the newline was once parsed too, putting the error at column 1.
    problems: list[Problem] = []
    list(parse_lines(['{"ticket": "T-1", "at": \n'], "ev.jsonl", problems=problems))
    assert [(p.line, p.column) for p in problems] == [(1, 25)]


def test_parse_lines_skips_blank_lines_and_counts_them() -> None:
    problems: list[Problem] = []
    lines = [
        "\n",
        '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created", '
        '"channel": "email", "priority": "low"}\n',
        "   \n",
        '{"ticket": "T-1", "at": "2025-12-01T09:10:00Z", "type": "message", "author": "bot"}\n',
    ]
    events = list(parse_lines(lines, "ev.jsonl", problems=problems))
    assert [(e.line, e.seq, e.type) for e in events] == [(2, 2, "created"), (4, 4, "message")]
    assert problems == []


def test_parse_lines_applies_the_status_map() -> None:
    problems: list[Problem] = []
    line = '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "status", "status": "waiting"}'
    (event,) = parse_lines([line], status_map={"waiting": "on_hold"}, problems=problems)
    assert event.status == "on_hold"


def test_read_events_with_custom_status_map(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created", '
        '"channel": "email", "priority": "low", "status": "escalated"}\n'
        '{"ticket": "T-1", "at": "2025-12-01T09:10:00Z", "type": "status", "status": "escalated"}\n'
        '{"ticket": "T-1", "at": "2025-12-01T09:20:00Z", "type": "status", "status": "parked"}\n',
        encoding="utf-8",
    )
    built = read_events(path, {"escalated": "open"})
    assert [e.status for e in built.timelines["T-1"].events] == ["open", "open"]
    assert [(p.line, p.code) for p in built.problems] == [(3, "E400")]


def test_undecodable_bytes_are_reported_and_reading_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(
        b'{"ticket": "T-1", "at": "2025-12-01T09:00:00Z", "type": "created", '
        b'"channel": "email", "priority": "low", "customer": "M\xfcller"}\n'
        b'{"ticket": "T-2", "at": "2025-12-01T09:00:00Z", "type": "created", '
        b'"channel": "email", "priority": "low", "customer": "M\xc3\xbcller"}\n'
    )
    built = read_events(path)
    assert [(p.line, p.column, p.message) for p in built.problems] == [
        (1, 121, "not UTF-8 text: byte 0xFC cannot be read")
    ]
    assert built.timelines["T-2"].events[0].customer == "M\u00fcller"
    assert "T-1" not in built.timelines


def test_missing_file_raises_os_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_events(tmp_path / "missing.jsonl")
