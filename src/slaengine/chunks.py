"""Ticket-grouped JSON Lines: cut into chunks at ticket boundaries instead of spilled.

Many histories come grouped by ticket: every event of a ticket on consecutive
lines (``slaengine generate`` writes them so, as do per-ticket exports). Such a
file needs no spill: it is cut into chunks of whole tickets, written as they
are read, and workers start on the first chunk while the rest is still being
cut. A ticket must then never appear in two chunks. :func:`looks_grouped`
checks the start of the file; every chunk reports its tickets
(:attr:`ChunkRead.tickets`, hashes) and the caller checks that no two chunks
share one, falling back to the spill (:class:`NotGrouped`) if they do. Events
within one chunk may be in any order.

Chunks are read exactly as spilled partitions are: the same line numbers,
decoding, parser and problems.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from slaengine.compressed import TEXT_ERRORS, open_binary
from slaengine.errors import Problem
from slaengine.eventlog import parse_line
from slaengine.spill import line_blocks, ticket_of
from slaengine.timeline import Event, TimelineSet, build_timelines

_BLOCK: Final = 1 << 22
# Lines of the file's start that looks_grouped examines.
_SNIFF_LINES: Final = 20_000


class NotGrouped(Exception):
    """The input is not grouped by ticket (or has line breaks chunks do not split on)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk file: whole tickets, starting at input line ``first``."""

    path: Path
    first: int


@dataclass(slots=True)
class ChunkRead:
    """A chunk's timelines, the hashes of every ticket it names, its last non-blank line."""

    timelines: TimelineSet
    tickets: array[int]
    last_line: int


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", errors=TEXT_ERRORS)


def _ticket(raw: bytes) -> str | None:
    return ticket_of(_text(raw)) if raw.strip() else None


def looks_grouped(path: str | os.PathLike[str]) -> bool:
    """True when the first lines of ``path`` keep each ticket's lines together.

    A cheap test that spares a time-ordered file the chunked attempt; the
    chunks' own tickets decide for the rest of the file.
    """
    with open_binary(path) as stream:
        head = stream.read(_BLOCK)
    lines = head.split(b"\n")[:-1][:_SNIFF_LINES]
    if len(lines) < 2 or b"\r" in head.replace(b"\r\n", b"\n"):
        return False
    done: set[str] = set()
    current: str | None = None
    for raw in lines:
        ticket = _ticket(raw)
        if ticket is None or ticket == current:
            continue
        if ticket in done:
            return False
        if current is not None:
            done.add(current)
        current = ticket
    return len(done) > 0


def write_chunks(
    path: str | os.PathLike[str], directory: Path, chunk_bytes: int
) -> Iterator[Chunk]:
    """Cut ``path`` into chunk files of about ``chunk_bytes`` bytes, whole tickets each.

    Yields each chunk once written. A chunk ends where the next line names a
    different ticket (blank and unreadable lines stay with the ticket before
    them). Raises :class:`NotGrouped` for a lone carriage return, which text
    reading treats as a line break.
    """
    directory.mkdir(parents=True, exist_ok=True)
    number = 1  # the input line the pending text starts at
    pending = b""  # complete lines not yet written
    index = 0
    with open_binary(path) as stream:
        for block in _blocks(stream):
            pending += block
            while len(pending) > chunk_bytes:
                cut = _ticket_boundary(pending, chunk_bytes)
                if cut is None:
                    break  # one ticket fills the rest: read on
                chunk = _write(directory, index, pending[:cut], number)
                number += pending.count(b"\n", 0, cut)
                pending = pending[cut:]
                index += 1
                yield chunk
    if pending:
        yield _write(directory, index, pending, number)


def _blocks(stream: IO[bytes]) -> Iterator[bytes]:
    # The input's bytes with "\r\n" made "\n"; a lone "\r" cannot be chunked.
    while True:
        block = stream.read(_BLOCK)
        if not block:
            return
        if b"\r" in block:
            if block.endswith(b"\r"):  # perhaps half of a "\r\n": complete it
                block += stream.read(1)
            block = block.replace(b"\r\n", b"\n")
            if b"\r" in block:
                raise NotGrouped("a lone carriage return")
        yield block


def _ticket_boundary(text: bytes, size: int) -> int | None:
    """Where to cut ``text`` at or after byte ``size``: after a line whose next line
    names another ticket; ``None`` when no complete line says so yet."""
    end = text.find(b"\n", size - 1)  # the end of the line holding byte size - 1
    if end == -1:
        return None
    last = _ticket(text[text.rfind(b"\n", 0, end) + 1 : end])
    while True:
        following = text.find(b"\n", end + 1)
        if following == -1:
            return None  # the next line is not complete yet
        ticket = _ticket(text[end + 1 : following])
        if ticket is not None and last is not None and ticket != last:
            return end + 1
        if ticket is not None:
            last = ticket
        end = following


def _write(directory: Path, index: int, data: bytes, first: int) -> Chunk:
    path = directory / f"chunk-{index:05d}.jsonl"
    with path.open("wb") as out:
        out.write(data)
    return Chunk(path, first)


def read_chunk(chunk: Chunk, source: str, status_map: Mapping[str, str]) -> ChunkRead:
    """Parse and group one chunk, as :func:`~slaengine.spill.read_partition` does a partition."""
    problems: list[Problem] = []
    events: list[Event] = []
    append = events.append
    parse = parse_line
    last_line = 0
    number = chunk.first
    # As spilled partitions are read: bad bytes are kept for parse_line to report.
    with chunk.path.open(encoding="utf-8", errors=TEXT_ERRORS, newline="") as stream:
        for lines in line_blocks(stream):
            for line in lines:
                event = parse(line, number, source, status_map, problems)
                if event is not None:
                    append(event)
                    last_line = number
                elif line.strip():
                    last_line = number
                number += 1
    tickets = array("q", {hash(event.ticket) for event in events})
    return ChunkRead(build_timelines(events, source, problems), tickets, last_line)


# -- Parquet ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RowRange:
    """Rows ``start`` (0-based) up to ``end`` of a Parquet file: whole tickets."""

    path: str
    start: int
    end: int


def parquet_ranges(path: str | os.PathLike[str], chunks: int) -> list[RowRange] | None:
    """About ``chunks`` row ranges of whole tickets of a grouped Parquet file, else ``None``.

    Exact, from the ticket column alone: the file is grouped when its runs of
    equal tickets are as many as its distinct tickets (rows without a ticket
    go with the run before them). Ranges start where a ticket does, at the first
    such row from a row group's start when row groups are no larger than a
    range, so a worker decodes little beyond its own rows.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from slaengine.tabular import open_parquet

    table = open_parquet(path)
    meta = table.metadata
    if "ticket" not in table.schema_arrow.names or meta.num_rows < 2:
        return None
    column = table.read(columns=["ticket"]).column("ticket").combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        column = pc.if_else(pc.equal(column, ""), pa.scalar(None, column.type), column)
    elif not pa.types.is_integer(column.type):
        return None  # tickets of other types are rare: the spill reads them as JSON would
    filled = pc.fill_null_forward(column)
    rows = len(filled)
    changed = pc.fill_null(pc.not_equal(filled.slice(1), filled.slice(0, rows - 1)), False)
    starts = [row + 1 for row in pc.indices_nonzero(changed).to_pylist()]
    distinct = pc.count_distinct(filled).as_py()
    del column, filled, changed
    pa.default_memory_pool().release_unused()
    if len(starts) + 1 != distinct:
        return None
    size = max(1_000, -(-rows // max(1, chunks)))
    group_starts = [0]
    for g in range(meta.num_row_groups - 1):
        group_starts.append(group_starts[-1] + meta.row_group(g).num_rows)
    snap = max(b - a for a, b in zip(group_starts, [*group_starts[1:], rows], strict=True)) <= size
    cuts = [0]
    for k in range(1, -(-rows // size)):  # a cut before each further range
        aim = k * size
        if snap:  # the nearest row group start
            aim = min(group_starts, key=lambda start: abs(start - aim))
        at = bisect_left(starts, max(aim, cuts[-1] + 1))
        if at < len(starts) and starts[at] < rows:
            cuts.append(starts[at])
    cuts = sorted(set(cuts))
    name = os.fspath(path)
    return [RowRange(name, a, b) for a, b in zip(cuts, [*cuts[1:], rows], strict=True) if a < b]


def read_rows(rows: RowRange, source: str, status_map: Mapping[str, str]) -> TimelineSet:
    """Parse and group one row range, as :func:`~slaengine.spill.read_partition` does a
    partition (the same events and problems; line numbers are row numbers from 1)."""
    from slaengine.spill import table_events
    from slaengine.tabular import open_parquet

    table = open_parquet(rows.path)
    meta = table.metadata
    groups, first, offset = [], None, 0
    for g in range(meta.num_row_groups):
        count = meta.row_group(g).num_rows
        if offset < rows.end and offset + count > rows.start:
            groups.append(g)
            first = offset if first is None else first
        offset += count
    problems: list[Problem] = []
    events: list[Event] = []
    row = first or 0
    for batch in table.iter_batches(batch_size=65_536, row_groups=groups):
        low, high = max(row, rows.start), min(row + batch.num_rows, rows.end)
        if low < high:
            part = batch.slice(low - row, high - low)
            numbers = range(low + 1, high + 1)
            table_events(part, numbers, source, status_map, problems, events)
        row += batch.num_rows
        if row >= rows.end:
            break
    return build_timelines(events, source, problems)


__all__ = [
    "Chunk",
    "ChunkRead",
    "NotGrouped",
    "RowRange",
    "looks_grouped",
    "parquet_ranges",
    "read_chunk",
    "read_rows",
    "write_chunks",
]
