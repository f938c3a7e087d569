"""Group unsorted events by ticket with bounded memory: a partitioned spill to disk.

Events of one ticket can be anywhere in a large input. One pass reads each line,
decodes just enough to find its ticket and appends the raw line (with its line
number) to one of ``n`` partition files chosen by the ticket: a range of ticket ids
(:mod:`slaengine.batches.routes`) or a stable hash.
Every ticket then lies wholly in one partition, which is small enough to parse,
group and evaluate in memory, and partitions can be processed in parallel. Peak
memory is one partition per worker, not the whole history.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from operator import attrgetter
from pathlib import Path

from slaengine.batches.partition_files import PartitionFiles
from slaengine.batches.routes import ticket_routes
from slaengine.batches.sizing import SPARE_FILES, open_files
from slaengine.batches.spill_rows import MAX_SPAN, read_rows, write_numbered, write_rows
from slaengine.errors import Problem, UserError
from slaengine.inputs.events import events_stream
from slaengine.inputs.files import (
    TEXT_ERRORS,
    is_parquet,
    is_stream,
    is_table,
    open_binary,
    open_events,
)
from slaengine.inputs.jsonl import parse_numbered_block
from slaengine.inputs.parquet import arrow_file_events, write_partitions
from slaengine.inputs.tickets import TicketRoutes, ticket_of
from slaengine.readonly import ReadOnlyMap
from slaengine.timeline import Event, TimelineSet, build_timelines

_NO_MAP: Mapping[str, str] = ReadOnlyMap()


@dataclass(slots=True)
class Spill:
    """Partition files of one input, with what was learnt while splitting it."""

    source: str
    paths: list[Path]
    lines: int = 0
    problems: list[Problem] = field(default_factory=list)
    # Files written by helper processes of a parallel spill: ``shares[k][i]`` holds
    # more lines of partition ``i`` (see :meth:`partition_files`).
    shares: list[list[Path]] = field(default_factory=list)

    def partition_files(self) -> list[tuple[Path, ...]]:
        """The files of each partition, for :func:`read_partition`."""
        return list(zip(self.paths, *self.shares, strict=True))


def spill(
    lines: Iterable[str],
    directory: Path,
    partitions: int,
    source: str,
    routes: TicketRoutes | None = None,
) -> Spill:
    """Split JSON Lines into ``partitions`` files under ``directory`` by ticket.

    Each stored line keeps its line number (:mod:`~slaengine.batches.spill_rows`) so
    later problems keep the input's. Lines that are not JSON objects with a ticket are
    reported here or left to the parser (partition 0), never dropped silently. Tickets go
    where ``routes`` send them (by default a hash of the ticket).
    """
    route = (routes or TicketRoutes(partitions)).of
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"part-{i:04d}.tsv" for i in range(partitions)]
    result = Spill(source, paths)
    with PartitionFiles(paths) as outputs:
        pending = _Pending(outputs)
        for number, line in enumerate(lines, start=1):
            text = line.rstrip("\r\n")
            if not text.strip():
                continue
            result.lines = number
            ticket = ticket_of(text)
            # A line without a findable ticket goes to partition 0, whose parser
            # reports it (bad JSON, missing ticket) with this line number.
            index = route(ticket) if ticket is not None else 0
            pending.add(number, text.encode("utf-8", TEXT_ERRORS), index)
        pending.write()
    return result


@dataclass(slots=True)
class _Pending:
    # Lines of text on their way to the partitions, written a block at a time.
    outputs: PartitionFiles
    base: int = 0
    lines: list[bytes] = field(default_factory=list)
    indexes: list[int] = field(default_factory=list)
    offsets: list[int] = field(default_factory=list)

    def add(self, number: int, line: bytes, index: int) -> None:
        if not self.lines:
            self.base = number - 1
        elif len(self.lines) >= _TEXT_BLOCK or number - self.base > MAX_SPAN:
            self.write()
            self.base = number - 1
        self.lines.append(line)
        self.indexes.append(index)
        self.offsets.append(number - self.base)

    def write(self) -> None:
        write_numbered(self.lines, self.indexes, self.base, self.offsets, self.outputs.writes)
        self.outputs.block_done()
        self.lines, self.indexes, self.offsets = [], [], []


def spill_parquet(
    path: str | os.PathLike[str],
    directory: Path,
    partitions: int,
    source: str,
    workers: int = 1,
    routes: TicketRoutes | None = None,
) -> Spill:
    """Split a Parquet events file into ``partitions`` Arrow files by ticket.

    Rows stay columns: each batch is split with Arrow compute (one route per
    distinct ticket, not per row) and written with its row numbers, so the
    parent does no per-row Python work and no JSON. Rows go to the same
    partitions, in the same order, as the JSON text of the same rows would
    through :func:`spill` with the same ``routes`` (by default a hash).

    With ``workers`` > 1, that many processes share the row groups (as
    :func:`spill_file` shares blocks); a partition is then several files.
    """

    # Arrow's writers are held open, one a partition: ask for the files they need. Where
    # fewer may be open, the file is read once for each window of partitions that fit.
    at_once = max(1, open_files(partitions + SPARE_FILES) - SPARE_FILES)

    def run(where: Path, share: tuple[int, int]) -> Spill:
        paths, rows = write_partitions(path, where, partitions, share, routes, at_once)
        return Spill(source, paths, lines=rows)

    if workers > 1:
        return _spill_shared(run, directory, workers)
    return run(directory, (0, 1))


def spill_input(
    path: str | os.PathLike[str], directory: Path, partitions: int, source: str, workers: int = 1
) -> Spill:
    """Split any events input by ticket: Parquet as columns, a JSON Lines file as bytes (in
    ``workers`` processes), standard input and CSV line by line.

    A plain JSON Lines or Parquet file is split by ranges of ticket ids drawn from
    a sample of it (:func:`~slaengine.batches.routes.ticket_routes`), anything
    else by a hash.
    """
    if is_parquet(path):
        routes = ticket_routes(path, partitions)
        return spill_parquet(path, directory, partitions, source, workers=workers, routes=routes)
    if not is_stream(path) and not is_table(path):
        routes = ticket_routes(path, partitions)
        return spill_file(path, directory, partitions, source, workers=workers, routes=routes)
    with events_stream(path) as stream:
        return spill(stream, directory, partitions, source)


# What ticket_of's pattern finds in a plain line (plain_ticket_key) with a string id, for
# bytes: ``\s`` spelt out as str's ASCII white space but for the line break, which ends
# the match (the rest of the line is taken, so a block gives at most one match a line).
_TICKET_BYTES = re.compile(
    rb'"ticket"[ \t\r\f\v\x1c-\x1f]*:[ \t\r\f\v\x1c-\x1f]*"([^"\\\n]*)"[^\n]*'
)
_BLOCK = 1 << 22
# Lines of text spilled at a time.
_TEXT_BLOCK = 1 << 15


class _TextNeeded(Exception):
    """The input has a line break the byte reader does not split on (a lone carriage return)."""


def spill_file(
    path: str | os.PathLike[str],
    directory: Path,
    partitions: int,
    source: str,
    workers: int = 1,
    routes: TicketRoutes | None = None,
) -> Spill:
    """Like :func:`spill` for a JSON Lines file (plain or ``.gz``), without decoding it.

    Lines are split, matched and written as bytes: the parent's serial pass
    does no UTF-8 decoding and no per-line text I/O, about half of its time.
    A block of lines that are all plain (one ``"ticket"`` each and no escape
    that could hide a key, :func:`~slaengine.inputs.tickets.plain_ticket_key`)
    has its tickets found by one search of the whole block; other blocks are
    taken a line at a time, an unusual line decoded to find its ticket.
    The partitions hold exactly what :func:`spill` of the decoded text holds
    (they are decoded, with the same replacement of bad bytes, when read). A
    file with lone carriage returns, which the text reader treats as line
    breaks, is spilled by :func:`spill` instead.

    With ``workers`` > 1, that many processes share the work: each reads the
    whole input (decompressing is the cheap part) but splits, matches and
    writes only every ``workers``-th block of it, into its own files; a
    partition is then several files (:meth:`Spill.partition_files`), which
    :func:`read_partition` reads back in line order. Tickets go where ``routes``
    send them, by default by a hash, as in :func:`spill`.
    """
    routed = routes or TicketRoutes(partitions)
    try:
        if workers > 1:
            return _spill_shared(
                lambda where, share: _spill_bytes(path, where, routed, source, share),
                directory,
                workers,
            )
        return _spill_bytes(path, directory, routed, source)
    except _TextNeeded:
        with open_events(path) as stream:
            return spill(stream, directory, partitions, source, routed)


# One process's share of a parallel spill: writes partitions under the directory given,
# taking every n-th piece of the input from piece k (share (k, n)).
_SpillShare = Callable[[Path, tuple[int, int]], Spill]


def _spill_share(
    run: _SpillShare, directory: Path, share: tuple[int, int], conn: Connection
) -> None:
    # A helper process of _spill_shared; the outcome ("ok" and the last line,
    # "text", or the error) goes back on ``conn``.
    try:
        result = run(directory, share)
        conn.send(("ok", result.lines))
    except _TextNeeded:
        conn.send(("text", 0))
    except UserError as exc:  # bad input (a damaged .gz): the parent says so
        conn.send(("user", str(exc)))
    except BaseException as exc:  # reported to the parent, which raises
        conn.send(("error", repr(exc)))
    finally:
        conn.close()


def _spill_shared(run: _SpillShare, directory: Path, workers: int) -> Spill:
    import multiprocessing

    context = multiprocessing.get_context("fork")
    helpers = []
    for k in range(1, workers):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(
            target=_spill_share,
            args=(run, directory / f"share-{k}", (k, workers), send),
            daemon=True,
        )
        process.start()
        send.close()
        helpers.append((process, receive))
    text_needed = False
    try:
        result = run(directory, (0, workers))
    except _TextNeeded:
        text_needed = True
    except BaseException:
        for process, receive in helpers:
            process.terminate()
            process.join()
            receive.close()
        raise
    outcomes = []
    for process, receive in helpers:
        try:
            outcomes.append(receive.recv())
        except EOFError:
            outcomes.append(("error", f"spill helper exited with {process.exitcode}"))
        receive.close()
        process.join()
    for status, detail in outcomes:
        if status == "text":
            text_needed = True
        elif status == "user":
            raise UserError(str(detail))
        elif status == "error":
            raise OSError(f"parallel spill failed: {detail}")
    if text_needed:
        raise _TextNeeded
    for _status, detail in outcomes:
        result.lines = max(result.lines, int(detail))
    result.shares = [
        [directory / f"share-{k}" / p.name for p in result.paths] for k in range(1, workers)
    ]
    return result


def _spill_bytes(
    path: str | os.PathLike[str],
    directory: Path,
    routes: TicketRoutes,
    source: str,
    share: tuple[int, int] = (0, 1),
) -> Spill:
    # share (k, n): split and write only blocks k, k + n, k + 2n ... (every block
    # is still read, to count its lines); the last, unterminated line goes with share 0.
    mine, every = share
    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / f"part-{i:04d}.tsv" for i in range(routes.partitions)]
    result = Spill(source, paths)
    number = 0
    carry = b""
    blocks = -1
    with PartitionFiles(paths) as outputs:
        writes = outputs.writes
        with open_binary(path) as stream:
            while True:
                block = stream.read(_BLOCK)
                if not block:
                    break
                blocks += 1
                if b"\r" in block:
                    if block.endswith(b"\r"):  # perhaps half of a "\r\n": complete it
                        block += stream.read(1)
                    block = _without_crlf(carry + block)
                    carry = b""
                if blocks % every != mine:
                    # Another process's block: only count its lines and keep the carry.
                    ends = block.count(b"\n")
                    if ends:
                        number += ends
                        carry = block[block.rfind(b"\n") + 1 :]
                    else:
                        carry += block
                    continue
                text = carry + block if carry else block
                cut = text.rfind(b"\n")
                if cut == -1:
                    carry = text
                    continue
                carry = text[cut + 1 :]
                lines, last = spill_lines(text[:cut], number, routes, writes)
                number += lines
                result.lines = last or result.lines
                outputs.block_done()
        if carry and mine == 0:
            result.lines = spill_lines(carry, number, routes, writes)[1] or result.lines
    return result


def spill_lines(
    data: bytes, number: int, routes: TicketRoutes, writes: Sequence[Callable[[bytes], object]]
) -> tuple[int, int]:
    """Write the lines of ``data`` (numbered from ``number + 1``; no final line break) to
    their partitions with their numbers (:func:`~slaengine.batches.spill_rows.write_rows`),
    ``writes[i]`` taking partition ``i``'s; how many lines it holds, and the number of the
    last that is not blank (0 for none).

    What :func:`spill` writes for the same lines, found by bytes (see :func:`spill_file`).
    """
    lines = data.split(b"\n")
    keys = plain_tickets(data, len(lines))
    if keys is not None:
        # Every line plain, with its ticket: no Python work a line.
        write_rows(lines, routes.of_keys(keys), number, writes)
        return len(lines), number + len(lines)
    last = 0
    indexes = []
    for position, raw in enumerate(lines, start=number + 1):
        if raw[:1] != b"{" and not _bytes_text(raw).strip():
            indexes.append(-1)  # blank, as in spill(): left out
            continue
        last = position
        indexes.append(_partition_of_raw(raw, routes))
    write_rows(lines, indexes, number, writes)
    return len(lines), last


def plain_tickets(data: bytes, lines: int) -> list[bytes] | None:
    """The ticket of each of the ``lines`` lines of ``data`` when every line is plain
    (:func:`~slaengine.inputs.tickets.plain_ticket_key`), with a string id, and the
    block is UTF-8 (so each id's bytes are what its text encodes to); else ``None``."""
    if data.count(b'"ticket"') != lines:
        return None
    if b"\\" in data and (b"\\u" in data or b'\\"' in data):
        return None
    if not data.isascii():
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return None
    keys = _TICKET_BYTES.findall(data)
    # At most one match a line (each takes the rest of its line): one each.
    return keys if len(keys) == lines else None


def _partition_of_raw(raw: bytes, routes: TicketRoutes) -> int:
    # One line's partition: ticket_of's, by bytes when the line is plain and ASCII.
    if raw.isascii() and raw.count(b'"ticket"') == 1 and b"\\u" not in raw and b'\\"' not in raw:
        found = _TICKET_BYTES.search(raw)
        if found is not None:
            return routes.of_keys([found.group(1)])[0]
    ticket = ticket_of(_bytes_text(raw))
    # A line without a findable ticket goes to partition 0, whose parser reports it.
    return routes.of(ticket) if ticket is not None else 0


def _bytes_text(raw: bytes) -> str:
    return raw.decode("utf-8", errors=TEXT_ERRORS)


def _without_crlf(block: bytes) -> bytes:
    # Text mode reads "\r\n" as one line break; a lone "\r" is a break too, which
    # splitting on "\n" cannot follow, so such files go through the text path.
    joined = block.replace(b"\r\n", b"\n")
    if b"\r" in joined:
        raise _TextNeeded
    return joined


def read_partition(
    path: Path | Sequence[Path], source: str, status_map: Mapping[str, str] = _NO_MAP
) -> TimelineSet:
    """Parse and group one partition (a file, or the files of a parallel spill).

    Problems carry the original line numbers; the events of several files are
    put back in line order, as one file of a serial spill holds them.
    """
    problems: list[Problem] = []
    files = [path] if isinstance(path, Path) else list(path)
    if files[0].suffix == ".arrow":  # a Parquet file's rows, grouped by ticket in Arrow
        arrow_events = arrow_file_events(files, source, status_map, problems)
        return build_timelines(arrow_events, source, problems)
    events: list[Event] = []
    for file in files:
        events.extend(_spilled_events(file, source, status_map, problems))
    if len(files) > 1:
        # Each file is in line order already: one merge of sorted runs.
        events.sort(key=_SEQ)
    return build_timelines(events, source, problems)


_SEQ = attrgetter("seq")


def _spilled_events(
    path: Path, source: str, status_map: Mapping[str, str], problems: list[Problem]
) -> list[Event]:
    """The events of one partition file (:mod:`~slaengine.batches.spill_rows`), in its order.

    What :func:`~slaengine.inputs.jsonl.parse_numbered` gives for its lines, a record at a time.
    """
    events: list[Event] = []
    # spill_file stores the input's bytes as they are; bad ones are reported by parse_line.
    with path.open("rb") as stream:
        for lines, numbers in read_rows(stream):
            parse_numbered_block(lines, numbers, source, status_map, problems, events)
    return events


__all__ = [
    "Spill",
    "plain_tickets",
    "read_partition",
    "spill",
    "spill_file",
    "spill_input",
    "spill_lines",
    "spill_parquet",
]
