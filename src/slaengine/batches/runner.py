"""Run work over every ticket of a large events file: partitioned by ticket, in parallel.

The input is cut into partitions of whole tickets: a file grouped by ticket
into chunks (:mod:`slaengine.batches.chunks`; a plain one read in place, in byte
ranges, :mod:`slaengine.batches.ranges`), a grouped Parquet file into row
ranges (read a row group at a time, :mod:`slaengine.inputs.parquet_parts`),
anything else spilled by ticket
(:mod:`slaengine.batches.spill`). Each partition is parsed, grouped and handed
to a work function, in this process or in ``jobs`` forked workers. Results
come back in partition order, so a parallel run returns exactly what a
single-process run does. :func:`fold_tickets` merges them into one result as
they arrive: the audit and the what-if backtest both run on it.
"""

from __future__ import annotations

import contextlib
import gc
import itertools
import multiprocessing
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from slaengine.batches.chunks import (
    Chunk,
    ChunkTickets,
    NotGrouped,
    TicketCheck,
    chunk_tickets,
    chunkable,
    read_chunk,
    write_chunks,
)
from slaengine.batches.collector import collector_paused
from slaengine.batches.ranges import CarriageReturns, chunk_cuts, readable_in_ranges, scan_range
from slaengine.batches.sizing import chunk_bytes, partition_count
from slaengine.batches.spill import read_partition, spill_input
from slaengine.errors import Problem
from slaengine.inputs.files import is_parquet, source_name
from slaengine.inputs.parquet_parts import RowTask, parquet_tasks, read_ranges
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import TimelineSet

R = TypeVar("R")
A = TypeVar("A")
_NO_MAP: Mapping[str, str] = ReadOnlyMap()
# What forked workers need, set just before the pool starts (fork copies it).
_TASK: dict[str, Any] = {}


@dataclass(slots=True)
class BatchResult(Generic[R]):
    """Per-partition results and everything about the input that was not usable."""

    results: list[R]
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    duplicates: int = 0
    partitions: int = 0


def _run(timelines: TimelineSet) -> tuple[Any, list[Problem], int]:
    return _TASK["work"](timelines), timelines.problems, timelines.duplicates


@contextlib.contextmanager
def _owned() -> Iterator[None]:
    # The collector is paused only in a forked worker, a process this run owns.
    if _TASK.get("owner") == os.getpid():
        yield
    else:
        with collector_paused():
            yield


def _run_partition(path: tuple[Path, ...]) -> tuple[Any, list[Problem], int]:
    with _owned():
        timelines = read_partition(path, _TASK["source"], _TASK["status_map"])
        # Read once: gone before the kernel writes its pages to disk, if it has not yet.
        for file in path:
            file.unlink(missing_ok=True)
        return _run(timelines)


def _run_chunk(chunk: Chunk) -> tuple[Any, list[Problem], int, ChunkTickets, int, int]:
    # A chunk of ticket-grouped JSON Lines; also its tickets, for the parent to check, its
    # last non-blank line and the next chunk's first line.
    with _owned():
        read = read_chunk(chunk, _TASK["source"], _TASK["status_map"])
        return (*_run(read.timelines), read.tickets, read.last_line, read.next_line)


def _run_rows(task: RowTask) -> list[tuple[Any, list[Problem], int, ChunkTickets, int, int]]:
    # Row ranges of a grouped Parquet file, each row group read once: a result per range,
    # its tickets, for the parent to check, its last row and the next range's first (a
    # row is numbered as a line is).
    outputs = []
    with _owned():
        for read in read_ranges(task, _TASK["source"], _TASK["status_map"]):
            tickets = chunk_tickets(read.events, read.timelines)
            outputs.append((*_run(read.timelines), tickets, read.end, read.end + 1))
            del read  # before the next range is read
    return outputs


def _start_worker() -> None:
    # Everything inherited from the parent (policies, compiled calendars) is
    # permanent: keep it out of the collector's generations.
    gc.freeze()


def map_tickets(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    *,
    jobs: int = 1,
    status_map: Mapping[str, str] = _NO_MAP,
    partitions: int | None = None,
    workdir: str | os.PathLike[str] | None = None,
    fold: Callable[[R], None] | None = None,
    restart: Callable[[], None] | None = None,
    chunk_limit: int | None = None,
    spill_partitions: int | None = None,
) -> BatchResult[R]:
    """Apply ``work`` to the timelines of every partition of the events at ``path``.

    ``jobs`` > 1 forks that many workers. Spill files live in a temporary
    directory (under ``workdir`` when given) removed afterwards. With ``fold``,
    each partition's result is handed to it, in partition order, as soon as it
    is ready, and not kept (``results`` stays empty): the caller can combine
    results without holding all of them at once; it needs ``restart``.

    A JSON Lines file grouped by ticket is cut into chunks of whole tickets
    instead of spilled (:mod:`slaengine.batches.chunks`), a Parquet file that looks
    grouped into ranges of rows (:func:`~slaengine.inputs.parquet_parts.parquet_tasks`).
    Should a ticket turn up in two chunks or ranges after all, the results so far
    are dropped, ``restart`` is called (a ``fold`` caller must forget what it was
    handed) and the file is spilled.
    ``partitions`` defaults to :func:`~slaengine.batches.sizing.partition_count`;
    ``chunk_limit`` caps a chunk's bytes (smaller chunks than partitions: more of
    them, each held for less time).
    an input that must be spilled is spilled into ``spill_partitions`` when given
    (a caller whose results do not depend on the partitions may ask for more,
    smaller ones: :func:`~slaengine.batches.sizing.fine_partition_count`).
    """
    source = source_name(path)
    count = partitions or partition_count(path)
    if fold is not None and restart is None:
        raise ValueError("map_tickets: a fold needs a restart")
    if is_parquet(path):
        row_parts = parquet_tasks(path, count, jobs)
        if row_parts is not None:
            try:
                return _map_parquet_ranges(path, work, jobs, status_map, row_parts, fold)
            except NotGrouped:
                if restart is not None:
                    restart()
    elif chunkable(path):
        size = chunk_bytes(path, count)
        size = size if chunk_limit is None else min(size, chunk_limit)
        try:
            if readable_in_ranges(path):
                try:
                    return _map_ranges(path, work, jobs, status_map, size, fold)
                except CarriageReturns as exc:
                    if exc.lone:  # read as text, a lone "\r" ends a line: only a spill does
                        raise NotGrouped(str(exc)) from None
                    if restart is not None:
                        restart()  # "\r\n" line ends: chunk files take them
            return _map_chunks(path, work, jobs, status_map, size, workdir, fold)
        except NotGrouped:
            if restart is not None:
                restart()
    count = spill_partitions or count
    batch: BatchResult[R] = BatchResult(results=[], partitions=count)
    with tempfile.TemporaryDirectory(prefix="slaengine-spill-", dir=workdir) as tmp:
        # The parent's spill is serial work the workers wait for: share it.
        spilled = spill_input(path, Path(tmp), count, source, workers=min(jobs, 2))
        batch.lines = spilled.lines
        batch.problems.extend(spilled.problems)
        tasks = spilled.partition_files()
        with _outputs(_run_partition, tasks, jobs, source, status_map, work) as outputs:
            _collect(outputs, batch, fold)
    batch.problems.sort(key=lambda p: (p.line, p.code))
    return batch


Task = TypeVar("Task")
Output = TypeVar("Output")


@contextlib.contextmanager
def _outputs(
    run: Callable[[Task], Output],
    tasks: Iterable[Task],
    jobs: int,
    source: str,
    status_map: Mapping[str, str],
    work: Callable[[TimelineSet], Any],
) -> Iterator[Iterable[Output]]:
    """``run`` over ``tasks``, in order: here, or in ``jobs`` forked workers."""
    _TASK.update(source=source, status_map=status_map, work=work, owner=os.getpid())
    try:
        if jobs <= 1:
            yield map(run, tasks)
        else:
            # fork: workers inherit the work function and policies without pickling.
            with multiprocessing.get_context("fork").Pool(jobs, _start_worker) as pool:
                yield pool.imap(run, tasks, chunksize=1)
    finally:
        _TASK.clear()


def _map_chunks(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    jobs: int,
    status_map: Mapping[str, str],
    size: int,
    workdir: str | os.PathLike[str] | None,
    fold: Callable[[R], None] | None,
) -> BatchResult[R]:
    # Chunks of about ``size`` bytes.
    batch: BatchResult[R] = BatchResult(results=[])
    seen = TicketCheck()
    with tempfile.TemporaryDirectory(prefix="slaengine-chunks-", dir=workdir) as tmp:
        chunks = write_chunks(path, Path(tmp), size)
        source = source_name(path)
        with _outputs(_run_chunk, chunks, jobs, source, status_map, work) as outputs:
            _collect_chunks(outputs, batch, fold, seen)
    batch.problems.sort(key=lambda p: (p.line, p.code))
    return batch


def _map_ranges(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    jobs: int,
    status_map: Mapping[str, str],
    size: int,
    fold: Callable[[R], None] | None,
) -> BatchResult[R]:
    # A plain file grouped by ticket: each worker reads its own byte range of it.
    batch: BatchResult[R] = BatchResult(results=[])
    seen = TicketCheck()
    name = Path(os.path.abspath(path))
    cuts = chunk_cuts(name, size)
    following = [1]  # the line after the last range read, in one process
    ranges = _ranges(name, cuts) if jobs > 1 else _ranges_in_turn(name, cuts, following)
    with _outputs(_run_chunk, ranges, jobs, source_name(path), status_map, work) as outputs:
        _collect_chunks(outputs, batch, fold, seen, following)
    batch.problems.sort(key=lambda p: (p.line, p.code))
    return batch


def _ranges(path: Path, cuts: list[int]) -> Iterator[Chunk]:
    # Each range once its bytes are counted (its first line number needs the ranges before
    # it; a carriage return stops the run before its range is read by a worker).
    first = 1
    for start, end in itertools.pairwise(cuts):
        breaks = scan_range(path, start, end)
        yield Chunk(path, first, start, end)
        first += breaks


def _ranges_in_turn(path: Path, cuts: list[int], following: list[int]) -> Iterator[Chunk]:
    # In one process, each range once the one before it is read (a map is lazy): numbered
    # from ``following[0]``, the line after that range, with no count of its own first
    # (its reader tells carriage returns apart).
    for start, end in itertools.pairwise(cuts):
        yield Chunk(path, following[0], start, end)


def _map_parquet_ranges(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    jobs: int,
    status_map: Mapping[str, str],
    tasks: list[RowTask],
    fold: Callable[[R], None] | None,
) -> BatchResult[R]:
    # A Parquet file that looks grouped: each worker reads its own rows of it, and the
    # ranges' tickets are checked as a grouped JSON Lines file's chunks are.
    batch: BatchResult[R] = BatchResult(results=[])
    seen = TicketCheck()
    with _outputs(_run_rows, tasks, jobs, source_name(path), status_map, work) as outputs:
        _collect_chunks(itertools.chain.from_iterable(outputs), batch, fold, seen)
    batch.lines = tasks[-1].parts[-1].end
    batch.problems.sort(key=lambda p: (p.line, p.code))
    return batch


def _collect_chunks(
    outputs: Iterable[tuple[R, list[Problem], int, ChunkTickets, int, int]],
    batch: BatchResult[R],
    fold: Callable[[R], None] | None,
    seen: TicketCheck,
    following: list[int] | None = None,
) -> None:
    for result, problems, duplicates, tickets, last_line, next_line in outputs:
        if following is not None:
            following[0] = next_line
        # Checked before the result is used: a ticket in two chunks was cut apart.
        seen.add(tickets)
        batch.partitions += 1
        batch.lines = max(batch.lines, last_line)
        _collect([(result, problems, duplicates)], batch, fold)


def _collect(
    outputs: Iterable[tuple[R, list[Problem], int]],
    batch: BatchResult[R],
    fold: Callable[[R], None] | None,
) -> None:
    for result, problems, duplicates in outputs:
        batch.problems.extend(problems)
        batch.duplicates += duplicates
        if fold is None:
            batch.results.append(result)
        else:
            fold(result)


def fold_tickets(
    path: str | os.PathLike[str],
    work: Callable[[TimelineSet], R],
    start: Callable[[], A],
    merge: Callable[[A, R], None],
    *,
    jobs: int = 1,
    status_map: Mapping[str, str] = _NO_MAP,
    on_partition: Callable[[], None] | None = None,
    chunk_limit: int | None = None,
    spill_partitions: int | None = None,
) -> tuple[A, BatchResult[R]]:
    """``work`` on every partition, each result merged into one as it arrives, in order.

    ``start()`` makes an empty result and ``merge(into, part)`` adds a partition's;
    only one partition's result is held at a time. Should the input turn out not
    to be grouped by ticket after all, the merged result starts again from
    ``start()``. ``on_partition`` is called in this process after each merge
    (progress), whatever ``jobs``. ``chunk_limit`` and ``spill_partitions`` are
    :func:`map_tickets`'s.
    """
    merged = [start()]

    def fold(part: R) -> None:
        merge(merged[0], part)
        if on_partition is not None:
            on_partition()

    def restart() -> None:
        merged[0] = start()

    batch = map_tickets(
        path,
        work,
        jobs=jobs,
        status_map=status_map,
        fold=fold,
        restart=restart,
        chunk_limit=chunk_limit,
        spill_partitions=spill_partitions,
    )
    return merged[0], batch


__all__ = ["BatchResult", "fold_tickets", "map_tickets"]
