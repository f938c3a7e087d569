"""Ticket-grouped input is chunked instead of spilled, with the spill's exact results."""

from __future__ import annotations

import datetime as dt
import gzip
import itertools
import json
from array import array
from pathlib import Path

import pytest

import slaengine.batches.runner as batch_module
from slaengine.batches import map_tickets
from slaengine.batches.chunks import (
    ChunkTickets,
    NotGrouped,
    TicketCheck,
    chunk_tickets,
    looks_grouped,
    read_chunk,
    ticket_order,
    write_chunks,
)
from slaengine.cli import main
from slaengine.errors import UserError
from slaengine.inputs.synthetic import write_jsonl
from slaengine.inputs.tickets import ticket_of
from slaengine.timeline import TimelineSet

ROOT = Path(__file__).resolve().parents[1]
POLICIES = str(ROOT / "benchmarks" / "policies" / "bench.yaml")
START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


def _event(ticket: str, minute: int, kind: str = "created", **extra: object) -> str:
    base = {"ticket": ticket, "at": f"2025-12-01T10:{minute:02d}:00Z", "type": kind}
    if kind == "created":
        base.update(channel="email", priority="normal")
    return json.dumps({**base, **extra})


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3,000 synthetic tickets (about 30,000 lines), ticket by ticket."""
    path = tmp_path_factory.mktemp("grouped") / "events.jsonl"
    write_jsonl(path, 3_000, 7, START, 60)
    return path


def _summary(timelines: TimelineSet) -> list[tuple[str, int, tuple[int, ...]]]:
    # What a partition holds: each ticket with its events' line numbers.
    return sorted(
        (ticket, len(timeline.events), tuple(e.line for e in timeline.events))
        for ticket, timeline in timelines.timelines.items()
    )


def _everything(path: Path, jobs: int, chunked: bool, monkeypatch: pytest.MonkeyPatch) -> tuple:
    with monkeypatch.context() as patch:
        if not chunked:
            patch.setattr(batch_module, "chunkable", lambda path: False)
        found = map_tickets(path, _summary, jobs=jobs, partitions=4)
    tickets = sorted(t for part in found.results for t in part)
    problems = [(p.line, p.code, p.message) for p in found.problems]
    return tickets, problems, found.lines, found.duplicates


# -- cutting ---------------------------------------------------------------------------------


def test_looks_grouped(tmp_path: Path, grouped: Path):
    assert looks_grouped(grouped)
    interleaved = tmp_path / "interleaved.jsonl"
    interleaved.write_text(
        "\n".join([_event("A", 0), _event("B", 1), _event("A", 2, "status", status="open")]) + "\n"
    )
    assert not looks_grouped(interleaved)
    lone_cr = tmp_path / "cr.jsonl"
    lone_cr.write_bytes(f"{_event('A', 0)}\r{_event('B', 1)}\n{_event('C', 1)}\n".encode())
    assert not looks_grouped(lone_cr)
    one_line = tmp_path / "one.jsonl"
    one_line.write_text(_event("A", 0) + "\n")
    assert not looks_grouped(one_line)


def test_chunks_end_where_the_ticket_changes(tmp_path: Path):
    lines = []
    for n in range(40):
        lines.append(_event(f"T{n}", 0))
        lines.extend(_event(f"T{n}", 1 + k, "message", author="agent") for k in range(n % 7))
        if n % 5 == 0:
            lines.extend(["", "{not json"])  # stays with the ticket before it
    source = tmp_path / "in.jsonl"
    source.write_text("\n".join(lines) + "\n")
    chunks = list(write_chunks(source, tmp_path / "chunks", 1_000))
    assert len(chunks) > 5
    joined = b"".join(chunk.path.read_bytes() for chunk in chunks)
    assert joined == source.read_bytes()
    line = 1
    for chunk in chunks:
        assert chunk.first == line
        text = chunk.path.read_text().splitlines()
        line += len(text)
        first_ticket = ticket_of(text[0])
        assert first_ticket is not None
        assert text[0] == _event(first_ticket, 0)  # every chunk starts with a created event
        assert chunk.path.stat().st_size >= 1_000 or chunk is chunks[-1]  # the size asked for


def test_one_huge_ticket_is_one_chunk(tmp_path: Path):
    source = tmp_path / "in.jsonl"
    rows = [_event("A", 0), *(_event("A", 1, "message", author="agent") for _ in range(50))]
    source.write_text("\n".join([*rows, _event("B", 2)]) + "\n")
    chunks = list(write_chunks(source, tmp_path / "chunks", 500))
    assert [len(c.path.read_text().splitlines()) for c in chunks] == [51, 1]


def test_crlf_is_a_line_break_and_a_lone_cr_refuses(tmp_path: Path):
    source = tmp_path / "crlf.jsonl"
    source.write_bytes("\r\n".join([_event("A", 0), _event("B", 1), ""]).encode())
    (chunk,) = write_chunks(source, tmp_path / "c1", 1_000)
    read = read_chunk(chunk, "crlf.jsonl", {})
    assert sorted(read.timelines.timelines) == ["A", "B"]
    assert read.last_line == 2
    source.write_bytes(f"{_event('A', 0)}\r{_event('B', 1)}\n".encode())
    with pytest.raises(NotGrouped):
        list(write_chunks(source, tmp_path / "c2", 1_000))


# -- the same results as the spill -----------------------------------------------------------


@pytest.mark.parametrize("jobs", [1, 2])
def test_chunks_give_what_the_spill_gives(grouped: Path, jobs: int, monkeypatch):
    chunked = _everything(grouped, jobs, True, monkeypatch)
    spilled = _everything(grouped, jobs, False, monkeypatch)
    assert chunked == spilled
    assert len(chunked[0]) == 3_000


def test_a_ticket_seen_again_later_falls_back_to_the_spill(tmp_path: Path, grouped: Path):
    late = tmp_path / "late.jsonl"
    late_csat = json.dumps(
        {"ticket": "T-0000001", "at": "2025-11-30T12:00:00Z", "type": "csat", "score": 2}
    )
    late.write_text(grouped.read_text() + late_csat + "\n")
    assert looks_grouped(late)  # the start looks fine: the chunks find out
    restarts: list[int] = []
    folded: list[object] = []
    found = map_tickets(
        late,
        _summary,
        jobs=2,
        partitions=8,
        fold=folded.append,
        restart=lambda: (restarts.append(1), folded.clear()),
    )
    assert restarts == [1]
    tickets = {t: lines for part in folded for t, _, lines in part}
    assert tickets["T-0000001"][-1] == len(late.read_text().splitlines())  # the csat is there
    assert found.partitions == 8  # spilled


def test_a_fold_needs_a_restart(grouped: Path):
    with pytest.raises(ValueError, match="restart"):
        map_tickets(grouped, _summary, fold=print)


# -- the check that no ticket is in two chunks -----------------------------------------------


def _named(*tickets: str) -> ChunkTickets:
    # What a chunk naming ``tickets`` reports, as chunk_tickets makes it.
    return ChunkTickets(array("q", map(hash, tickets)), *_bounds(tickets))


def _bounds(tickets: tuple[str, ...]) -> tuple[str | None, str | None]:
    if not tickets:
        return None, None
    return min(tickets, key=ticket_order), max(tickets, key=ticket_order)


def test_ticket_order_puts_numbers_in_the_order_they_count():
    ids = ["T-10", "T-9", "T-100", "T-011", "B", "A"]
    assert sorted(ids, key=ticket_order) == ["A", "B", "T-9", "T-10", "T-011", "T-100"]


@pytest.mark.parametrize(
    "chunks",
    [
        # In ticket order, then a chunk that is not (its least before the greatest so far):
        # the ticket repeated is in the first chunk, far away.
        [("T-1", "T-2"), ("T-3", "T-4"), (), ("T-5", "T-6"), ("T-7", "T-2")],
        [("T-1", "T-2"), ("T-3",), ("T-2", "T-9")],
        # Out of order from the start: the set finds it.
        [("T-5", "T-1"), ("T-3", "T-4"), ("T-7", "T-8"), ("T-9", "T-1")],
        [("Z",), ("A",), ("M", "Z")],
    ],
)
def test_a_ticket_in_two_chunks_anywhere_is_found(chunks):
    check = TicketCheck()
    for tickets in chunks[:-1]:
        check.add(_named(*tickets))
    with pytest.raises(NotGrouped):
        check.add(_named(*chunks[-1]))


@pytest.mark.parametrize(
    "chunks",
    [
        [("T-1", "T-2"), ("T-3", "T-4"), (), ("T-10", "T-9")],
        [("T-3", "T-4"), ("T-1", "T-2"), ("T-5",), ("T-0",)],  # out of order, all distinct
        [("B",), ("A",), ("C", "D")],
    ],
)
def test_chunks_of_distinct_tickets_pass(chunks):
    check = TicketCheck()
    for tickets in chunks:
        check.add(_named(*tickets))


def test_a_chunk_names_the_tickets_its_timelines_dropped(tmp_path: Path):
    # "B" has no created event: no timeline, but the chunk names it all the same.
    source = tmp_path / "in.jsonl"
    rows = [_event("T-10", 0), _event("B", 1, "status", status="open"), _event("T-9", 2)]
    source.write_text("\n".join(rows) + "\n")
    (chunk,) = write_chunks(source, tmp_path / "chunks", 10_000)
    read = read_chunk(chunk, "in.jsonl", {})
    assert sorted(read.timelines.timelines) == ["T-10", "T-9"]
    assert sorted(read.tickets.hashes) == sorted(map(hash, ["T-10", "B", "T-9"]))
    assert (read.tickets.low, read.tickets.high) == ("B", "T-10")
    assert chunk_tickets([], read.timelines) == ChunkTickets(array("q"))


def _ticket_lines(path: Path) -> list[list[str]]:
    # The file's lines, ticket by ticket.
    lines = path.read_text().splitlines()
    return [list(run) for _, run in itertools.groupby(lines, ticket_of)]


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("ordered", [True, False])
def test_a_ticket_split_across_distant_chunks_gives_what_the_spill_gives(
    tmp_path: Path, grouped: Path, jobs: int, ordered: bool, monkeypatch
):
    tickets = _ticket_lines(grouped)
    if not ordered:
        tickets = tickets[1::2] + tickets[0::2]  # grouped, but not in ticket order
    # The 11th ticket's last line moved near the end: its ticket is in two distant chunks.
    moved = tickets[10].pop()
    tickets[-3].append(moved)
    split = tmp_path / "split.jsonl"
    split.write_text("".join(line + "\n" for run in tickets for line in run))
    assert looks_grouped(split)
    restarts: list[int] = []
    found = map_tickets(
        split, _summary, jobs=jobs, partitions=8, restart=lambda: restarts.append(1)
    )
    assert restarts  # fell back to the spill
    assert found.partitions == 8
    got = sorted(t for part in found.results for t in part)
    assert got == _everything(split, jobs, False, monkeypatch)[0]
    line = split.read_text().splitlines().index(moved) + 1
    moved_ticket = ticket_of(moved)
    assert line in next(lines for t, _, lines in got if t == moved_ticket)


@pytest.mark.parametrize("ordered", [True, False])
def test_distinct_tickets_in_any_order_stay_chunked(
    tmp_path: Path, grouped: Path, ordered: bool, monkeypatch
):
    tickets = _ticket_lines(grouped)
    if not ordered:
        tickets.reverse()
    path = tmp_path / "any.jsonl"
    path.write_text("".join(line + "\n" for run in tickets for line in run))
    restarts: list[int] = []
    found = map_tickets(path, _summary, partitions=8, restart=lambda: restarts.append(1))
    assert restarts == []
    assert (
        sorted(t for part in found.results for t in part)
        == (_everything(path, 1, False, monkeypatch)[0])
    )


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_audit_json_is_the_same_chunked_or_spilled(
    tmp_path: Path, grouped: Path, jobs: str, monkeypatch, capsys
):
    compressed = tmp_path / "events.jsonl.gz"
    compressed.write_bytes(gzip.compress(grouped.read_bytes()))
    argv = ["audit", "-p", POLICIES, "-e", str(compressed), "--at", "2025-11-01T00:00:00Z"]
    argv += ["--json", "--tz", "Europe/Berlin", "--jobs", jobs]
    assert main([*argv, "--breaches", str(tmp_path / "chunked.csv")]) == 0
    chunked = json.loads(capsys.readouterr().out)
    monkeypatch.setattr(batch_module, "chunkable", lambda path: False)
    assert main([*argv, "--breaches", str(tmp_path / "spilled.csv")]) == 0
    spilled = json.loads(capsys.readouterr().out)
    # About as many chunks as partitions (the gzip is sized from its compression ratio).
    assert abs(chunked["input"].pop("partitions") - spilled["input"].pop("partitions")) <= 1
    assert chunked == spilled
    assert chunked["input"]["lines"] == len(grouped.read_text().splitlines())
    rows = sorted((tmp_path / "chunked.csv").read_text().splitlines())
    assert rows == sorted((tmp_path / "spilled.csv").read_text().splitlines())
    assert len(rows) > 100


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_damaged_grouped_gzip_is_a_user_error(
    tmp_path: Path, grouped: Path, jobs: int, monkeypatch
):
    import slaengine.batches.chunks

    monkeypatch.setattr(slaengine.batches.chunks, "_BLOCK", 1 << 16)  # the start is read whole
    whole = gzip.compress(grouped.read_bytes())
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    assert looks_grouped(cut)
    with pytest.raises(UserError, match="damaged or cut short"):
        map_tickets(cut, _summary, jobs=jobs, partitions=4)


def test_a_lone_carriage_return_later_on_falls_back_to_the_spill(
    tmp_path: Path, grouped: Path, monkeypatch
):
    import slaengine.batches.chunks

    monkeypatch.setattr(slaengine.batches.chunks, "_BLOCK", 1 << 16)  # the start is read whole
    text = grouped.read_text().splitlines()
    cr = tmp_path / "cr.jsonl"
    # Past the start that looks_grouped reads: a lone "\r" ends line 25,000.
    cr.write_bytes(("\n".join(text[:25_000]) + "\r" + "\n".join(text[25_000:]) + "\n").encode())
    assert looks_grouped(cr)
    restarts: list[int] = []
    found = map_tickets(cr, _summary, jobs=2, partitions=4, restart=lambda: restarts.append(1))
    assert restarts == [1]  # the spill reads it as text does
    assert found.lines == len(text)  # the "\r" ended line 25,000 as a "\n" would


# -- Parquet ---------------------------------------------------------------------------------


def _parquet(path: Path, rows: list[dict]) -> Path:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    keys = sorted({key for row in rows for key in row} - {"fields", "tags"})
    table = pa.table({key: [row.get(key) for row in rows] for key in keys})
    pq.write_table(table, path, row_group_size=700)
    return path


def _rows(jsonl: Path) -> list[dict]:
    return [json.loads(line) for line in jsonl.read_text().splitlines()]


def test_parquet_ranges_only_of_a_grouped_file(tmp_path: Path, grouped: Path):
    from slaengine.inputs.parquet_parts import parquet_ranges

    rows = _rows(grouped)[:5_000]
    ranges = parquet_ranges(_parquet(tmp_path / "g.parquet", rows), 4)
    assert ranges is not None
    assert (ranges[0].start, ranges[-1].end, len(ranges)) == (0, 5_000, 4)
    for before, after in itertools.pairwise(ranges):
        assert before.end == after.start
        assert rows[after.start]["ticket"] != rows[after.start - 1]["ticket"]  # a ticket starts
    shuffled = [rows[-1], *rows[:-1]]  # the last ticket's last event comes first
    assert parquet_ranges(_parquet(tmp_path / "s.parquet", shuffled), 4) is None


@pytest.mark.parametrize("jobs", [1, 2])
def test_parquet_chunks_give_what_the_spill_gives(
    tmp_path: Path, grouped: Path, jobs: int, monkeypatch
):
    import slaengine.batches.runner

    rows = _rows(grouped)[:8_000]
    rows.insert(100, {"at": "2025-10-01T00:00:00Z", "type": "status", "status": "open"})
    rows.insert(200, {"ticket": "", "at": "x", "type": "status"})
    path = _parquet(tmp_path / "g.parquet", rows)
    chunked = map_tickets(path, _summary, jobs=jobs, partitions=4)
    assert chunked.partitions == 4
    monkeypatch.setattr(slaengine.batches.runner, "parquet_tasks", lambda path, count, jobs: None)
    spilled = map_tickets(path, _summary, jobs=jobs, partitions=4)
    assert sorted(t for part in chunked.results for t in part) == sorted(
        t for part in spilled.results for t in part
    )
    assert [(p.line, p.message) for p in chunked.problems] == [
        (p.line, p.message) for p in spilled.problems
    ]
    assert [p.line for p in chunked.problems] == [101, 201]
    assert (chunked.lines, chunked.duplicates) == (spilled.lines, spilled.duplicates)


@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("chunked", [True, False], ids=["chunks", "spill"])
def test_audit_progress_counts_every_part_whatever_the_jobs(
    grouped: Path, jobs: int, chunked: bool, monkeypatch
):
    import slaengine
    from slaengine.audit.run import AuditOptions, audit_file
    from slaengine.event_parsing import parse_instant

    if not chunked:
        monkeypatch.setattr(batch_module, "chunkable", lambda path: False)
    done: list[int] = []
    options = AuditOptions(now=parse_instant("2025-11-01T00:00:00Z"))
    policies = slaengine.load_policies(POLICIES)
    audit, found = audit_file(
        policies, grouped, options, jobs=jobs, on_partition=lambda: done.append(1)
    )
    assert len(done) == found.partitions > 1
    assert audit.tickets > 0


def test_estimated_size_of_gzip_from_its_compression_ratio(tmp_path: Path, grouped: Path):
    from slaengine.inputs.files import estimated_size

    compressed = tmp_path / "events.jsonl.gz"
    compressed.write_bytes(gzip.compress(grouped.read_bytes()))
    actual = grouped.stat().st_size
    assert estimated_size(grouped) == actual
    assert abs(estimated_size(compressed, sample=1 << 16) - actual) < actual // 10
