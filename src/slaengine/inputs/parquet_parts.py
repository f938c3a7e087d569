"""A Parquet file grouped by ticket, read in ranges of whole tickets, each row group once.

:func:`parquet_ranges` checks, from the ticket column alone, that a file is
grouped by ticket and cuts it into ranges of whole tickets (the parts a batch
run evaluates one at a time). :func:`row_tasks` puts together the ranges that
share a row group, so that a worker reads each row group once: pyarrow cannot
start a read in the middle of a row group, and a range that does decodes the
rows before it for nothing (a row group of a million rows cut into nine parts
was decoded five times over). :func:`read_parts` reads a task's rows in one
pass and hands over the timelines of one range at a time, so memory holds one
range's events, whatever the size of the row groups.
"""

from __future__ import annotations

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
    cut into about equal ranges each, which :func:`row_tasks` reads together.
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
                pieces = -(-(b - a) // size)  # about equal ranges of at most ``size`` rows
                cuts += _cuts(starts, a, b, -(-(b - a) // pieces), [])
    cuts = sorted(set(cuts))
    name = os.fspath(path)
    return [RowRange(name, a, b) for a, b in zip(cuts, [*cuts[1:], rows], strict=True) if a < b]


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
    """Consecutive ranges of a Parquet file read in one pass (:func:`read_parts`)."""

    parts: tuple[RowRange, ...]


def row_tasks(ranges: list[RowRange], jobs: int = 1) -> list[RowTask]:
    """The ranges of :func:`parquet_ranges`, in order, put together into tasks.

    A range that starts far into a row group (more of the row group's rows
    before it than half its own) joins the task of the range before it, which
    has just read those rows; any other starts a task (decoding a row costs
    about a twentieth of evaluating it: the rows of a ticket decoded twice cost
    less than fewer, larger tasks shared among the workers). With ``jobs``
    workers, a task takes at most a ``2 * jobs``-th of the ranges (rounded up),
    so a file of one large row group still keeps every worker busy.
    """
    if not ranges:
        return []
    meta = open_parquet(ranges[0].path).metadata
    group_starts = [0]
    for g in range(meta.num_row_groups):
        group_starts.append(group_starts[-1] + meta.row_group(g).num_rows)
    most = -(-len(ranges) // (2 * jobs)) if jobs > 1 else len(ranges)
    tasks: list[list[RowRange]] = []
    for part in ranges:
        group_start = group_starts[bisect_left(group_starts, part.start + 1) - 1]
        skipped = part.start - group_start
        if tasks and len(tasks[-1]) < most and skipped * 2 > part.end - part.start:
            tasks[-1].append(part)
        else:
            tasks.append([part])
    return [RowTask(tuple(parts)) for parts in tasks]


def read_parts(task: RowTask, source: str, status_map: Mapping[str, str]) -> Iterator[TimelineSet]:
    """The timelines of each range of ``task``, in order, its rows read once.

    Each range is parsed and grouped as a spilled partition is (the same events
    and problems; line numbers are row numbers from 1). The next range is read
    only once the timelines handed over are done with.
    """
    path = task.parts[0].path
    table = open_parquet(path, word_codes=True)
    meta = table.metadata
    first, end = task.parts[0].start, task.parts[-1].end
    ends = iter(part.end for part in task.parts)
    part_end = next(ends)
    problems: list[Problem] = []
    events: list[Event] = []
    words = WordCache()  # a row group's batches share its dictionaries
    offset = 0
    for g in range(meta.num_row_groups):
        count = meta.row_group(g).num_rows
        low, high = max(offset, first), min(offset + count, end)
        if low < high:
            # A task ends a few rows into the next row group (its last ticket): those
            # rows are read in small batches, not a full batch the next task reads again.
            size = PART_ROWS if high - offset > _HEAD_ROWS else _HEAD_ROWS
            row = offset
            for batch in table.iter_batches(batch_size=size, row_groups=[g]):
                start, stop = max(row, low), min(row + batch.num_rows, high)
                while start < stop:
                    cut = min(stop, part_end)
                    part = batch.slice(start - row, cut - start)
                    numbers = range(start + 1, cut + 1)
                    table_events(part, numbers, source, status_map, problems, events, words)
                    start = cut
                    if cut == part_end:
                        # Arrow's allocator keeps what the batches used; the range's
                        # evaluation needs it more.
                        release_arrow_memory()
                        timelines = build_timelines(events, source, problems)
                        events, problems = [], []
                        yield timelines
                        del timelines
                        part_end = next(ends, end)
                row += batch.num_rows
                if row >= high:
                    break
        offset += count
        if offset >= end:
            break


def read_rows(rows: RowRange, source: str, status_map: Mapping[str, str]) -> TimelineSet:
    """Parse and group one row range, as a spilled partition is read (the same events and
    problems; line numbers are row numbers from 1)."""
    return next(read_parts(RowTask((rows,)), source, status_map))


__all__ = ["RowRange", "RowTask", "parquet_ranges", "read_parts", "read_rows", "row_tasks"]
