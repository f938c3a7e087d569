"""Chunks read from blocks of text and grouped while read (``parse_texts``, ``TicketRuns``)
give exactly what splitting the lines, parsing them and grouping all the events give."""

from __future__ import annotations

import io
import json
import random
from itertools import pairwise
from pathlib import Path

import pytest

from slaengine.batches.chunks import Chunk, read_chunk
from slaengine.batches.ranges import range_lines, range_texts
from slaengine.inputs import jsonl
from slaengine.inputs.jsonl import line_blocks, parse_block, parse_texts, text_blocks
from slaengine.timeline import TicketRuns, TimelineSet, _scattered, build_timelines
from test_jsonl_scan import _TRICKY, _ticket_events

# Lines that are no event, to put in the middle of a ticket's run.
_BAD = [
    "",
    "   ",
    "not json",
    '{"ticket": "T1", "type": "message"}',  # no instant
    '{"ticket": "T1", "at": "2025-12-01T10:00:00Z", "type": "nonsense"}',
    "[1, 2]",
    '{"ticket": "T1", "at": "2025-12-01T10:00:00Z", "type": "status", "status": "open"} x',
]

# The scanner's tricky lines that are one line of a file.
_ONE_LINE_TRICKY = [line for line in _TRICKY if "\n" not in line]


def _history(seed: int, first_ticket: int = 0) -> list[str]:
    # Tickets out of order inside, with repeated and missing ids, no created, a second
    # created, events before created; bad and tricky lines in the middle of runs.
    rng = random.Random(seed)
    lines = []
    for ticket in range(first_ticket, first_ticket + 40):
        for line in _ticket_events(rng, ticket):
            lines.append(line)
            if rng.random() < 0.15:
                lines.append(rng.choice(_BAD + _ONE_LINE_TRICKY))
    return lines


_DEFECTS = ["none", "second created", "out of order", "id twice", "no ids", "no created",
            "created later", "before created", "same instant"]  # fmt: skip


def _usual_history(seed: int, tickets: int = 60) -> list[str]:
    # Runs in order with unique ids (the usual ticket), each with at most one defect.
    rng = random.Random(seed)
    lines = []
    for ticket in range(tickets):
        kinds = ["created"] + [rng.choice(["message", "status"]) for _ in range(rng.randrange(5))]
        minutes = list(range(len(kinds)))
        ids: list[str | None] = [f"e{i}" for i in range(len(kinds))]
        defect = rng.choice(_DEFECTS) if len(kinds) > 2 else "none"
        if defect == "second created":
            kinds[2] = "created"
        elif defect == "out of order":
            minutes[1], minutes[2] = minutes[2], minutes[1]
        elif defect == "id twice":
            ids[2] = ids[1]
        elif defect == "no ids":
            ids[1] = ids[2] = None
        elif defect == "no created":
            kinds[0] = "message"
        elif defect == "created later":
            kinds[0], kinds[2] = kinds[2], kinds[0]
        elif defect == "before created":
            minutes[0] = 9
        elif defect == "same instant":
            minutes[2] = minutes[1]
        for kind, minute, event_id in zip(kinds, minutes, ids, strict=True):
            event = {"ticket": f"T{ticket}", "at": f"2025-12-01T10:{minute:02d}:00Z",
                     "type": kind, "channel": "web", "priority": "low", "author": "agent",
                     "status": "open"}  # fmt: skip
            if event_id is not None:
                event["id"] = event_id
            lines.append(json.dumps(event))
    return lines


def _reference(lines: list[str], first: int = 1) -> tuple[list, TimelineSet]:
    # Every line split and parsed, then grouped event by event (what any input order gets).
    events: list = []
    problems: list = []
    parse_block(lines, first, "s", {}, problems, events)
    timelines, duplicates = _scattered(events, "s", problems)
    problems.sort(key=lambda problem: problem.line)
    return events, TimelineSet(timelines, problems, duplicates)


def _cut(lines: list[str], rng: random.Random) -> list[str]:
    # The lines as blocks of whole lines (each at least one), cut at random places.
    cuts = sorted(rng.sample(range(1, len(lines)), len(lines) // 3))
    return ["\n".join(lines[a:b]) for a, b in pairwise([0, *cuts, len(lines)])]


@pytest.fixture(params=[True, False], ids=["in place", "split"])
def in_place(request, monkeypatch):
    # Both ways of reading a block: in place (compiled) and split (the interpreter).
    monkeypatch.setattr(jsonl, "READS_IN_PLACE", request.param)
    return request.param


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("history", [_history, _usual_history])
def test_blocks_grouped_while_read_are_the_lines_parsed_then_grouped(seed, history, in_place):
    lines = history(seed)
    events, expected = _reference(lines, 5)
    rng = random.Random(seed)
    runs = TicketRuns("s")
    problems: list = []
    number, last = parse_texts(_cut(lines, rng), 5, "s", {}, problems, runs)
    assert number == 5 + len(lines)
    assert last == 4 + max(i for i, line in enumerate(lines, 1) if line.strip())
    assert runs.events == events
    assert runs.finish(problems) == expected


def test_a_ticket_back_later_groups_every_event_as_in_any_order(in_place):
    # T1's run, T2's, T1 again in a later block: the runs are given up, and the result is
    # the one of the events in any order (with T1's second created reported).
    lines = [
        json.dumps({"ticket": t, "id": i, "at": f"2025-12-01T10:0{m}:00Z", "type": k,
                    "channel": "web", "priority": "low", "author": "agent"})
        for t, i, m, k in [("T1", "a", 1, "created"), ("T1", "b", 2, "message"),
                           ("T2", "a", 1, "created"), ("T1", "c", 0, "message"),
                           ("T1", "b", 3, "message"), ("T2", "b", 1, "message")]
    ]  # fmt: skip
    runs = TicketRuns("s")
    parse_texts(["\n".join(lines[:3]), "\n".join(lines[3:])], 1, "s", {}, [], runs)
    built = runs.finish()
    assert built == _reference(lines)[1]
    assert [e.id for e in built.timelines["T1"].events] == ["a", "b"]  # c before created
    assert built.duplicates == 1
    assert [p.line for p in built.problems] == [4]


@pytest.mark.parametrize("size", [1, 2, 3, 1000])
@pytest.mark.parametrize("back", [False, True], ids=["grouped", "a ticket back"])
def test_runs_handed_over_in_any_batches_group_as_one_list(size, back):
    lines = _usual_history(size) + [
        line for seed in range(3) for line in _history(seed, 0 if back else 100 * seed + 100)
    ]
    events, expected = _reference(lines)
    runs = TicketRuns("s")
    for start in range(0, len(events), size):
        runs.extend(events[start : start + size])
    read_problems = [p for p in expected.problems if p.code not in ("E410", "E411", "E412")]
    assert runs.finish(read_problems) == expected
    assert build_timelines(events, "s", read_problems) == expected


def test_a_runs_events_share_one_ticket_string_across_blocks(monkeypatch):
    monkeypatch.setattr(jsonl, "READS_IN_PLACE", True)
    lines = [
        '{"ticket": "' + ticket + '", "at": "2025-12-01T10:00:00Z", "type": "status", '
        '"status": "open"}'
        for ticket in ["T-1"] * 5 + ["T-2"] * 3
    ]
    runs = TicketRuns("s")
    parse_texts(["\n".join(lines[:2]), "\n".join(lines[2:4]), "\n".join(lines[4:])], 1, "s",
                {}, [], runs)  # fmt: skip
    assert [e.line for e in runs.events] == list(range(1, 9))
    assert all(a.ticket is b.ticket for a, b in pairwise(runs.events) if a.ticket == b.ticket)


@pytest.mark.parametrize(
    "text", ["", "a", "a\n", "a\nb", "a\nb\n", "\n\n", "a\r\nb\r\n\n", "x" * 70 + "\n" + "y" * 3]
)
def test_text_blocks_are_whole_lines(text, monkeypatch):
    monkeypatch.setattr(jsonl, "_CHUNK", 4)
    blocks = list(text_blocks(io.StringIO(text, newline="")))
    *lines, unfinished = text.split("\n")
    expected = [*lines, unfinished] if unfinished else lines
    assert [line for block in blocks for line in block.split("\n")] == expected
    assert [b.split("\n") for b in blocks] == [
        b for b in line_blocks(io.StringIO(text, newline="")) if b
    ]


def test_range_texts_are_range_lines_unsplit(tmp_path: Path):
    path = tmp_path / "e.jsonl"
    data = "".join(f"line {i} \u00e9\n" for i in range(20_000)).encode() + b"\xff tail"
    path.write_bytes(data)
    for start, end in [(0, len(data)), (8, 9), (0, 65_536 * 2 + 5), (12, len(data) - 3)]:
        texts = list(range_texts(path, start, end))
        assert [text.split("\n") for text in texts] == list(range_lines(path, start, end))


@pytest.mark.parametrize("ranged", [True, False], ids=["range", "chunk file"])
def test_a_chunk_is_its_lines_parsed_then_grouped(tmp_path: Path, ranged, in_place):
    lines = [line for seed in range(4) for line in _history(seed)]
    data = ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")
    path = tmp_path / "chunk.jsonl"
    path.write_bytes(b"ignored\n" + data if ranged else data)
    chunk = Chunk(path, 11, 8, 8 + len(data)) if ranged else Chunk(path, 11)
    read = read_chunk(chunk, "s", {})
    events, expected = _reference(lines, 11)
    assert read.timelines == expected
    assert read.last_line == 10 + max(i for i, line in enumerate(lines, 1) if line.strip())
    assert sorted(read.tickets.hashes) == sorted(hash(t) for t in {e.ticket for e in events})


@pytest.mark.parametrize("escaped", ["\\t", '\\"', "\\\\", "\\u001f"])
def test_a_ticket_like_the_line_befores_is_still_checked_character_by_character(
    escaped, monkeypatch
):
    # The line before's ticket holds what an escape decodes to; the next line holds that
    # character raw, which is no JSON (or a lone surrogate): its problem, not an event.
    decoded = json.loads(f'"A{escaped}B"')
    lines = [
        '{"ticket": "A' + escaped + 'B", "at": "2025-12-01T10:00:00Z", "type": "created", '
        '"channel": "web", "priority": "low"}',
        '{"ticket": "' + decoded + '", "at": "2025-12-01T10:00:00Z", "type": "status", '
        '"status": "open"}',
    ]
    events, _ = _reference(lines)
    assert [e.ticket for e in events] == [decoded]
    runs = TicketRuns("s")
    problems: list = []
    monkeypatch.setattr(jsonl, "READS_IN_PLACE", True)
    parse_texts(["\n".join(lines)], 1, "s", {}, problems, runs)
    assert runs.events == events
    assert [p.line for p in problems] == [2]


def test_a_run_at_one_instant_out_of_seq_order_is_sorted_by_seq():
    # Events handed over by a caller (not parsed: their seq is not their place).
    events, _ = _reference(_usual_history(3, tickets=1))
    at = events[0].at
    run = [events[0]] + [
        events[0]._replace(type="status", at=at + 60, seq=seq, id=f"x{seq}")
        for seq in (30, 20, 40, 10)
    ]
    built = build_timelines(run, "s")
    assert [e.seq for e in built.timelines[run[0].ticket].events] == [1, 10, 20, 30, 40]
    runs = TicketRuns("s")
    runs.extend(run[:2])
    runs.extend(run[2:])
    assert runs.finish() == built
