"""Parquet events files: opened with their damage reported, split by ticket for a spill.

Reading a Parquet file's rows as JSON text (:func:`parquet_lines`), splitting
its batches by ticket for a spill (:func:`split_batch`, :func:`write_partitions`,
and :func:`split_streams` for a Dask shuffle) and reading back the Arrow files a
spill wrote (:func:`arrow_file_events`). A file grouped by ticket is read in
ranges of whole tickets instead (:mod:`slaengine.inputs.parquet_parts`). A
batch's rows become events in :mod:`slaengine.inputs.parquet_rows`
(:func:`table_events`, also importable from here). pyarrow is imported only when
a Parquet file is read (``slaengine[parquet]``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Final

from slaengine.errors import Problem, UserError
from slaengine.inputs.arrow_events import word_columns
from slaengine.inputs.arrow_words import is_text
from slaengine.inputs.parquet_rows import batch_events, column_cells, column_values, table_events
from slaengine.inputs.tables import check_columns, event_from_cells, row_events
from slaengine.inputs.tickets import TicketRoutes
from slaengine.timeline import Event

#: Rows per batch read from a Parquet file.
BATCH_ROWS: Final = 65_536
#: Rows per batch turned into events: smaller batches than the spill's keep Arrow's
#: buffers and the columns' Python values of a batch small beside the part's events;
#: larger ones than 16,384 pay each batch's hundred Arrow calls less often (about 5%
#: less CPU for rows into events, benchmarks/README.md).
PART_ROWS: Final = 32_768


def parquet_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text per Parquet row, read in batches (bounded memory)."""
    table = open_parquet(path)
    for batch in every_batch(table, BATCH_ROWS):
        names = batch.schema.names
        for row in zip(*(column_values(column) for column in batch.columns), strict=True):
            yield json.dumps(event_from_cells(dict(zip(names, row, strict=True))), default=str)


def open_parquet(path: str | os.PathLike[str], *, word_codes: bool = False) -> Any:
    """A Parquet events file (its ``metadata``, ``schema_arrow``, ``iter_batches`` and ``read``
    as ``pyarrow.parquet.ParquetFile`` has them).

    ``word_codes``: the text columns that events share words of (tickets, types,
    statuses, names ...; see :mod:`slaengine.inputs.arrow_words`) are read as
    dictionaries, the codes Parquet stores, instead of a string per row.

    A :class:`UserError` naming the file when pyarrow is missing, when the file
    is not Parquet or is damaged (also while its rows are read), when it
    names a column twice, or when its ``ticket`` column is of a type no ticket
    id has (:func:`_check_ticket_type`).
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "reading Parquet needs pyarrow: python3 -m pip install 'slaengine[parquet]'"
        ) from None
    checked = _ParquetInput(os.fspath(path))
    checked.inner = checked.guard(pq.ParquetFile, path)
    check_columns(path, list(checked.schema_arrow.names))
    _check_ticket_type(path, checked.schema_arrow)
    if word_codes and (names := word_columns(checked.schema_arrow)):
        checked.inner = checked.guard(pq.ParquetFile, path, read_dictionary=names)
    return checked


def _check_ticket_type(path: str | os.PathLike[str], schema: Any) -> None:
    # A ticket column of numbers with a fraction, booleans, lists, records or maps: no row
    # of it has a ticket id (its JSON text would be a problem a line, "'ticket' must be a
    # string"), so it is one error naming the column's type rather than one a row.
    import pyarrow as pa

    if "ticket" not in schema.names:
        return
    kind = schema.field("ticket").type
    values = kind.value_type if pa.types.is_dictionary(kind) else kind
    if pa.types.is_floating(values):
        hint = (
            "; pandas writes integers with missing values as floats: "
            "give the column the 'Int64' or 'string' dtype"
        )
    elif pa.types.is_boolean(values) or pa.types.is_nested(values):
        hint = ""
    else:
        return
    raise UserError(
        f"{path}:1: the column 'ticket' holds {kind} values, which are no ticket ids: "
        f"write it as text or integers{hint}"
    )


def parquet_shape(path: str | os.PathLike[str]) -> tuple[int, int]:
    """A Parquet file's rows and the uncompressed bytes of its row groups, from its metadata
    (a :class:`UserError` as :func:`open_parquet` gives)."""
    meta = open_parquet(path).metadata
    data = sum(meta.row_group(g).total_byte_size for g in range(meta.num_row_groups))
    return meta.num_rows, data


class _ParquetInput:
    """A ``ParquetFile`` whose read errors become a :class:`UserError` naming the file."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.inner: Any = None

    def guard(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``call(*args, **kwargs)``, a damaged file's error turned into a ``UserError``."""
        import pyarrow as pa

        try:
            return call(*args, **kwargs)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise UserError(
                f"{self.name}: not a readable Parquet file ({str(exc).splitlines()[0]})"
            ) from None

    @property
    def metadata(self) -> Any:
        """The file's metadata (row groups, row counts)."""
        return self.inner.metadata

    @property
    def schema_arrow(self) -> Any:
        """The file's Arrow schema."""
        return self.inner.schema_arrow

    def read(self, **kwargs: Any) -> Any:
        """``ParquetFile.read``, on this thread (see :meth:`iter_batches`)."""
        kwargs.setdefault("use_threads", False)
        return self.guard(self.inner.read, **kwargs)

    def read_row_group(self, group: int, **kwargs: Any) -> Any:
        """``ParquetFile.read_row_group``, on this thread."""
        kwargs.setdefault("use_threads", False)
        return self.guard(self.inner.read_row_group, group, **kwargs)

    def iter_batches(self, **kwargs: Any) -> Iterator[Any]:
        """``ParquetFile.iter_batches``; a batch that cannot be read is a ``UserError``.

        Read on this thread: a run gives each process one core, and Arrow's own
        threads would keep their memory after the read.
        """
        kwargs.setdefault("use_threads", False)
        batches = self.guard(self.inner.iter_batches, **kwargs)
        while True:
            batch = self.guard(next, batches, None)
            if batch is None:
                return
            yield batch


def row_group_batches(table: Any, group: int, size: int) -> Iterator[Any]:
    """The record batches of one row group of an :func:`open_parquet` file, ``size`` rows
    at most each."""
    return table.iter_batches(batch_size=size, row_groups=[group])  # type: ignore[no-any-return]


def every_batch(table: Any, size: int) -> Iterator[Any]:
    """Every record batch of an :func:`open_parquet` file, a row group at a time.

    One reader per row group: pyarrow's reader of a whole file holds on to about
    8 MiB more with each row group it passes (measured with pyarrow 26: 400 MiB
    by the end of a 10-million-row file), one per row group lets go of them.
    """
    for group in range(table.metadata.num_row_groups):
        yield from row_group_batches(table, group, size)


# Rows of each window read for a sample of the tickets, every _SAMPLE_STEP-th of them taken.
_SAMPLE_WINDOW: Final = 4_096
_SAMPLE_STEP: Final = 4
# Windows read for a sample: the first rows of each row group, and more from each of
# fewer row groups than this.
_SAMPLE_WINDOWS: Final = 64


def ticket_sample(path: str | os.PathLike[str]) -> list[bytes]:
    """Ticket ids of rows spread over a Parquet events file, as UTF-8 bytes (text or
    integer tickets; none for a column of another type or no column), for a spill's
    ranges of ticket ids (:func:`~slaengine.batches.routes.ticket_routes`).

    The first rows of each row group, and of windows spread through each of a
    few large row groups: a time-ordered export's row groups are stretches of
    time, so every one is sampled. Read as plain text: a dictionary's decoding
    costs more than the few rows taken.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    table = open_parquet(path)
    if "ticket" not in table.schema_arrow.names:
        return []
    kind = table.schema_arrow.field("ticket").type
    if pa.types.is_dictionary(kind):
        kind = kind.value_type
    if not (pa.types.is_integer(kind) or is_text(kind)):
        return []
    meta = table.metadata
    groups = meta.num_row_groups
    keys: list[bytes] = []
    for group in range(groups):
        windows = -(-meta.row_group(group).num_rows // _SAMPLE_WINDOW)
        count = min(windows, max(1, _SAMPLE_WINDOWS // groups))
        taken = {k * windows // count for k in range(count)}
        batches = table.iter_batches(
            batch_size=_SAMPLE_WINDOW, row_groups=[group], columns=["ticket"]
        )
        for window, batch in enumerate(batches):
            if window in taken:
                column = batch.column(0).cast(pa.string())
                picked = column.take(pa.array(range(0, len(column), _SAMPLE_STEP)))
                keys += pc.drop_null(picked).cast(pa.binary()).to_pylist()
            if window >= max(taken):
                break
    return [key for key in keys if key]


#: The column a spill adds to each row: its row number in the input (from 1).
LINE_COLUMN: Final = "__slaengine_line"


def _ticket_key(cell: object) -> str | None:
    # The ticket as parse_event reads it from the row's JSON form (see ticket_of):
    # empty cells are absent, other types are what their JSON text decodes to.
    if type(cell) is str:
        return cell or None
    if cell is None:
        return None
    [value] = row_events(["ticket"], [[cell]])
    ticket = value.get("ticket")
    if isinstance(ticket, bool) or not isinstance(ticket, str | int):
        return None
    return str(ticket)


def write_partitions(
    path: str | os.PathLike[str],
    directory: Path,
    partitions: int,
    share: tuple[int, int] = (0, 1),
    routes: TicketRoutes | None = None,
    at_once: int | None = None,
) -> tuple[list[Path], int]:
    """Split a Parquet events file by ticket into ``partitions`` Arrow files under ``directory``;
    the files and the file's row count.

    Rows stay columns (:func:`split_batch`): the parent does no per-row Python
    work and no JSON. ``share`` ``(k, n)`` takes row groups ``k``, ``k + n`` ...
    only (one of ``n`` processes sharing the work); rows keep their numbers.
    Tickets go where ``routes`` send them (by default a hash of the ticket).
    An Arrow file is written whole, so each partition's writer is open until
    the end: with ``at_once`` (fewer than ``partitions``), at most that many
    are open at a time and the file is read once for each such window of
    partitions (the files hold the same bytes either way).
    """
    import pyarrow as pa

    directory.mkdir(parents=True, exist_ok=True)
    table = open_parquet(path)
    schema = spill_schema(table)
    paths = [directory / f"part-{i:04d}.arrow" for i in range(partitions)]
    step = max(1, min(partitions, at_once or partitions))
    for low in range(0, partitions, step):
        _write_window(table, schema, paths, range(low, min(partitions, low + step)), share, routes)
    # Arrow's allocator keeps freed memory for reuse; hand it back now, before the
    # workers are forked and the parent goes on to hold the merged results.
    pa.default_memory_pool().release_unused()
    return paths, table.metadata.num_rows


class _Skipped:
    # The writer of a partition outside the window being written: its rows are not kept.
    def write_batch(self, batch: Any) -> None:
        pass


def _write_window(
    table: Any,
    schema: Any,
    paths: Sequence[Path],
    window: range,
    share: tuple[int, int],
    routes: TicketRoutes | None,
) -> None:
    # One read of the file's share of row groups, writing the partitions of ``window`` only.
    from pyarrow import ipc

    writers: list[Any] = [_Skipped()] * len(paths)
    try:
        for i in window:
            writers[i] = ipc.new_file(str(paths[i]), schema)
        # Share (k, n): row groups k, k + n ...; their rows keep their numbers.
        mine, every = share
        start = 1
        for group in range(table.metadata.num_row_groups):
            if group % every == mine:
                number = start
                for read in row_group_batches(table, group, BATCH_ROWS):
                    number = split_batch(read, number, schema, writers, routes)
            start += table.metadata.row_group(group).num_rows
    finally:
        for writer in writers[window.start : window.stop]:
            if not isinstance(writer, _Skipped):
                writer.close()


def spill_schema(table: Any) -> Any:
    """The Arrow schema of spilled rows of an :func:`open_parquet` file: its own and
    :data:`LINE_COLUMN`."""
    import pyarrow as pa

    return table.schema_arrow.append(pa.field(LINE_COLUMN, pa.int64()))


def split_batch(
    read: Any, first: int, schema: Any, writers: Sequence[Any], routes: TicketRoutes | None = None
) -> int:
    """Write one record batch's rows, numbered from ``first``, to the writer of each row's
    partition (one writer per partition, :func:`spill_schema`); returns the next number.

    Rows go to the partitions, in the same order, that the JSON text of the same
    rows would go to with the same ``routes`` (by default a hash of the ticket,
    :func:`~slaengine.inputs.tickets.partition_of`): one route per distinct
    ticket, not per row.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    route = routes or TicketRoutes(len(writers))
    rows = read.num_rows
    lines = pa.array(range(first, first + rows), pa.int64())
    first += rows
    batch = pa.RecordBatch.from_arrays([*read.columns, lines], schema=schema)
    if "ticket" in batch.schema.names and not pa.types.is_nested(schema.field("ticket").type):
        encoded = pc.dictionary_encode(batch.column("ticket"))
        words = encoded.dictionary
        if pa.types.is_string(words.type) or pa.types.is_large_string(words.type):
            # The route of each ticket's UTF-8 bytes, as Arrow holds them (an empty
            # ticket goes to partition 0, as a row without one does).
            owners = route.of_keys(words.cast(pa.binary()).to_pylist())
        else:
            owners = []
            for cell in words.to_pylist():
                key = _ticket_key(cell)
                owners.append(route.of(key) if key is not None else 0)
        # Null tickets have no dictionary entry: partition 0, like JSON without one.
        part = pc.fill_null(pc.take(pa.array(owners, pa.int32()), encoded.indices), 0)
    else:  # no ticket, or lists or records, which are no ticket: partition 0 reports them
        part = pa.repeat(pa.scalar(0, pa.int32()), rows)
    # One stable sort groups the rows by partition, keeping their order
    # within each; every partition is then a zero-copy slice of it.
    grouped = batch.take(pc.sort_indices(part))
    offset = 0
    for entry in sorted(pc.value_counts(part).to_pylist(), key=lambda e: e["values"]):
        count = entry["counts"]
        writers[entry["values"]].write_batch(grouped.slice(offset, count))
        offset += count
    return first


def split_streams(
    path: str | os.PathLike[str], row_groups: Sequence[int], first: int, routes: TicketRoutes
) -> list[bytes]:
    """Row groups of a Parquet file (rows numbered from ``first``) split by ticket as
    :func:`write_partitions` splits them with ``routes``: each partition's rows as an
    Arrow IPC stream."""
    import pyarrow as pa
    from pyarrow import ipc

    table = open_parquet(path)
    schema = spill_schema(table)
    sinks = [pa.BufferOutputStream() for _ in range(routes.partitions)]
    writers = [ipc.new_stream(sink, schema) for sink in sinks]
    number = first
    for group in row_groups:
        for read in row_group_batches(table, group, BATCH_ROWS):
            number = split_batch(read, number, schema, writers, routes)
    for writer in writers:
        writer.close()
    return [sink.getvalue().to_pybytes() for sink in sinks]


def join_streams(pieces: Sequence[bytes], file: Path) -> None:
    """Write the Arrow IPC streams of :func:`split_streams`, in order, as one partition file
    for :func:`arrow_file_events`."""
    from pyarrow import ipc

    writer = None
    try:
        for piece in pieces:
            reader = ipc.open_stream(piece)
            if writer is None:
                writer = ipc.new_file(str(file), reader.schema)
            for batch in reader:
                writer.write_batch(batch)
    finally:
        if writer is not None:
            writer.close()


def arrow_file_events(
    paths: Sequence[Path], source: str, status_map: Mapping[str, str], problems: list[Problem]
) -> list[Event]:
    """The events of one partition written by :func:`write_partitions` (in one Arrow file, or
    in several by a parallel spill), each ticket's together in line order (:func:`ticket_runs`).
    """
    import pyarrow as pa
    from pyarrow import ipc

    events: list[Event] = []
    tables = []
    for path in paths:
        with ipc.open_file(str(path)) as reader:
            tables.append(reader.read_all())
    # The spill wrote a small batch per input batch: put them together again, then take
    # them a part batch at a time (each batch costs its Arrow calls).
    whole = ticket_runs(pa.concat_tables(tables).combine_chunks(), in_order=len(tables) == 1)
    del tables
    for rows in whole.to_batches():  # one batch, or none
        for start in range(0, rows.num_rows, PART_ROWS):
            _numbered_events(rows.slice(start, PART_ROWS), source, status_map, problems, events)
    del whole
    release_arrow_memory()
    return events


def ticket_runs(table: Any, in_order: bool) -> Any:
    """The spilled rows of ``table`` (:data:`LINE_COLUMN`) with each ticket's rows together, in
    line order, tickets in the order they first appear (rows without one last).

    Their events then group a run at a time (``build_timelines``), as a file grouped by
    ticket does: a sort of the rows in Arrow costs less than grouping their events in
    Python. ``in_order``: the rows are in line order already (one spill file).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = table.schema.names
    if table.num_rows < 2 or "ticket" not in names or pa.types.is_nested(table["ticket"].type):
        return table  # lists or records are no tickets: every row is a problem
    ticket = table.column("ticket")
    lines = None if in_order else pc.sort_indices(table.column(LINE_COLUMN))
    if lines is not None:
        ticket = ticket.take(lines)
    if pa.types.is_dictionary(ticket.type):  # codes in order of first appearance, one per ticket
        ticket = ticket.cast(ticket.type.value_type)
    codes = pc.dictionary_encode(ticket).combine_chunks().indices
    order = pc.sort_indices(codes)  # stable: line order within each ticket
    return table.take(order if lines is None else lines.take(order))


def _numbered_events(
    batch: Any,
    source: str,
    status_map: Mapping[str, str],
    problems: list[Problem],
    events: list[Event],
) -> None:
    # A spilled batch's events, its rows numbered by their line column.
    numbers = batch.column(LINE_COLUMN).to_pylist()
    table_events(batch.drop_columns([LINE_COLUMN]), numbers, source, status_map, problems, events)


def release_arrow_memory() -> None:
    """Hand the memory Arrow's allocator keeps for reuse back to the system."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


__all__ = [
    "BATCH_ROWS",
    "LINE_COLUMN",
    "PART_ROWS",
    "arrow_file_events",
    "batch_events",
    "column_cells",
    "column_values",
    "join_streams",
    "open_parquet",
    "parquet_lines",
    "parquet_shape",
    "release_arrow_memory",
    "spill_schema",
    "split_batch",
    "split_streams",
    "table_events",
    "ticket_runs",
    "ticket_sample",
    "write_partitions",
]
