"""A plain file grouped by ticket is read in place, in byte ranges, with the chunks' results."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from pathlib import Path

import pytest

import slaengine.batches.ranges as ranges_module
import slaengine.batches.runner as runner_module
from slaengine.batches import map_tickets
from slaengine.batches.chunks import Chunk, read_chunk, write_chunks
from slaengine.batches.ranges import (
    CarriageReturns,
    chunk_cuts,
    range_lines,
    readable_in_ranges,
    scan_range,
)
from slaengine.inputs.synthetic import write_jsonl
from slaengine.timeline import TimelineSet

START = dt.datetime(2025, 9, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def grouped(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,500 synthetic tickets, ticket by ticket, plus a blank line and a bad one."""
    path = tmp_path_factory.mktemp("ranges") / "events.jsonl"
    write_jsonl(path, 1_500, 3, START, 60)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines.insert(500, "")  # stays with the ticket before it
    lines.insert(900, "{not json")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _summary(timelines: TimelineSet) -> list[tuple[str, tuple[int, ...]]]:
    return sorted(
        (ticket, tuple(e.line for e in timeline.events))
        for ticket, timeline in timelines.timelines.items()
    )


def _run(path: Path, jobs: int, patch: pytest.MonkeyPatch, how: str) -> tuple:
    with patch.context() as p:
        if how == "chunks":
            p.setattr(runner_module, "readable_in_ranges", lambda path: False)
        elif how == "spill":
            p.setattr(runner_module, "chunkable", lambda path: False)
        restarts: list[int] = []
        folded: list[list[tuple[str, tuple[int, ...]]]] = []
        found = map_tickets(
            path,
            _summary,
            jobs=jobs,
            partitions=6,
            fold=folded.append,
            restart=lambda: (restarts.append(1), folded.clear()),
        )
    tickets = sorted(t for part in folded for t in part)
    problems = [(p.line, p.code, p.message) for p in found.problems]
    return tickets, problems, found.lines, found.duplicates, len(restarts)


def test_range_lines_are_the_lines_text_reading_gives(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(ranges_module, "_READ", 7)  # lines longer than a block, carried over
    path = tmp_path / "in.jsonl"
    data = "é1\n\nabcdefghijklmnop\nq\xff\n".encode().replace(b"\xc3\xbf", b"\xff")
    path.write_bytes(data + b"last")
    with path.open(encoding="utf-8", errors="surrogateescape", newline="") as text:
        expected = text.read().split("\n")
    lines = list(itertools.chain.from_iterable(range_lines(path, 0, len(data) + 4)))
    assert lines == expected
    assert lines[3] == "q\udcff"  # the bad byte kept for the parser to report
    assert list(itertools.chain.from_iterable(range_lines(path, 4, 5))) == [""]


def test_scan_range_counts_line_breaks_and_tells_carriage_returns_apart(tmp_path: Path):
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"a\nb\n\nc")
    assert scan_range(path, 0, 6) == 3
    assert scan_range(path, 2, 4) == 1
    path.write_bytes(b"a\r\nb\n")
    with pytest.raises(CarriageReturns) as crlf:
        scan_range(path, 0, 5)
    assert not crlf.value.lone
    path.write_bytes(b"a\rb\n")
    with pytest.raises(CarriageReturns) as lone:
        scan_range(path, 0, 4)
    assert lone.value.lone


def test_a_carriage_return_at_a_block_end_is_settled_by_the_next_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(ranges_module, "_READ", 4)
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"abc\r\nd\n")  # "\r" ends the first block, its "\n" starts the next
    with pytest.raises(CarriageReturns) as crlf:
        scan_range(path, 0, 7)
    assert not crlf.value.lone


def test_a_range_reads_what_its_chunk_file_holds(grouped: Path, tmp_path: Path):
    chunks = list(write_chunks(grouped, tmp_path, 40_000))
    cuts = chunk_cuts(grouped, 40_000)
    assert len(chunks) == len(cuts) - 1 > 5
    for chunk, (start, end) in zip(chunks, itertools.pairwise(cuts), strict=True):
        in_place = read_chunk(Chunk(grouped, chunk.first, start, end), "x", {})
        copied = read_chunk(chunk, "x", {})
        assert _summary(in_place.timelines) == _summary(copied.timelines)
        assert in_place.timelines.problems == copied.timelines.problems
        assert (in_place.last_line, in_place.tickets) == (copied.last_line, copied.tickets)


@pytest.mark.parametrize("jobs", [1, 2])
def test_ranges_give_what_chunks_and_the_spill_give(grouped: Path, jobs: int, monkeypatch):
    written: list[int] = []
    real = runner_module.write_chunks

    def counted(*args: object):
        written.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module, "write_chunks", counted)
    in_place = _run(grouped, jobs, monkeypatch, "ranges")
    assert written == []  # no chunk file was written
    chunked = _run(grouped, jobs, monkeypatch, "chunks")
    assert written == [1]
    spilled = _run(grouped, jobs, monkeypatch, "spill")
    assert in_place == chunked == spilled
    tickets, problems, lines, _, restarts = in_place
    assert len(tickets) == 1_500
    assert restarts == 0
    assert [code for _, code, _ in problems] == ["E401"]
    assert lines == len(grouped.read_text().splitlines())


def test_in_one_process_ranges_are_numbered_from_the_one_read_before(tmp_path, monkeypatch):
    # No count of each range first: a range's first line is the one after the range read
    # before it, blank lines at its end included.
    path = tmp_path / "spaced.jsonl"
    write_jsonl(path, 600, 3, START, 60)
    lines = path.read_text(encoding="utf-8").splitlines()
    tickets = [json.loads(line)["ticket"] for line in lines]
    spaced: list[str] = []
    for line, ticket, following in zip(lines, tickets, [*tickets[1:], None], strict=True):
        spaced.append(line)
        if ticket != following:
            spaced += ["", ""]  # every range ends with blank lines
    spaced.insert(len(spaced) - 40, "{not json")
    path.write_text("\n".join(spaced) + "\n", encoding="utf-8")
    counted: list[int] = []
    real = runner_module.scan_range

    def counting(*args: object) -> int:
        counted.append(1)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(runner_module, "scan_range", counting)
    in_turn = _run(path, 1, monkeypatch, "ranges")
    assert counted == []
    assert in_turn == _run(path, 1, monkeypatch, "spill") == _run(path, 2, monkeypatch, "ranges")
    assert counted  # with workers, the parent counts each range
    tickets_found, problems, found_lines, _, restarts = in_turn
    assert (len(tickets_found), restarts) == (600, 0)
    assert [line for line, code, _ in problems if code == "E401"] == [len(spaced) - 40]
    assert found_lines == len(spaced) - 2  # the last non-blank line


def _with_line_end(grouped: Path, path: Path, at: int, end: bytes) -> Path:
    # Past the start readable_in_ranges reads (patched to 64 KiB), line ``at`` ends with ``end``.
    lines = grouped.read_bytes().split(b"\n")
    path.write_bytes(b"\n".join(lines[:at]) + end + b"\n".join(lines[at:]))
    return path


@pytest.mark.parametrize("jobs", [1, 2])
def test_crlf_later_on_falls_back_to_chunk_files(grouped, tmp_path, jobs, monkeypatch):
    monkeypatch.setattr(ranges_module, "_BLOCK", 1 << 16)
    crlf = _with_line_end(grouped, tmp_path / "crlf.jsonl", 12_000, b"\r\n")
    assert readable_in_ranges(crlf)
    tickets, problems, lines, duplicates, restarts = _run(crlf, jobs, monkeypatch, "ranges")
    assert restarts == 1  # the ranges read so far were dropped; chunk files took the "\r\n"
    assert (tickets, problems, lines, duplicates) == _run(grouped, jobs, monkeypatch, "ranges")[:4]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_lone_carriage_return_later_on_goes_to_the_spill(grouped, tmp_path, jobs, monkeypatch):
    import slaengine.batches.chunks

    monkeypatch.setattr(ranges_module, "_BLOCK", 1 << 16)
    monkeypatch.setattr(slaengine.batches.chunks, "_BLOCK", 1 << 16)  # looks_grouped's start
    lone = _with_line_end(grouped, tmp_path / "cr.jsonl", 12_000, b"\r")
    assert readable_in_ranges(lone)
    found = _run(lone, jobs, monkeypatch, "ranges")
    assert found[4] == 1  # one restart, straight to the spill (text reading ends a line at "\r")
    assert found[:4] == _run(lone, jobs, monkeypatch, "spill")[:4]
    assert found[2] == len(grouped.read_text().splitlines())


def test_gzip_and_carriage_returns_at_the_start_are_not_read_in_ranges(grouped, tmp_path):
    import gzip

    compressed = tmp_path / "events.jsonl.gz"
    compressed.write_bytes(gzip.compress(grouped.read_bytes()))
    assert readable_in_ranges(grouped)
    assert not readable_in_ranges(compressed)
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(grouped.read_bytes().replace(b"\n", b"\r\n"))
    assert not readable_in_ranges(crlf)
    assert json.loads(crlf.read_text().splitlines()[0])["type"] == "created"
