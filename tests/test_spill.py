"""Partitioned spill and the batch runner: every ticket whole in one partition, nothing lost."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from slaengine.batches import map_tickets
from slaengine.batches.spill import read_partition, spill
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
        for row in path.read_text(encoding="utf-8").splitlines():
            rows += 1
            text = row.split("\t", 1)[1]
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
    ],
)
def test_ticket_of_reads_what_the_parser_reads(line, ticket):
    assert ticket_of(line) == ticket
