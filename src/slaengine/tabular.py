"""Events from tables (CSV and Parquet) as JSON Lines text, so every reader treats them alike.

A table has one event per row and the event keys as columns (``ticket``, ``at``,
``type``, ``channel`` ...); empty cells are absent keys. ``tags`` holds a JSON
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
        if cell is None or cell == "" or key is None:
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


def _number_or_text(text: str) -> Any:
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def csv_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text per CSV line: the header line as a blank line, then one event per row."""
    with open_text(path, newline="") as stream:
        reader = csv.DictReader(stream)
        line = 1
        yield ""  # the header line, so numbers below are the file's own lines
        for row in reader:
            # A quoted cell may span lines; pad so the event lands on its last line.
            while line < reader.line_num - 1:
                line += 1
                yield ""
            line = reader.line_num
            yield json.dumps(_event_from_cells(row), default=str)


def parquet_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text per Parquet row, read in batches (bounded memory)."""
    table = open_parquet(path)
    for batch in table.iter_batches(batch_size=65_536):
        for row in batch.to_pylist():
            yield json.dumps(_event_from_cells(row), default=str)


def open_parquet(path: str | os.PathLike[str]) -> Any:
    """A ``pyarrow.parquet.ParquetFile``; a :class:`UserError` when pyarrow is missing."""
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "reading Parquet needs pyarrow: python3 -m pip install 'slaengine[parquet]'"
        ) from None
    return pq.ParquetFile(path)


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
        return list(row_events(names, [column.to_pylist() for column in columns]))
    events: list[dict[str, Any]] = [{} for _ in range(batch.num_rows)]
    for name, column in zip(names, columns, strict=True):
        nulls = column.null_count
        if nulls == len(column):
            continue
        rows: Iterable[int] = range(len(column))
        if nulls:
            rows = pc.indices_nonzero(pc.is_valid(column)).to_pylist()
            column = column.drop_null()  # noqa: PLW2901 - the same cells, nulls left out
        values = column.to_pylist()
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
    for row, value in zip(rows, column.to_pylist(), strict=True):
        cell = _cell(value, convert)
        if cell is not ABSENT:
            cells[row] = cell
    return cells


def _cell(value: Any, convert: Callable[[Any], Any] | None) -> Any:
    # One non-text cell as an event value, as _event_from_cells and the JSON round trip
    # make it; ABSENT for an empty cell.
    if value == "":
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
    "TABLE_SUFFIXES",
    "batch_events",
    "column_cells",
    "csv_lines",
    "is_parquet",
    "is_table",
    "open_parquet",
    "parquet_lines",
    "row_events",
    "table_lines",
]
