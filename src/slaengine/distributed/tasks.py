"""What Dask workers run: read their part of the input, split it by ticket, evaluate a partition.

Plain functions of plain arguments, imported by reference on the workers (which
need slaengine installed); none of them imports dask. Every partition is read
by slaengine's own readers (:func:`~slaengine.batches.chunks.read_chunk`,
:func:`~slaengine.inputs.parquet_parts.read_rows`, :func:`~slaengine.batches.spill.read_partition`)
from a file in the worker's temporary directory, exactly as a local run reads
it, and handed to the same work function (an audit or a backtest of one partition).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from slaengine.batches.chunks import Chunk, read_chunk
from slaengine.batches.collector import collector_paused
from slaengine.batches.spill import plain_tickets, read_partition, spill_lines
from slaengine.errors import Problem
from slaengine.inputs.files import TEXT_ERRORS
from slaengine.inputs.parquet import join_streams, split_streams
from slaengine.inputs.parquet_parts import RowRange, read_rows
from slaengine.inputs.tickets import TicketRoutes, ticket_of
from slaengine.timeline import TimelineSet

_BLOCK: Final = 1 << 22

#: One partition's outcome: the work's result, its problems and ignored duplicates.
PartOutput = tuple[Any, list[Problem], int]
Work = Callable[[TimelineSet], Any]


@dataclass(frozen=True, slots=True)
class OwnedWork:
    """A run's work function, and the host and process of the client that sent it.

    A task run in the client's own process (a cluster of threads in it) leaves
    that process's garbage collector alone; a worker process pauses its own
    while a partition runs (:func:`~slaengine.batches.collector.collector_paused`).
    """

    work: Work
    client: tuple[str, int]

    def __call__(self, timelines: TimelineSet) -> Any:
        return self.work(timelines)


def here() -> tuple[str, int]:
    """This process: its host name and id."""
    return socket.gethostname(), os.getpid()


def _partition(work: Work) -> contextlib.AbstractContextManager[None]:
    # The collector paused for a partition of ``work``, unless this is the client's process.
    if isinstance(work, OwnedWork) and work.client == here():
        return contextlib.nullcontext()
    return collector_paused()


class CarriageReturn(Exception):
    """A range holds a carriage return: the client reads such a file as a local run does."""


def read_range(path: str, start: int, end: int) -> bytes:
    """Bytes ``start`` up to ``end`` of a plain file."""
    with open(path, "rb") as stream:
        stream.seek(start)
        return stream.read(end - start)


def count_range(path: str, start: int, end: int) -> tuple[int, int]:
    """Line breaks in a range of whole lines, and its last non-blank line (1-based, 0: none).

    Raises :class:`CarriageReturn` when the range holds a ``\\r``, which text
    reading treats as a line break of its own.
    """
    data = read_range(path, start, end)
    if b"\r" in data:
        raise CarriageReturn(path)
    lines = data.split(b"\n")
    if lines and not lines[-1]:
        lines.pop()  # the text after the last line break: nothing
    for number in range(len(lines), 0, -1):
        raw = lines[number - 1]
        # Blank as a spill counts it: nothing but (Unicode) white space.
        if raw[:1] == b"{" or raw.decode("utf-8", errors=TEXT_ERRORS).strip():
            return data.count(b"\n"), number
    return data.count(b"\n"), 0


def stable_hash(ticket: str) -> int:
    """A 64-bit hash of a ticket id, the same in every process (``hash()`` is not)."""
    return _stable_hash(ticket.encode("utf-8", errors="surrogatepass"))


def _stable_hash(key: bytes) -> int:
    # Of a ticket id's UTF-8 bytes (with surrogatepass, as stable_hash encodes it).
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")


def ticket_hashes(data: bytes, buckets: int) -> list[array[int]]:
    """The stable hashes of the tickets that ``data``'s lines name, split into ``buckets``.

    The tickets are found as a spill finds them: by one search of the block when
    every line is plain, else line by line.
    """
    body = data[:-1] if data.endswith(b"\n") else data
    keys = plain_tickets(body, body.count(b"\n") + 1) if body else []
    if keys is not None:
        # Each id's bytes are the UTF-8 its text encodes to (plain_tickets checks the block).
        values = set(map(_stable_hash, set(keys)))
    else:
        tickets: set[str] = set()
        for raw in body.split(b"\n"):
            if raw.strip():
                ticket = ticket_of(raw.decode("utf-8", errors=TEXT_ERRORS))
                if ticket is not None:
                    tickets.add(ticket)
        values = set(map(stable_hash, tickets))
    out = [array("Q") for _ in range(buckets)]
    for value in values:
        out[value % buckets].append(value)
    return out


def run_chunk(
    work: Work,
    data: bytes | tuple[str, int, int],
    first: int,
    source: str,
    status_map: Mapping[str, str],
    checks: int,
) -> tuple[PartOutput, list[array[int]], int]:
    """Evaluate one chunk of whole tickets starting at input line ``first``.

    ``data`` is the chunk's bytes, or a range ``(path, start, end)`` of a file
    the worker reads itself. Also returns the hashes of the tickets the chunk
    names, in ``checks`` buckets, for :func:`distinct`, and its last non-blank line.
    """
    if isinstance(data, tuple):
        data = read_range(*data)
        if b"\r" in data:
            raise CarriageReturn(source)
    with _partition(work), tempfile.TemporaryDirectory(prefix="slaengine-dask-") as tmp:
        file = Path(tmp) / "chunk.jsonl"
        file.write_bytes(data)
        read = read_chunk(Chunk(file, first), source, status_map)
        timelines = read.timelines
        output = (work(timelines), timelines.problems, timelines.duplicates)
    return output, ticket_hashes(data, checks), read.last_line


def distinct(*pieces: array[int]) -> bool:
    """True when no two pieces (each of distinct hashes) share a hash: no ticket in two chunks."""
    seen: set[int] = set()
    total = 0
    for piece in pieces:
        seen.update(piece)
        total += len(piece)
    return len(seen) == total


def run_rows(work: Work, rows: RowRange, source: str, status_map: Mapping[str, str]) -> PartOutput:
    """Evaluate one row range of whole tickets of a grouped Parquet file."""
    with _partition(work):
        timelines = read_rows(rows, source, status_map)
        return work(timelines), timelines.problems, timelines.duplicates


def split_lines(
    path: str, start: int, end: int, first: int, routes: TicketRoutes, groups: int
) -> list[list[bytes]]:
    """Split a range of JSON Lines (from input line ``first``) by ticket, as a spill does
    (tickets go where ``routes`` send them, as a local spill of the file decides them).

    Returns, per group of consecutive partitions (``groups`` of them),
    each partition's lines with their numbers: what a spill writes to its files.
    """
    data = read_range(path, start, end)
    if b"\r" in data:
        raise CarriageReturn(path)
    out: list[list[bytes]] = [[] for _ in range(routes.partitions)]
    body = data[:-1] if data.endswith(b"\n") else data
    if body:
        # The local spill's own routine: the same rows, tickets found a block at a time.
        spill_lines(body, first - 1, routes, [part.append for part in out])
    return _grouped([b"".join(part) for part in out], groups)


def split_rows(
    path: str, row_groups: Sequence[int], first: int, routes: TicketRoutes, groups: int
) -> list[list[bytes]]:
    """Split row groups of a Parquet file (rows numbered from ``first``) by ticket (where
    ``routes`` send them, as a local spill of the file decides them).

    The rows of each partition as an Arrow IPC stream with their row numbers,
    split as a local spill splits them (:func:`slaengine.inputs.parquet.split_streams`).
    """
    return _grouped(split_streams(path, row_groups, first, routes), groups)


def _grouped(parts: list[bytes], groups: int) -> list[list[bytes]]:
    # Consecutive partitions per group, so the groups' results fold in partition order.
    size = -(-len(parts) // groups)
    return [parts[g * size : (g + 1) * size] for g in range(groups)]


def pick(pieces: list[list[bytes]], group: int) -> list[bytes]:
    """One group's pieces of a split (a task of its own, so only they travel)."""
    return pieces[group]


def run_partitions(
    work: Work,
    suffix: str,
    source: str,
    status_map: Mapping[str, str],
    *splits: list[bytes],
) -> list[PartOutput]:
    """Evaluate each partition of a group, given every reader's pieces of it in input order."""
    outputs = []
    for index in range(len(splits[0]) if splits else 0):
        with _partition(work):
            timelines = read_pieces([split[index] for split in splits], suffix, source, status_map)
            outputs.append((work(timelines), timelines.problems, timelines.duplicates))
    return outputs


def read_pieces(
    pieces: Sequence[bytes], suffix: str, source: str, status_map: Mapping[str, str]
) -> TimelineSet:
    """One partition from its pieces: spilled lines (``.tsv``) or Arrow streams (``.arrow``)."""
    with tempfile.TemporaryDirectory(prefix="slaengine-dask-") as tmp:
        file = Path(tmp) / f"part{suffix}"
        if suffix == ".arrow":
            join_streams(pieces, file)
        else:
            with file.open("wb") as out:
                out.writelines(pieces)
        return read_partition(file, source, status_map)


def run_spilled(
    work: Work, data: bytes, suffix: str, source: str, status_map: Mapping[str, str]
) -> PartOutput:
    """Evaluate one partition file that the client spilled (gzip, CSV or stdin input)."""
    with _partition(work):
        timelines = read_pieces([data], suffix, source, status_map)
        return work(timelines), timelines.problems, timelines.duplicates


__all__ = [
    "CarriageReturn",
    "OwnedWork",
    "PartOutput",
    "count_range",
    "distinct",
    "here",
    "pick",
    "read_pieces",
    "read_range",
    "run_chunk",
    "run_partitions",
    "run_rows",
    "run_spilled",
    "split_lines",
    "split_rows",
    "stable_hash",
    "ticket_hashes",
]
