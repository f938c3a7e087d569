"""Partitioned spill and the batch runner: every ticket whole in one partition, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slaengine.batches import map_tickets
from slaengine.batches.spill import read_partition, spill
from slaengine.batches.spill_rows import spilled_rows
from slaengine.inputs.tickets import partition_of, ticket_of


def _event(ticket: str, minute: int, kind: str = "created", **extra: object) -> str:
    base = {"ticket": ticket, "at": f"2025-12-01T10:{minute:02d}:00Z", "type": kind}
    if kind == "created":
        base.update(channel="email", priority="normal")
    return json.dumps({**base, **extra})


LINES = [
    _event("A", 0),
    _event("B", 1),
    "{not json",
    _event("A", 5, "message", author="agent", id="m1"),
    _event("C", 2, "message", author="agent"),  # C is never created
    _event("B", 3, "status", status="bogus"),
    _event("A", 5, "message", author="agent", id="m1"),  # duplicate id
    "",
    _event("B", 0, "status", status="open"),  # before B was created
]


def test_partition_is_stable_and_in_range():
    assert partition_of("T-1", 7) == partition_of("T-1", 7)
    assert {partition_of(f"T-{i}", 5) for i in range(200)} == set(range(5))


def test_every_ticket_lands_whole_in_one_partition(tmp_path: Path):
    result = spill(LINES, tmp_path, 3, "in.jsonl")
    assert result.problems == []  # bad lines are kept for the partition parser to report
    assert result.lines == 9
    seen: dict[str, int] = {}
    rows = 0
    for index, path in enumerate(result.paths):
        for _number, line in spilled_rows(path.read_bytes()):
            rows += 1
            text = line.decode()
            if text.startswith("{not"):
                assert index == 0
                continue
            ticket = json.loads(text)["ticket"]
            assert seen.setdefault(ticket, index) == index
    assert rows == 8  # every non-blank line, none lost
    assert set(seen) == {"A", "B", "C"}


def test_partitions_keep_original_line_numbers(tmp_path: Path):
    result = spill(LINES, tmp_path, 2, "in.jsonl")
    problems = []
    tickets = {}
    duplicates = 0
    for path in result.paths:
        built = read_partition(path, "in.jsonl")
        problems += [(p.line, p.code) for p in built.problems]
        tickets.update(built.timelines)
        duplicates += built.duplicates
    assert sorted(problems) == [(3, "E401"), (5, "E410"), (6, "E400"), (9, "E412")]
    assert sorted(tickets) == ["A", "B"]
    assert [e.line for e in tickets["A"].events] == [1, 4]
    assert duplicates == 1


def test_map_tickets_serial_and_parallel_agree(tmp_path: Path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(LINES) + "\n", encoding="utf-8")

    def count(timelines):
        return sorted(timelines.timelines)

    serial = map_tickets(events, count, jobs=1, partitions=4)
    parallel = map_tickets(events, count, jobs=2, partitions=4)
    assert serial.results == parallel.results
    assert sorted(t for part in serial.results for t in part) == ["A", "B"]
    assert [(p.line, p.code) for p in serial.problems] == [
        (3, "E401"),
        (5, "E410"),
        (6, "E400"),
        (9, "E412"),
    ]
    assert serial.problems == parallel.problems
    assert serial.duplicates == parallel.duplicates == 1


@pytest.mark.parametrize(
    ("line", "ticket"),
    [
        ('{"ticket": "T-1", "at": "x"}', "T-1"),
        ('{"at": "x", "ticket" : "T 2"}', "T 2"),
        ('{"ticket": 42, "type": "created"}', "42"),
        ('{"ticket": 42}', "42"),
        ('{"ticket": "A\\u0042"}', "AB"),  # an escape: decoded properly
        ('{"fields": {"ticket": "inner"}, "ticket": "outer"}', "outer"),  # nested key first
        ('{"ticket": true}', None),
        ('{"type": "created"}', None),
        ("{not json", None),
        ("[1, 2]", None),
        ('{"x\\"ticket": "Z", "ticket": "Y"}', "Y"),  # a key ending in "ticket
        ('{"ticket": "Z", "ticket": "Y"}', "Y"),  # a repeated key: the last one counts
        ('{"ticket": "Z", "\\u0074icket": "Y"}', "Y"),  # the same, spelt with an escape
        ('{"\\u0074icket": "Y"}', "Y"),
    ],
    ids=[
        "plain",
        "spaced",
        "number-comma",
        "number-brace",
        "escape",
        "nested-first",
        "boolean",
        "missing",
        "not-json",
        "not-object",
        "quote-in-key",
        "repeated",
        "repeated-escaped",
        "escaped-key",
    ],
)
def test_ticket_of_reads_what_the_parser_reads(line, ticket):
    assert ticket_of(line) == ticket


# Events of tickets whose ids the ticket pattern could misread: each is an event of ticket
# T5 ... T8 (what the parser reads), the first three naming another ticket on the way.
_UNUSUAL = [
    '{"x\\"ticket": "T1", "ticket": "T5", "at": "2025-12-01T11:00:00Z", "type": "message", '
    '"author": "agent", "id": "u1"}',
    '{"ticket": "T1", "ticket": "T6", "at": "2025-12-01T11:00:00Z", "type": "message", '
    '"author": "agent", "id": "u2"}',
    '{"ticket": "T1", "\\u0074icket": "T7", "at": "2025-12-01T11:00:00Z", "type": "message", '
    '"author": "agent", "id": "u3"}',
    '{"\\u0074icket": "T8", "at": "2025-12-01T11:00:00Z", "type": "message", '
    '"author": "agent", "id": "u4"}',
]
# Lines the parser rejects (not JSON, a bad instant, a ticket only in a nested object).
_BAD = [
    "{not json",
    '{"ticket": "T2", "at": "never", "type": "message", "author": "agent"}',
    '{"fields": {"ticket": "T3"}, "at": "2025-12-01T11:00:00Z", "type": "created"}',
]


def _unusual_history() -> list[str]:
    import random

    lines = [
        _event(f"T{t}", minute, "created" if minute == 0 else "message", author="agent",
               id=f"{t}-{minute}")
        for t in range(12)
        for minute in range(0, 50, 10)
    ]  # fmt: skip
    random.Random(3).shuffle(lines)
    for at, line in zip((5, 17, 23, 31), _UNUSUAL, strict=True):
        lines.insert(at, line)
    for at, line in zip((2, 40, 50), _BAD, strict=True):
        lines.insert(at, line)
    return lines


def _reference(lines: list[str]):
    from slaengine.inputs.jsonl import parse_numbered
    from slaengine.timeline import build_timelines

    problems: list = []
    events = list(parse_numbered(enumerate(lines, start=1), "x", {}, problems))
    return build_timelines(events, "x", problems)


def _read_back(files_of_partitions) -> tuple[dict, list, int]:
    timelines: dict = {}
    problems = []
    duplicates = 0
    for files in files_of_partitions:
        read = read_partition(files, "x")
        assert timelines.keys().isdisjoint(read.timelines)  # every ticket whole in one
        timelines.update(read.timelines)
        problems += [(p.line, p.code) for p in read.problems]
        duplicates += read.duplicates
    return timelines, sorted(problems), duplicates


@pytest.mark.parametrize("ranged", [False, True], ids=["hash", "ranges"])
@pytest.mark.parametrize("route", ["bytes", "bytes-small-blocks", "bytes-shared", "text"])
def test_unusual_lines_land_with_their_ticket(
    tmp_path: Path, monkeypatch, route: str, ranged: bool
):
    import slaengine.batches.spill as spill_module
    from slaengine.batches.spill import spill_file
    from slaengine.inputs.tickets import TicketRoutes

    lines = _unusual_history()
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Ranges of ids (T0 T1 T10 T11 | T2 T3 | T4 T5 T6 | T7 | T8 T9 as bytes sort), or the hash.
    routes = TicketRoutes(5, (b"T2", b"T4", b"T7", b"T8")) if ranged else None
    if route == "bytes-small-blocks":  # most blocks plain (one search each), some not
        monkeypatch.setattr(spill_module, "_BLOCK", 300)
    if route == "text":
        spilled = spill(lines, tmp_path / "p", 5, "x", routes)
    else:
        workers = 2 if "shared" in route else 1
        spilled = spill_file(path, tmp_path / "p", 5, "x", workers=workers, routes=routes)
    if ranged:  # each ticket in the partition of its range, unusual lines too
        for index, files in enumerate(spilled.partition_files()):
            tickets = set(read_partition(files, "x").timelines)
            assert all(routes.of(ticket) == index for ticket in tickets)
            assert tickets
    reference = _reference(lines)
    timelines, problems, duplicates = _read_back(spilled.partition_files())
    assert {"T5", "T6", "T7", "T8"} <= timelines.keys()
    assert timelines == reference.timelines
    assert problems == sorted((p.line, p.code) for p in reference.problems)
    assert [line for line, _ in problems] == [3, 41, 51]  # the bad lines, by their numbers
    assert duplicates == reference.duplicates
    assert spilled.lines == len(lines)


def test_a_block_of_plain_lines_is_searched_once(tmp_path: Path):
    from slaengine.batches.spill import plain_tickets

    plain = [_event(f"T{t}", 1) for t in range(5)]
    data = "\n".join(plain).encode()
    assert plain_tickets(data, 5) == [f"T{t}".encode() for t in range(5)]
    assert plain_tickets("\n".join([*plain, "caf\u00e9 " + plain[0]]).encode(), 6) is not None
    # A bad line with a plain ticket is plain too (the parser reports it wherever it goes).
    assert plain_tickets("\n".join([*plain, _BAD[1]]).encode(), 6) is not None
    for odd in [*_UNUSUAL, _BAD[0], "", '{"ticket": 42}', '{"ticket": "\u00e9\udcff"}']:
        text = "\n".join([*plain, odd])
        raw = text.encode("utf-8", errors="surrogateescape")
        assert plain_tickets(raw, 6) is None, odd
