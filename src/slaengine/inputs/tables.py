"""Table cells as event values, and CSV events files as JSON Lines text.

A table has one event per row and the event keys as columns (``ticket``, ``at``,
``type``, ``channel`` ...); empty cells (and NaN or infinite numbers, which is
how pandas writes a missing number) are absent keys. ``tags`` holds a JSON
list or ``;``-separated tags, ``fields`` a JSON object, and ``fields.NAME``
columns add single fields. Rows come out as JSON text, one per input line, so
line numbers in problems are the table's own (CSV: the file's line; Parquet: the
row number, from 1). Parquet's own reading is :mod:`slaengine.inputs.parquet`.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

from slaengine.errors import UserError
from slaengine.inputs.files import open_text

_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def event_from_cells(row: Mapping[str, Any]) -> dict[str, Any]:
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
#: a spill to text, so every reader reports the row (see jsonl.decode_line).
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
        check_columns(path, list(reader.fieldnames or []))
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
                yield json.dumps(event_from_cells(row), default=str)


def check_columns(path: str | os.PathLike[str], names: list[str]) -> None:
    """A :class:`UserError` when a table names a column twice (one would be lost unseen)."""
    seen: dict[str, int] = {}
    for index, name in enumerate(names, start=1):
        if name in seen:
            raise UserError(
                f"{path}:1: the column {name!r} is given twice (columns {seen[name]} and "
                f"{index}); rename or remove one"
            )
        seen[name] = index


# Exact types whose JSON round trip (dumps, then loads) gives back an equal value.
_JSON_PLAIN: Final = frozenset({str, int, float, bool})


def row_events(names: list[str], columns: list[list[Any]]) -> Iterator[dict[str, Any]]:
    """Event dicts of table rows given column by column, as parsing their JSON text would give.

    The same dicts as ``json.loads(json.dumps(event, default=str))`` of each
    row's :func:`event_from_cells`, without the text: scalar cells are taken
    as they are and only the rare nested or exotic value (tags, fields, dates,
    decimals) makes the JSON round trip, so every reader sees the same events.
    """
    for values in zip(*columns, strict=True):
        event = event_from_cells(dict(zip(names, values, strict=True)))
        for key, value in event.items():
            if type(value) not in _JSON_PLAIN:
                event[key] = json.loads(json.dumps(value, default=str))
        yield event


#: Marks an absent key in a column's cells (``None`` can be a present value).
ABSENT: Final = object()


def cell_value(value: Any, convert: Callable[[Any], Any] | None) -> Any:
    """One non-text cell as an event value, as :func:`event_from_cells` and the JSON round
    trip make it (``convert``: the column's entry of :data:`CONVERTERS`); :data:`ABSENT`
    for an empty cell."""
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


#: Cell conversions of :func:`event_from_cells` by column, for text cells of typed keys.
CONVERTERS: Final[dict[str, Callable[[Any], Any]]] = {
    "tags": _typed(_tags),
    "fields": _typed(_json_or_text),
    "public": _typed(_boolean),
    "score": _typed(_number_or_text),
}


__all__ = [
    "ABSENT",
    "CONVERTERS",
    "ROW_PROBLEM",
    "cell_value",
    "check_columns",
    "csv_lines",
    "event_from_cells",
    "row_events",
]
