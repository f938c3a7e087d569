"""Events from tables (CSV and Parquet) as JSON Lines text, so every reader treats them alike.

A table has one event per row and the event keys as columns (``ticket``, ``at``,
``type``, ``channel`` ...); empty cells (and NaN or infinite numbers, which is
how pandas writes a missing number) are absent keys. ``tags`` holds a JSON
list or ``;``-separated tags, ``fields`` a JSON object, and ``fields.NAME``
columns add single fields. Rows come out as JSON text, one per input line, so
line numbers in problems are the table's own (CSV: the file's line; Parquet: the
row number, from 1).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any, Final

from slaengine.compressed import open_text
from slaengine.errors import UserError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def is_table(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a CSV or Parquet events file."""
    return str(path).lower().endswith(TABLE_SUFFIXES)


def is_parquet(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a Parquet events file."""
    return str(path).lower().endswith((".parquet", ".pq"))


def _event_from_cells(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row's non-empty cells as an event dict, typed as the JSON form expects."""
    event: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    for key, cell in row.items():
        if cell is None or cell == "" or key is None or _missing_number(cell):
            continue
        # A naive datetime stays naive in ISO text, and parse_event reports it.
        value = cell.isoformat() if isinstance(cell, dt.datetime) else cell
        if key.startswith("fields."):
            fields[key[len("fields.") :]] = value
        elif key == "tags" and isinstance(value, str):
            event[key] = _tags(value)
        elif key == "fields" and isinstance(value, str):
            event[key] = _json_or_text(value)
        elif key == "public" and isinstance(value, str):
            event[key] = _BOOLEANS.get(value.strip().lower(), value)
        elif key == "score" and isinstance(value, str):
            event[key] = _number_or_text(value)
        else:
            event[key] = value
    if fields:
        base = event.get("fields")
        event["fields"] = {**(base if isinstance(base, dict) else {}), **fields}
    return event


def _tags(text: str) -> Any:
    stripped = text.strip()
    if stripped.startswith("["):
        return _json_or_text(stripped)
    return [tag.strip() for tag in stripped.split(";") if tag.strip()]


def _json_or_text(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text  # parse_event reports the wrong type with the line number


def _missing_number(cell: object) -> bool:
    # NaN (and infinity) in a number column is an empty cell: pandas writes NaN for a
    # missing number, and JSON text has no form for either.
    return type(cell) is float and cell - cell != 0


def _number_or_text(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    if _missing_number(number):
        return text  # "NaN" or "inf" written out: parse_event reports the text
    return int(number) if number.is_integer() else number


#: A line of table text that stands for a row that could not be read: this marker,
#: then ``COLUMN<TAB>REASON``. A NUL never starts a JSON line, and the marker survives
#: a spill to text, so every reader reports the row (see eventlog.decode_line).
ROW_PROBLEM: Final = "\x00slaengine-row-problem\x00"


def csv_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text per CSV line: the header line as a blank line, then one event per row.

    A row the CSV reader refuses (a cell over :func:`csv.field_size_limit`
    characters, or more non-empty cells than the header has columns) comes out
    as a :data:`ROW_PROBLEM` line; a header naming a
    column twice stops the read with a :class:`UserError`. A UTF-8 byte order
    mark (Excel writes one) is not part of the first column's name.
    """
    with open_text(path, newline="") as stream:
        reader = csv.DictReader(stream)
        try:
            names = reader.fieldnames or []
        except csv.Error as exc:
            raise UserError(f"{path}:1: the CSV header cannot be read: {exc}") from None
        if names and names[0].startswith("\ufeff"):
            reader.fieldnames = [names[0][1:], *names[1:]]
        _check_columns(path, list(reader.fieldnames or []))
        line = 1
        yield ""  # the header line, so numbers below are the file's own lines
        while True:
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # The reader starts afresh on the next line; this row is reported.
                reason = f"this CSV row cannot be read: {exc}"
                row = None
            # A quoted cell may span lines; pad so the event lands on its last line.
            while line < reader.line_num - 1:
                line += 1
                yield ""
            line = reader.line_num
            extra = row.get(None) if row is not None else None
            if row is not None and extra and any(cell.strip() for cell in extra):
                # Cells beyond the header's columns would be dropped unseen.
                row = None
                reason = (
                    f"this CSV row has {len(reader.fieldnames or []) + len(extra)} cells; "
                    f"the header names {len(reader.fieldnames or [])} columns"
                )
            if row is None:
                yield f"{ROW_PROBLEM}0\t{reason}"
            else:
                yield json.dumps(_event_from_cells(row), default=str)


def _check_columns(path: str | os.PathLike[str], names: list[str]) -> None:
    # Two columns of one name would silently lose one of them.
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if name in seen:
            raise UserError(
                f"{path}:1: the column {name!r} is given twice (columns {seen[name]} and "
                f"{index}); rename or remove one"
            )
        seen[name] = index


def parquet_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text per Parquet row, read in batches (bounded memory)."""
    table = open_parquet(path)
    for batch in table.iter_batches(batch_size=65_536):
        names = batch.schema.names
        for row in zip(*(column_values(column) for column in batch.columns), strict=True):
            yield json.dumps(_event_from_cells(dict(zip(names, row, strict=True))), default=str)


def open_parquet(path: str | os.PathLike[str]) -> Any:
    """A Parquet events file (its ``metadata``, ``schema_arrow``, ``iter_batches`` and ``read``
    as ``pyarrow.parquet.ParquetFile`` has them).

    A :class:`UserError` naming the file when pyarrow is missing, when the file
    is not Parquet or is damaged (also while its rows are read), or when it
    names a column twice.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "reading Parquet needs pyarrow: python3 -m pip install 'slaengine[parquet]'"
        ) from None
    checked = _ParquetInput(os.fspath(path))
    checked.inner = checked.guard(pq.ParquetFile, path)
    _check_columns(path, list(checked.schema_arrow.names))
    return checked


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
        """``ParquetFile.read``."""
        return self.guard(self.inner.read, **kwargs)

    def iter_batches(self, **kwargs: Any) -> Iterator[Any]:
        """``ParquetFile.iter_batches``; a batch that cannot be read is a ``UserError``."""
        batches = self.guard(self.inner.iter_batches, **kwargs)
        while True:
            batch = self.guard(next, batches, None)
            if batch is None:
                return
            yield batch


def column_values(column: Any) -> list[Any]:
    """The cells of an Arrow column as Python values, as ``to_pylist`` gives them.

    A cell Python cannot hold (a timestamp beyond the year 9999) becomes its
    Arrow text, which the event parser reports for its row, instead of an
    ``OverflowError`` for the whole file.
    """
    try:
        return column.to_pylist()  # type: ignore[no-any-return]
    except (OverflowError, ValueError):
        return [_scalar_value(column, row) for row in range(len(column))]


def _scalar_value(column: Any, row: int) -> Any:
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        return column[row].as_py()
    except (OverflowError, ValueError) as exc:
        problem = exc
    if pa.types.is_temporal(column.type):
        try:
            return pc.cast(column.slice(row, 1), pa.string())[0].as_py()
        except (pa.ArrowException, OverflowError, ValueError):
            pass
    # Never a stand-in value that could pass for data: the read stops, saying why.
    raise UserError(f"row {row + 1} of a batch has a cell that cannot be read ({problem})")


# Exact types whose JSON round trip (dumps, then loads) gives back an equal value.
_JSON_PLAIN: Final = frozenset({str, int, float, bool})


def row_events(names: list[str], columns: list[list[Any]]) -> Iterator[dict[str, Any]]:
    """Event dicts of table rows given column by column, as parsing their JSON text would give.

    The same dicts as ``json.loads(json.dumps(event, default=str))`` of each
    row's :func:`_event_from_cells`, without the text: scalar cells are taken
    as they are and only the rare nested or exotic value (tags, fields, dates,
    decimals) makes the JSON round trip, so every reader sees the same events.
    """
    for values in zip(*columns, strict=True):
        event = _event_from_cells(dict(zip(names, values, strict=True)))
        for key, value in event.items():
            if type(value) not in _JSON_PLAIN:
                event[key] = json.loads(json.dumps(value, default=str))
        yield event


def batch_events(batch: Any) -> list[dict[str, Any]]:
    """The event dicts of a ``pyarrow.RecordBatch``, equal to :func:`row_events` of its rows.

    Built column by column: each column's non-null cells are converted once by
    a converter chosen for its name and set into their rows' dicts, so a row
    costs only its few present cells. Tables with ``fields.NAME`` columns
    (merged into ``fields`` row by row) take :func:`row_events`.
    """
    import pyarrow.compute as pc

    names: list[str] = batch.schema.names
    columns = batch.columns
    if any(name.startswith("fields.") for name in names):
        return list(row_events(names, [column_values(column) for column in columns]))
    events: list[dict[str, Any]] = [{} for _ in range(batch.num_rows)]
    for name, column in zip(names, columns, strict=True):
        nulls = column.null_count
        if nulls == len(column):
            continue
        rows: Iterable[int] = range(len(column))
        if nulls:
            rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
            column = column.drop_null()  # noqa: PLW2901 - the same cells, nulls left out
        values = column_values(column)
        convert = _CONVERTERS.get(name)
        if convert is None and all(type(v) is str for v in values):
            for row, value in zip(rows, values, strict=True):
                if value:  # an empty cell is an absent key
                    events[row][name] = value
            continue
        for row, value in zip(rows, values, strict=True):
            cell = _cell(value, convert)
            if cell is not ABSENT:
                events[row][name] = cell
    return events


#: Marks an absent key in :func:`column_cells` (``None`` can be a present value).
ABSENT: Final = object()


def column_cells(name: str, column: Any, absent: Any = ABSENT) -> list[Any]:
    """One Arrow column's cells as :func:`batch_events` sets them; ``absent`` where unset.

    ``[event.get(name, absent) for event in batch_events(batch)]`` for the
    column ``name`` of ``batch``, without building the dicts (see
    :func:`slaengine.spill.read_partition`, which builds events from columns).
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    convert = _CONVERTERS.get(name)
    kind = column.type
    if convert is None and (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        # Text: nulls and "" are absent; the rest is taken as it is.
        if column.null_count < len(column) and pc.any(pc.equal(column, "")).as_py():
            column = pc.if_else(pc.equal(column, ""), None, column)
        if column.null_count * 2 > len(column):
            # Mostly absent (attributes that few event types carry): set the rest.
            cells = [absent] * len(column)
            valid = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
            for row, value in zip(valid, column.drop_null().to_pylist(), strict=True):
                cells[row] = value
            return cells
        if absent is not None:
            return [absent if v is None else v for v in column.to_pylist()]
        return column.to_pylist()  # type: ignore[no-any-return]
    if name == "public" and pa.types.is_boolean(kind):
        values = column.to_pylist()
        return [absent if v is None else v for v in values]
    cells = [absent] * len(column)
    rows: Iterable[int] = range(len(column))
    if column.null_count:
        rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
        column = column.drop_null()
    for row, value in zip(rows, column_values(column), strict=True):
        cell = _cell(value, convert)
        if cell is not ABSENT:
            cells[row] = cell
    return cells


def _cell(value: Any, convert: Callable[[Any], Any] | None) -> Any:
    # One non-text cell as an event value, as _event_from_cells and the JSON round trip
    # make it; ABSENT for an empty cell.
    if value == "" or _missing_number(value):
        return ABSENT
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    if convert is not None:
        value = convert(value)
    return _json_value(value)


def _json_value(value: Any) -> Any:
    # What the value becomes in JSON text and back (see row_events).
    if type(value) in _JSON_PLAIN:
        return value
    if type(value) is list and all(type(item) is str for item in value):
        return list(value)  # a list of strings comes back as an equal new list
    return json.loads(json.dumps(value, default=str))


def _typed(convert: Callable[[str], Any]) -> Callable[[Any], Any]:
    return lambda value: convert(value) if isinstance(value, str) else value


def _boolean(text: str) -> Any:
    return _BOOLEANS.get(text.strip().lower(), text)


# Cell conversions of _event_from_cells by column, for text cells of typed keys.
_CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "tags": _typed(_tags),
    "fields": _typed(_json_or_text),
    "public": _typed(_boolean),
    "score": _typed(_number_or_text),
}


def table_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text lines of a CSV or Parquet events file."""
    if is_parquet(path):
        return parquet_lines(path)
    return csv_lines(path)


__all__ = [
    "ABSENT",
    "ROW_PROBLEM",
    "TABLE_SUFFIXES",
    "batch_events",
    "column_cells",
    "column_values",
    "csv_lines",
    "is_parquet",
    "is_table",
    "open_parquet",
    "parquet_lines",
    "row_events",
    "table_lines",
]
