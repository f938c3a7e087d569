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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import IO, Final

from slaengine.batches.ranges import range_texts
from slaengine.errors import Problem, UserError
from slaengine.inputs.files import TEXT_ERRORS, is_stream, is_table, open_binary
from slaengine.inputs.jsonl import parse_texts, text_blocks
from slaengine.inputs.tickets import ticket_of
from slaengine.timeline import Event, TicketRuns, TimelineSet

_BLOCK: Final = 1 << 22
_TICKET = attrgetter("ticket")
_EVENTS = attrgetter("events")
# Lines of the file's start that looks_grouped examines.
_SNIFF_LINES: Final = 20_000


class NotGrouped(Exception):
    """The input is not grouped by ticket (or has line breaks chunks do not split on)."""


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk: whole tickets, starting at input line ``first``; the file ``path``, or
    its bytes ``start`` up to ``end`` when ``end`` is given (a range of the input itself,
    :mod:`slaengine.batches.ranges`)."""

    path: Path
    first: int
    start: int = 0
    end: int | None = None


@dataclass(frozen=True, slots=True)
class ChunkTickets:
    """The tickets a chunk's events name: each one's hash, and the least and the greatest
    in ticket order (:func:`ticket_order`; ``None`` when it names none)."""

    hashes: array[int]
    low: str | None = None
    high: str | None = None


@dataclass(slots=True)
class ChunkRead:
    """A chunk's timelines, the tickets it names, its last non-blank line and the number of
    the line after it (the next chunk's first)."""

    timelines: TimelineSet
    tickets: ChunkTickets
    last_line: int
    next_line: int = 0


def ticket_order(ticket: str) -> tuple[int, str]:
    """Ticket ids in order: shorter first, then as text (``T-9`` before ``T-10``), so ids
    numbered with or without leading zeros are in the order they were numbered."""
    return len(ticket), ticket


class TicketCheck:
    """Checks that chunks, handed over in input order, never name one ticket twice.

    Grouped files usually list their tickets in :func:`ticket_order`: then each
    chunk's tickets lie between its least and greatest, and a chunk whose least
    comes after the greatest of the chunk before shares no ticket with any
    before it. While that holds, only the chunks' hashes are kept, 8 bytes a
    ticket; the first chunk it does not hold for turns the check into a set of
    every hash so far, each later chunk checked against it.
    """

    def __init__(self) -> None:
        self._high: tuple[int, str] | None = None
        self._kept: list[array[int]] = []
        self._seen: set[int] | None = None

    def add(self, tickets: ChunkTickets) -> None:
        """Take the next chunk's tickets; raises :class:`NotGrouped` when an earlier chunk
        named one of them."""
        if tickets.low is None or tickets.high is None:
            return  # no ticket (blank or unreadable lines only)
        seen = self._seen
        if seen is None:
            low = ticket_order(tickets.low)
            if self._high is None or self._high < low:
                self._high = ticket_order(tickets.high)
                self._kept.append(tickets.hashes)
                return
            seen = self._seen = set()
            for hashes in self._kept:
                seen.update(hashes)
            self._kept = []
        if not seen.isdisjoint(tickets.hashes):
            raise NotGrouped("a ticket appears in two chunks")
        seen.update(tickets.hashes)


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


def chunkable(path: str | os.PathLike[str]) -> bool:
    """True for a JSON Lines file (plain or gzip) whose start keeps tickets together.

    Not for standard input or a table; an unreadable file is left to the spill,
    which reports it.
    """
    if is_stream(path) or is_table(path):
        return False
    try:
        return looks_grouped(path)
    except (OSError, UserError):
        return False


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
    """Parse and group one chunk, as :func:`~slaengine.batches.spill.read_partition` does a
    partition: the same events, timelines and problems, grouped while it is read."""
    problems: list[Problem] = []
    runs = TicketRuns(source)
    following, last_line = parse_texts(
        _chunk_texts(chunk), chunk.first, source, status_map, problems, runs
    )
    timelines = runs.finish(problems)
    return ChunkRead(timelines, chunk_tickets(runs.events, timelines), last_line, following)


def chunk_tickets(events: list[Event], timelines: TimelineSet) -> ChunkTickets:
    """The tickets ``events`` name, from the timelines grouped of them: one step a
    ticket. Only when some event is in no timeline (a ticket or events dropped as
    problems) are the events walked instead."""
    found = timelines.timelines
    kept = sum(map(len, map(_EVENTS, found.values()))) + timelines.duplicates
    tickets = list(found) if kept == len(events) else list(dict.fromkeys(map(_TICKET, events)))
    if not tickets:
        return ChunkTickets(array("q"))
    sizes = list(map(len, tickets))
    shortest, longest = min(sizes), max(sizes)
    if shortest == longest:  # ids of one length, the usual: in order as text
        low, high = min(tickets), max(tickets)
    else:
        low, high = min(tickets, key=ticket_order), max(tickets, key=ticket_order)
    return ChunkTickets(array("q", map(hash, tickets)), low, high)


def _chunk_texts(chunk: Chunk) -> Iterator[str]:
    if chunk.end is not None:
        return range_texts(chunk.path, chunk.start, chunk.end)
    return _file_texts(chunk.path)


def _file_texts(path: Path) -> Iterator[str]:
    # As spilled partitions are read: bad bytes are kept for parse_line to report.
    with path.open(encoding="utf-8", errors=TEXT_ERRORS, newline="") as stream:
        yield from text_blocks(stream)


__all__ = [
    "Chunk",
    "ChunkRead",
    "ChunkTickets",
    "NotGrouped",
    "TicketCheck",
    "chunk_tickets",
    "chunkable",
    "looks_grouped",
    "read_chunk",
    "ticket_order",
    "write_chunks",
]
