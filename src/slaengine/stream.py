"""Evaluate an events file in memory flat in its tickets: part by part, rendered to disk.

The file is split into parts of whole tickets by the batch runner (chunks of a
file grouped by ticket, or the partitions of a spill). Each part is evaluated
and rendered (JSON Lines or CSV) into a spool file, in this process or in a
worker, and only its counts come back. The spool files are then written out in
input order: every ticket's output is keyed by the line of its first kept event, so
parts that follow each other are copied as they are and the partitions of an
unsorted file are merged. The output is what evaluating the whole file at once
gives, whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import heapq
import io
import itertools
import os
import tempfile
from array import array
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice, repeat
from operator import add, itemgetter, mul
from pathlib import Path
from typing import BinaryIO, Final, TextIO

from slaengine.batches import fold_tickets
from slaengine.batches.chunks import chunkable
from slaengine.batches.sizing import SPARE_FILES, fine_partition_count, open_files
from slaengine.engine import TicketResult
from slaengine.errors import Problem
from slaengine.inputs.files import is_parquet
from slaengine.policy.model import PolicySet
from slaengine.report.csv import csv_header, csv_renderer
from slaengine.report.json import ticket_json_line
from slaengine.stream_output import DirectOutput, Output
from slaengine.stream_part import UNMATCHED_SHOWN, spool_part
from slaengine.timeline import TimelineSet, first_line

#: Output formats a part can be rendered in; ``results`` keeps the results instead.
FORMATS: Final = ("json", "csv", "results")
#: Bytes of a chunk of a file grouped by ticket at most: a chunk is parsed, grouped,
#: evaluated and freed while its objects are still in the processor's caches (a tenth
#: less CPU than chunks of 15 to 20 MiB, measured; smaller ones cost more per chunk).
CHUNK_BYTES: Final = 4 << 20
# Bytes a spool file is written in.
_BLOCK: Final = 1 << 20
# Index entries (key, length) read at a time while merging, of all parts together, and of
# one part at most: memory for the merge's look-ahead whatever the number of parts.
_INDEX_ENTRIES: Final = 1 << 18
_INDEX_BLOCK: Final = 8192
# Tickets merged from several parts that are written to the output at a time.
_BATCH_WRITE: Final = 4096
# Bytes of the spool files read ahead while merging, of all parts together, and of one.
_READ_AHEAD: Final = 1 << 24
_READ: Final = 1 << 16
_KEY = itemgetter(0)


@dataclass(frozen=True, slots=True)
class StreamOptions:
    """What to evaluate and render: instant, format, ``--segments``, ``--state``, ``--limit``."""

    now: int
    format: str = "json"
    segments: bool = False
    states: tuple[str, ...] = ()
    limit: int | None = None


@dataclass(slots=True)
class PartOutput:
    """One part's rendered tickets (a spool file) and its counts.

    The spool file ``data`` holds the tickets' UTF-8 text, ``size`` bytes, then
    its index: a (key, bytes) pair of 64-bit integers for each ticket written, in
    the part's order (the line of the ticket's first kept event and the length of
    its text). ``first`` and ``last`` are the keys of the first and last ticket
    written. ``results`` holds the selected results instead when the format is
    ``results``.
    """

    data: str | None = None
    size: int = 0
    tickets: int = 0
    matching: int = 0
    written: int = 0
    first: int = 0
    last: int = 0
    unmatched: int = 0
    unmatched_ids: list[tuple[int, str]] = field(default_factory=list)
    results: list[tuple[int, TicketResult]] = field(default_factory=list)


@dataclass(slots=True)
class StreamSummary:
    """What an evaluation of a file found, for the command's summary and exit status."""

    tickets: int = 0
    matching: int = 0
    shown: int = 0
    unmatched: int = 0
    unmatched_ids: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    results: list[TicketResult] = field(default_factory=list)


def ticket_key(result: TicketResult, timelines: TimelineSet) -> int:
    """The line of a ticket's first kept event: its place in the output."""
    return first_line(timelines.timelines[result.ticket])


def evaluate_part(
    policies: PolicySet, options: StreamOptions, spool: str | None, timelines: TimelineSet
) -> PartOutput:
    """Evaluate one part's timelines and render its selected tickets into a file in ``spool``.

    Counts every ticket; writes (or keeps, for ``results``) the first
    ``options.limit`` with a clock in ``options.states`` (all without).
    """
    if options.format == "results":
        return _part(policies, options, timelines, None, options.limit)[0]
    if spool is None:
        raise ValueError("evaluate_part: a spool directory is needed to render")
    handle, name = tempfile.mkstemp(suffix=".part", dir=spool)
    with open(handle, "wb", buffering=_BLOCK) as out:
        part, index = _part(policies, options, timelines, out, options.limit)
        part.data = name
        part.size = out.tell()
        index.tofile(out)  # after the text: one file a part
    return part


def _direct_part(
    policies: PolicySet, options: StreamOptions, direct: DirectOutput, timelines: TimelineSet
) -> PartOutput:
    # One part of an input read in order, written straight to the output: the tickets
    # ``--limit`` leaves after the parts before it.
    limit = None if options.limit is None else max(0, options.limit - direct.written)
    part, _ = _part(policies, options, timelines, direct.binary, limit)
    if part.written:
        if part.first <= direct.last:
            # The runner hands a grouped input's parts over in input order.
            raise RuntimeError("evaluate: a part came out of input order")
        direct.written += part.written
        direct.last = part.last
    return part


def _part(
    policies: PolicySet,
    options: StreamOptions,
    timelines: TimelineSet,
    out: BinaryIO | None,
    limit: int | None,
) -> tuple[PartOutput, array[int]]:
    # A part's tickets evaluated and rendered into ``out`` (kept, for ``results``), its
    # counts and the index of what was written.
    part = PartOutput()
    fmt = options.format
    render = None if fmt == "results" else ticket_json_line if fmt == "json" else csv_renderer()
    counts, index = spool_part(
        policies,
        timelines,
        options.now,
        segments=options.segments,
        states=options.states,
        limit=limit,
        render=render,
        out=out,
        unmatched_ids=part.unmatched_ids,
        kept=part.results,
    )
    part.tickets, part.matching, part.unmatched = counts.tickets, counts.matching, counts.unmatched
    part.written, part.first, part.last = counts.written, counts.first, counts.last
    return part, index


def evaluate_stream(
    policies: PolicySet,
    events: str | os.PathLike[str],
    options: StreamOptions,
    out: TextIO,
    *,
    jobs: int = 1,
) -> StreamSummary:
    """Evaluate every ticket of ``events`` and write the rendered output to ``out``.

    Memory stays flat in the number of tickets (but for ``results``, which are
    kept, in this process whatever ``jobs``): each part is evaluated and rendered
    to a spool file on disk, or, in one process, for an input read in order
    (grouped by ticket) and an output that can take back what it got (a file, the
    null device), straight to the output. The output is in input order (by each
    ticket's first line) and does not depend on ``jobs``. Raises ``OSError`` when
    ``events`` cannot be read.
    """
    if options.format not in FORMATS:
        raise ValueError(f"unknown format {options.format!r}")
    if options.format == "results":
        # Kept results hold policies and calendars, which do not travel between
        # processes; a table for people is small enough for one.
        jobs = 1
    summary = StreamSummary()
    direct = _direct_output(events, options, out, jobs)
    with tempfile.TemporaryDirectory(prefix="slaengine-evaluate-") as spool:

        def work(timelines: TimelineSet) -> PartOutput:
            if direct is not None and direct.active:
                return _direct_part(policies, options, direct, timelines)
            return evaluate_part(policies, options, spool, timelines)

        def start() -> list[PartOutput]:
            # Called again should a grouped-looking input be spilled after all: the parts
            # so far are forgotten (their files go with the directory, their text is
            # taken back from the output).
            if direct is not None and direct.active and started:
                direct.rewind()
            started.append(True)
            return []

        started: list[bool] = []
        try:
            parts, batch = fold_tickets(
                events,
                work,
                start,
                list.append,
                jobs=jobs,
                status_map=policies.status_map,
                chunk_limit=CHUNK_BYTES,
                # The parts are merged by first line whatever they are: small ones group faster.
                spill_partitions=fine_partition_count(events),
            )
        except BaseException:
            # A run that fails (or is interrupted) leaves the output as it found it, as
            # one that spools does.
            if direct is not None and direct.active:
                direct.rewind()
            raise
        summary.problems = batch.problems
        summary.duplicates = batch.duplicates
        for part in parts:
            summary.tickets += part.tickets
            summary.matching += part.matching
            summary.unmatched += part.unmatched
        firsts = heapq.nsmallest(UNMATCHED_SHOWN, (i for p in parts for i in p.unmatched_ids))
        summary.unmatched_ids = [ticket for _, ticket in firsts]
        if options.format == "results":
            kept = heapq.merge(*(part.results for part in parts), key=_KEY)
            summary.results = [result for _, result in itertools.islice(kept, options.limit)]
        elif direct is not None and direct.active:
            direct.binary.flush()
            summary.shown = direct.written
        else:
            if options.format == "csv":
                out.write(csv_header())
            summary.shown = _write_parts(parts, out, options.limit)
    summary.shown = summary.shown or len(summary.results)
    return summary


def _direct_output(
    events: str | os.PathLike[str], options: StreamOptions, out: TextIO, jobs: int
) -> DirectOutput | None:
    # Parts write to the output themselves when they are made here, in input order (a
    # JSON Lines file grouped by ticket, as the runner tells it), and the output can
    # take back their text should the input not be grouped after all.
    if jobs != 1 or options.format == "results" or is_parquet(events) or not chunkable(events):
        return None
    direct = DirectOutput.of(out)
    if direct is not None and options.format == "csv":
        direct.binary.write(csv_header().encode("utf-8"))
    return direct


def _write_parts(parts: Sequence[PartOutput], out: TextIO, limit: int | None) -> int:
    """Write the parts' spooled tickets to ``out`` in key order; how many were written."""
    parts = [part for part in parts if part.written]
    in_order = all(a.last < b.first for a, b in itertools.pairwise(parts))
    left = limit if limit is not None else -1
    written = 0
    output = Output(out)
    if in_order:
        # A grouped input: the parts follow each other, copied as they are.
        for part in parts:
            if left == 0:
                break
            count = part.written if left < 0 else min(part.written, left)
            assert part.data is not None
            output.copy(part.data, _size(part, count) if count < part.written else part.size)
            _remove(part)
            written += count
            left -= count if left > 0 else 0
        output.finish()
        return written
    written = _merge(parts, output, None if left < 0 else left)
    output.finish()
    return written


def _merge(parts: Sequence[PartOutput], output: Output, limit: int | None) -> int:
    """Write the tickets of parts whose keys interleave (an unsorted input's partitions) in
    key order, at most ``limit``; how many were written.

    Each part is in key order, so one merge of their keys gives the output's
    order. A key is merged as ``key * len(parts) + part``, which says which part
    holds the ticket: the merge runs over iterators in C (no tuple or generator
    step a ticket), and each part's spool file is read in its own order, a
    ticket's bytes at a time, and written out in batches.
    """
    count = len(parts)
    block = max(256, min(_INDEX_BLOCK, _INDEX_ENTRIES // count))
    buffering = max(io.DEFAULT_BUFFER_SIZE, min(_READ, _READ_AHEAD // count))
    sizes: list[deque[int]] = [deque() for _ in parts]
    readers: list[Callable[[int], bytes]] = []
    # Two files a part are open at once (its text and its index): ask for them.
    open_files(2 * count + SPARE_FILES)
    with contextlib.ExitStack() as files:
        runs = []
        for number, part in enumerate(parts):
            assert part.data is not None
            readers.append(files.enter_context(open(part.data, "rb", buffering=buffering)).read)
            index = files.enter_context(open(part.data, "rb"))
            index.seek(part.size)  # the index follows the text
            blocks = _codes(index, (part.written, block), number, count, sizes[number])
            runs.append(itertools.chain.from_iterable(blocks))
        order: Iterator[int] = heapq.merge(*runs)
        if limit is not None:
            order = islice(order, limit)
        written = 0
        batch: list[bytes] = []
        for code in order:
            number = code % count
            batch.append(readers[number](sizes[number].popleft()))
            if len(batch) == _BATCH_WRITE:
                output.write(b"".join(batch))
                written += len(batch)
                batch.clear()
        output.write(b"".join(batch))
        written += len(batch)
    for part in parts:
        _remove(part)
    return written


def _codes(
    index: BinaryIO, entries: tuple[int, int], number: int, count: int, sizes: deque[int]
) -> Iterator[Iterator[int]]:
    """The merge codes (``key * count + number``) of a part's tickets (``entries``: how
    many, and how many to read at a time) from its index; each block's sizes are
    appended to ``sizes`` as it is read."""
    left, most = entries
    while left:
        block = array("q")
        taken = min(left, most)
        block.fromfile(index, 2 * taken)
        left -= taken
        sizes.extend(block[1::2])
        yield map(add, map(mul, block[0::2], repeat(count)), repeat(number))


def _size(part: PartOutput, count: int) -> int:
    # Bytes of the first ``count`` tickets of a part.
    assert part.data is not None
    keys = array("q")
    with open(part.data, "rb") as index:
        index.seek(part.size)
        keys.fromfile(index, 2 * count)
    return sum(keys[1::2])


def _remove(part: PartOutput) -> None:
    if part.data is not None:
        Path(part.data).unlink(missing_ok=True)


__all__ = [
    "FORMATS",
    "PartOutput",
    "StreamOptions",
    "StreamSummary",
    "evaluate_part",
    "evaluate_stream",
    "ticket_key",
]
