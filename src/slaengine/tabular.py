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
import gzip
import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from slaengine.errors import UserError

TABLE_SUFFIXES = (".csv", ".csv.gz", ".parquet", ".pq")
_BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def is_table(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a CSV or Parquet events file."""
    return str(path).lower().endswith(TABLE_SUFFIXES)


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
    opener = gzip.open if str(path).lower().endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as stream:
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
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise UserError(
            "reading Parquet needs pyarrow: python3 -m pip install 'slaengine[parquet]'"
        ) from None
    table = pq.ParquetFile(path)
    for batch in table.iter_batches(batch_size=65_536):
        for row in batch.to_pylist():
            yield json.dumps(_event_from_cells(row), default=str)


def table_lines(path: str | os.PathLike[str]) -> Iterator[str]:
    """JSON text lines of a CSV or Parquet events file."""
    lowered = str(path).lower()
    if lowered.endswith((".parquet", ".pq")):
        return parquet_lines(path)
    return csv_lines(path)


__all__ = ["TABLE_SUFFIXES", "csv_lines", "is_table", "parquet_lines", "table_lines"]
