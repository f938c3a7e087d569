"""A Parquet file grouped by ticket, read in ranges of whole tickets, each row group once.

:func:`parquet_tasks` cuts a file that looks grouped (its metadata and the first
rows of a few row groups) into ranges by rows alone; their readers move each
bound to where a ticket starts (:class:`_Bounds`), and the caller checks the
ranges' tickets, as it checks a grouped JSON Lines file's chunks: no column is
read before the workers start. :func:`parquet_ranges` checks, from the ticket
column alone, that a file is grouped and cuts it into exact ranges (a Dask run
plans with it). :func:`row_tasks` puts together the ranges that share a row
group, so that a worker reads each row group once: pyarrow cannot start a read
in the middle of a row group, and a range that does decodes the rows before it
for nothing (a row group of a million rows cut into nine parts was decoded five
times over). :func:`read_ranges` reads a task's rows in one pass and hands over
one range at a time, so memory holds one range's events, whatever the size of
the row groups."""

from __future__ import annotations

import itertools
import os
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

from slaengine.errors import Problem
from slaengine.inputs.arrow_words import WordCache
from slaengine.inputs.parquet import PART_ROWS, open_parquet, release_arrow_memory
from slaengine.inputs.parquet_rows import table_events
from slaengine.timeline import Event, TimelineSet, build_timelines

# Rows per batch when only the first few rows of a row group are wanted.
_HEAD_ROWS: Final = 4_096


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
    go with the run before them). Ranges start where a ticket does: at the first
    such row from a row group's start when row groups are no larger than a
    range, so a worker decodes little beyond its own rows; larger row groups are
    cut into about equal ranges each (as many as come nearest to ranges of the size:
    a row group a little larger than a range stays whole), which :func:`row_tasks`
    reads together.
    The column is read a row group at a time: memory holds one ticket per run,
    not one per row.
    """
    table = open_parquet(path)
    meta = table.metadata
    if "ticket" not in table.schema_arrow.names or meta.num_rows < 2:
        return None
    starts = _run_starts(path, table)
    release_arrow_memory()
    if starts is None:
        return None
    rows = meta.num_rows
    size = max(1_000, -(-rows // max(1, chunks)))
    group_starts = [0]
    for g in range(meta.num_row_groups - 1):
        group_starts.append(group_starts[-1] + meta.row_group(g).num_rows)
    if max(b - a for a, b in zip(group_starts, [*group_starts[1:], rows], strict=True)) <= size:
        cuts = _cuts(starts, 0, rows, size, group_starts)
    else:
        # Row groups larger than a range: each is cut on its own (from the first ticket
        # that starts in it), so that one task reads it once (row_tasks).
        anchors = [0]
        for start in group_starts[1:]:
            at = bisect_left(starts, start)
            if at < len(starts):
                anchors.append(starts[at])
        cuts = []
        for a, b in zip(anchors, [*anchors[1:], rows], strict=True):
            if a < b:
                pieces = _pieces(b - a, size)
                cuts += _cuts(starts, a, b, -(-(b - a) // pieces), [])
    cuts = sorted(set(cuts))
    name = os.fspath(path)
    return [RowRange(name, a, b) for a, b in zip(cuts, [*cuts[1:], rows], strict=True) if a < b]


# Row groups whose first rows are looked at before a file is read as if grouped.
_SNIFF_GROUPS: Final = 8


def parquet_tasks(path: str | os.PathLike[str], chunks: int, jobs: int = 1) -> list[RowTask] | None:
    """Tasks (:func:`row_tasks`) of about ``chunks`` ranges of a Parquet file that looks
    grouped by ticket, else ``None``.

    Cheap, unlike :func:`parquet_ranges`: the file's metadata and the first rows
    of a few row groups' ticket column (a ticket met again after another one
    there: not grouped; a column of another type than text or integers, or no
    ticket there: spilled, as the spill reads those as JSON would). The ranges
    are cut by rows alone, as :func:`parquet_ranges` cuts them, and their readers
    move each bound to where a ticket starts (:attr:`RowTask.snap`). Whether the
    file is grouped is known only once it is read: the caller checks that no
    ticket is in two ranges (each range's events, :func:`read_ranges`).
    """
    table = open_parquet(path)
    meta = table.metadata
    if "ticket" not in table.schema_arrow.names or meta.num_rows < 2:
        return None
    if not _looks_grouped(table):
        return None
    starts = _group_starts(meta)
    rows = meta.num_rows
    size = max(1_000, -(-rows // max(1, chunks)))
    cuts = {0}
    if max(b - a for a, b in itertools.pairwise(starts)) <= size:
        inner = starts[1:-1]  # row group starts but the first
        for k in range(1, -(-rows // size)):
            at = bisect_left(inner, k * size)
            near = inner[max(0, at - 1) : at + 1]
            if near:
                cuts.add(min(near, key=lambda start: abs(start - k * size)))
    else:  # each row group cut into about equal ranges (row_tasks reads them together)
        for a, b in itertools.pairwise(starts):
            pieces = _pieces(b - a, size)
            cuts.update(a + j * (b - a) // pieces for j in range(pieces))
    bounds = sorted(cuts)
    name = os.fspath(path)
    ranges = [RowRange(name, a, b) for a, b in zip(bounds, [*bounds[1:], rows], strict=True)]
    return row_tasks(ranges, jobs, snap=True)


def _pieces(rows: int, size: int) -> int:
    # The ranges a row group of ``rows`` is cut into: the count nearest to ranges of ``size``
    # rows (a row group a little larger than a range is not cut into two halves).
    return max(1, (2 * rows + size) // (2 * size))


def _looks_grouped(table: Any) -> bool:
    # Whether the first rows of a few row groups, spread over the file, have tickets
    # (text or integers) and keep each one's rows together.
    import pyarrow as pa

    kind = table.schema_arrow.field("ticket").type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_integer(kind) or _is_text(kind)):
        return False
    groups = table.metadata.num_row_groups
    looks = min(groups, _SNIFF_GROUPS)
    met = False
    for g in sorted({k * groups // looks for k in range(looks)}):
        batches = table.iter_batches(batch_size=_HEAD_ROWS, row_groups=[g], columns=["ticket"])
        head = next(batches, None)
        if head is None:
            continue
        seen: set[Any] = set()
        last = None
        for ticket in head.column(0).to_pylist():
            if ticket is None or ticket in ("", last):
                continue
            if ticket in seen:
                return False
            seen.add(ticket)
            last = ticket
        met = met or last is not None
    return met


def _cuts(starts: array[int], first: int, end: int, size: int, snaps: list[int]) -> list[int]:
    # Where ranges of about ``size`` rows start from row ``first`` up to ``end``: the
    # first run start at or after each aim, or after the row group start (``snaps``)
    # nearest to it.
    cuts = [first]
    for k in range(1, -(-(end - first) // size)):  # a cut before each further range
        aim = first + k * size
        if snaps:
            aim = min(snaps, key=lambda start: abs(start - aim))
        at = bisect_left(starts, max(aim, cuts[-1] + 1))
        if at < len(starts) and starts[at] < end:
            cuts.append(starts[at])
    return cuts


def _run_starts(path: str | os.PathLike[str], table: Any) -> array[int] | None:
    # The rows where a run of equal tickets starts (but the first), when no ticket has two
    # runs; None when one has, when no row has a ticket, or when the column is neither
    # text nor integers (the spill reads those as JSON would). Read a row group at a time,
    # text as a dictionary (codes compare faster than strings); one ticket kept per run.
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = table.schema_arrow.field("ticket").type
    if pa.types.is_integer(kind) or (pa.types.is_dictionary(kind) and _is_text(kind.value_type)):
        reader = table
    elif _is_text(kind):
        reader = open_parquet(path, word_codes=True)  # the ticket column as a dictionary
    else:
        return None
    starts: array[int] = array("q")
    runs: list[Any] = []  # the ticket of each run, piece by piece
    last: Any = None  # the ticket of the run the next piece may go on with
    ascending = True
    offset = 0
    for g in range(table.metadata.num_row_groups):
        for chunk in reader.read_row_group(g, columns=["ticket"]).column("ticket").chunks:
            size = len(chunk)
            codes, values = _ticket_codes(chunk, pa, pc)
            filled = pc.fill_null_forward(codes)
            valid = pc.indices_nonzero(pc.is_valid(filled))
            if size == 0 or len(valid) == 0:
                offset += size  # no ticket: the rows go with the run before them
                continue
            changed = pc.not_equal(filled.slice(1), filled.slice(0, size - 1))
            inner = pc.add(
                pc.indices_nonzero(pc.fill_null(changed, False)), pa.scalar(1, pa.uint64())
            )
            heads = pa.concat_arrays([valid.slice(0, 1), inner])
            run_codes = pc.take(filled, heads)
            if pc.count_distinct(run_codes).as_py() != len(run_codes):
                return None  # a ticket has two runs in this piece: most unsorted files stop here
            tickets = values(run_codes)
            first = tickets[0].as_py()
            if ascending and (len(tickets) > 1 or last is not None):
                # Tickets in ascending order are distinct: most exports need no other check.
                ascending = (last is None or last <= first) and pc.all(
                    pc.less(tickets.slice(0, len(tickets) - 1), tickets.slice(1))
                ).as_py() is not False
            if last is None or first == last:
                # The piece's first run begins the file, or goes on from the last piece's.
                runs.append(tickets.slice(0, 1) if last is None else tickets.slice(0, 0))
                heads, tickets = heads.slice(1), tickets.slice(1)
            starts.extend(offset + row for row in heads.to_pylist())
            runs.append(tickets)
            last = values(pc.take(filled, [size - 1]))[0].as_py()
            offset += size
    if not runs:
        return None
    if not ascending:
        release_arrow_memory()  # what the reads left, before the count's own table
        every = pa.chunked_array(runs)
        if pc.count_distinct(every).as_py() != len(every):
            return None  # a ticket has two runs
    return starts


def _is_text(kind: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_string(kind) or pa.types.is_large_string(kind))


def _ticket_codes(chunk: Any, pa: Any, pc: Any) -> tuple[Any, Callable[[Any], Any]]:
    # One integer per row, equal where the tickets are (null where there is none), and
    # the function from such integers to the tickets.
    if not pa.types.is_dictionary(chunk.type):
        return chunk, lambda codes: codes
    words = chunk.dictionary
    if len(pc.unique(words)) != len(words):  # equal codes must mean equal tickets
        chunk = pc.dictionary_encode(chunk.dictionary_decode())
        words = chunk.dictionary
    codes = chunk.indices
    empty = pc.index(words, "").as_py()
    if empty >= 0:  # an empty cell is no ticket
        codes = pc.if_else(pc.equal(codes, empty), pa.scalar(None, codes.type), codes)
    return codes, lambda found: pc.take(words, found)


@dataclass(frozen=True, slots=True)
class RowTask:
    """Consecutive ranges of a Parquet file read in one pass (:func:`read_ranges`).

    ``snap``: the ranges' bounds are only where to look; each is moved to the
    first row at or after it that begins a ticket (:class:`_Bounds`), by every
    task that meets it alike, so the ranges still cover each row once.
    """

    parts: tuple[RowRange, ...]
    snap: bool = False


def row_tasks(ranges: list[RowRange], jobs: int = 1, snap: bool = False) -> list[RowTask]:
    """The ranges of :func:`parquet_ranges`, in order, put together into tasks.

    A range that starts far into a row group (more of the row group's rows
    before it than half its own) joins the task of the range before it, which
    has just read those rows; any other starts a task (decoding a row costs
    about a twentieth of evaluating it: the rows of a ticket decoded twice cost
    less than fewer, larger tasks shared among the workers). With ``jobs``
    workers, a task takes at most a ``2 * jobs``-th of the ranges (rounded up),
    so a file of one large row group still keeps every worker busy. ``snap``:
    see :class:`RowTask`.
    """
    if not ranges:
        return []
    group_starts = _group_starts(open_parquet(ranges[0].path).metadata)
    most = -(-len(ranges) // (2 * jobs)) if jobs > 1 else len(ranges)
    tasks: list[list[RowRange]] = []
    for part in ranges:
        group_start = group_starts[bisect_left(group_starts, part.start + 1) - 1]
        skipped = part.start - group_start
        if tasks and len(tasks[-1]) < most and skipped * 2 > part.end - part.start:
            tasks[-1].append(part)
        else:
            tasks.append([part])
    return [RowTask(tuple(parts), snap) for parts in tasks]


def _group_starts(meta: Any) -> list[int]:
    # The first row of each row group, and the file's row count after them.
    starts = [0]
    for g in range(meta.num_row_groups):
        starts.append(starts[-1] + meta.row_group(g).num_rows)
    return starts


@dataclass(slots=True)
class RangeRead:
    """One range of a task read: its timelines, the events they were grouped of (see
    :func:`~slaengine.batches.chunks.chunk_tickets`), its first row and the row it ends
    before (0-based)."""

    timelines: TimelineSet
    events: list[Event]
    start: int
    end: int


def read_parts(task: RowTask, source: str, status_map: Mapping[str, str]) -> Iterator[TimelineSet]:
    """The timelines of each range of ``task``, in order (:func:`read_ranges`)."""
    for read in read_ranges(task, source, status_map):
        yield read.timelines
        del read


def read_ranges(task: RowTask, source: str, status_map: Mapping[str, str]) -> Iterator[RangeRead]:
    """Each range of ``task``, in order, its rows read once; ranges left empty by their
    snapped bounds are left out.

    Each range is parsed and grouped as a spilled partition is (the same events
    and problems; line numbers are row numbers from 1). The next range is read
    only once the one handed over is done with.
    """
    path = task.parts[0].path
    table = open_parquet(path, word_codes=True)
    starts = _group_starts(table.metadata)
    cuts = [task.parts[0].start, *(part.end for part in task.parts)]
    bounds = _Bounds(cuts, starts, task.snap)
    problems: list[Problem] = []
    events: list[Event] = []
    words = WordCache()  # a row group's batches share its dictionaries
    first: int | None = None  # where the range being read starts, once known

    def finish(start: int, end: int) -> RangeRead:
        nonlocal events, problems
        # Arrow's allocator keeps what the batches used; the range's evaluation needs it more.
        release_arrow_memory()
        read = RangeRead(build_timelines(events, source, problems), events, start, end)
        events, problems = [], []
        return read

    for g in range(bisect_left(starts, cuts[0] + 1) - 1, len(starts) - 1):
        offset = starts[g]
        found = bounds.reached(offset)
        if found and first is not None and found[0] > first:
            yield finish(first, found[0])  # an exact bound at the row group's start
        if bounds.done():
            return
        first = found[-1] if found else first
        # A task ends a few rows into the next row group (its last ticket): those rows
        # are read in small batches, not a full batch the next task reads again.
        size = _HEAD_ROWS if cuts[-1] - offset <= _HEAD_ROWS else PART_ROWS
        row = offset
        for batch in table.iter_batches(batch_size=size, row_groups=[g]):
            end = row + batch.num_rows
            at = row
            for bound in bounds.feed(batch, row, offset):
                if first is not None and bound > at:
                    part = batch.slice(at - row, bound - at)
                    numbers = range(at + 1, bound + 1)
                    table_events(part, numbers, source, status_map, problems, events, words)
                if first is not None and bound > first:
                    yield finish(first, bound)
                first = at = bound
            if bounds.done():
                return
            if first is not None and at < end:
                part = batch.slice(at - row, end - at)
                table_events(
                    part, range(at + 1, end + 1), source, status_map, problems, events, words
                )
            row = end
    if first is not None and first < starts[-1]:
        yield finish(first, starts[-1])  # the file's last range


class _Bounds:
    """Where a task's ranges start and end, found while its rows are read in order.

    A bound given exactly is where it is. A snapped one, at row ``n`` of a row
    group from row ``s``, moves to the first row from ``n`` on whose ticket is
    not the last one met from ``s`` on (rows without a ticket are passed over):
    the start of a ticket, in a grouped file, and the same row whichever task
    looks for it, as each looks only at the rows from ``s``. A bound at the
    file's first row or its end stays there. Tickets are compared as the file
    holds them; the caller checks that no ticket was cut in two (the events'
    tickets of each range).
    """

    __slots__ = ("active", "cuts", "group", "group_last", "last", "next", "rows", "snap", "starts")

    def __init__(self, cuts: list[int], group_starts: list[int], snap: bool) -> None:
        self.cuts = cuts
        self.rows = group_starts[-1]
        self.starts = [group_starts[bisect_left(group_starts, n + 1) - 1] for n in cuts]
        self.snap = snap
        self.next = 0  # the first cut whose bound is not known yet
        self.active = 0  # cuts before this one are being looked for row by row
        self.last: dict[int, Any] = {}  # the last ticket met from each such cut's group start
        self.group = -1  # the start of the row group being read
        self.group_last: Any = None  # the last ticket met from there

    def done(self) -> bool:
        """Whether every bound is known."""
        return self.next == len(self.cuts)

    def reached(self, position: int) -> list[int]:
        """The bounds known once rows are read from ``position`` on: exact ones up to it,
        and the file's first row."""
        found = []
        while not self.done():
            n = self.cuts[self.next]
            if n > position or (self.snap and 0 < n < self.rows):
                break
            found.append(n if n < self.rows else self.rows)
            self.next += 1
            self.active = max(self.active, self.next)
        return found

    def feed(self, batch: Any, row: int, group_start: int) -> list[int]:
        """The bounds in a batch of rows from ``row`` (of the row group from
        ``group_start``), in order."""
        end = row + batch.num_rows
        if not self.snap:
            found = []
            while not self.done() and self.cuts[self.next] < end:
                found.append(max(row, self.cuts[self.next]))
                self.next += 1
            return found
        cells = _Cells(batch.column("ticket"))
        if group_start != self.group:
            self.group, self.group_last = group_start, None
            if self.active > self.next:
                self.last[group_start] = None  # cuts of this row group may become active
        found = []
        at = row
        while not self.done():
            if self.active == self.next:
                # Nothing looked for: on to the next cut, the last ticket before it found
                # by looking back (rows after the last known one have tickets, usually).
                n = self.cuts[self.next]
                if n >= end or n >= self.rows:
                    break
                before = cells.last_in(n - row, max(group_start, row) - row)
                self.last = {group_start: self.group_last if before is None else before}
                self.active, at = self.next + 1, n
            at = self._scan(cells, row, at, end, found)
            if at >= end:
                break
        if self.active > self.next:
            self.group_last = self.last.get(group_start)
        else:
            last = cells.last_in(end - row, 0)
            self.group_last = self.group_last if last is None else last
        return found

    def _scan(self, cells: _Cells, row: int, at: int, end: int, found: list[int]) -> int:
        # Row by row from ``at`` while a cut is looked for; the row where it stops.
        last, cuts, starts = self.last, self.cuts, self.starts
        while at < end:
            while self.active < len(cuts) and cuts[self.active] <= at < self.rows:
                last.setdefault(starts[self.active], None)
                self.active += 1
            ticket = cells[at - row]
            if ticket is not None:
                while self.next < self.active:
                    before = last[starts[self.next]]
                    if before is None or ticket == before:
                        break
                    found.append(at)
                    self.next += 1
                for start in last:
                    last[start] = ticket
            at += 1
            if self.next == self.active:
                self.last = {}
                break
        return at


# Rows of a batch's ticket column turned into Python values at a time.
_WINDOW: Final = 64


class _Cells:
    """The ticket cells of one batch, a window at a time: ``None`` where a row has none
    (an empty text is none either)."""

    __slots__ = ("column", "windows")

    def __init__(self, column: Any) -> None:
        self.column = column
        self.windows: dict[int, list[Any]] = {}

    def __getitem__(self, index: int) -> Any:
        window = index // _WINDOW
        found = self.windows.get(window)
        if found is None:
            values = self.column.slice(window * _WINDOW, _WINDOW).to_pylist()
            found = self.windows[window] = [None if v == "" else v for v in values]
        return found[index - window * _WINDOW]

    def last_in(self, end: int, start: int) -> Any:
        """The last cell of rows ``start`` up to ``end`` that is not ``None``, if any."""
        for index in range(end - 1, start - 1, -1):
            value = self[index]
            if value is not None:
                return value
        return None


def read_rows(rows: RowRange, source: str, status_map: Mapping[str, str]) -> TimelineSet:
    """Parse and group one row range, as a spilled partition is read (the same events and
    problems; line numbers are row numbers from 1)."""
    return next(read_parts(RowTask((rows,)), source, status_map))


__all__ = [
    "RangeRead",
    "RowRange",
    "RowTask",
    "parquet_ranges",
    "parquet_tasks",
    "read_parts",
    "read_ranges",
    "read_rows",
    "row_tasks",
]
