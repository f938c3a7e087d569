"""The order of the breached-clocks CSV: by ticket id, then when each clock breached.

Each partition sorts its own rows; the sorted files are then merged a row at
a time, so the whole file never sits in memory and its order depends on
neither the input's format, nor the partition count, nor ``--jobs`` or a
Dask cluster. Ticket ids compare as a person reads them: digit runs by their
number (``T-9`` before ``T-10``), the rest as text; ids equal that way
(``T-07``, ``T-7``) fall back to plain text order. Within a ticket, rows go by
``due`` (the instant the target was exceeded; UTC text of one width, so text
order is time order), then metric, instance and agreement.
"""

from __future__ import annotations

import csv
import heapq
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import IO, Any, Final

_DIGITS = re.compile(r"(\d+)")
#: Part files merged at once; more are merged in rounds (each file is an open handle).
FAN_IN: Final = 128

# Columns of the CSV the order reads (see slaengine.audit.run.BREACH_COLUMNS).
_TICKET, _METRIC, _INSTANCE, _DUE, _AGREEMENT = 0, 6, 7, 9, 14

#: A row's place in the file (see the module docstring).
BreachKey = tuple[tuple[Any, ...], str, str, str, int, str]


def natural_key(ticket: str) -> tuple[Any, ...]:
    """``ticket`` as a person orders ids: digit runs by number, text between them as text.

    Runs alternate text, digits, text, ... from the start, so two keys always
    compare text with text and digits with digits. A digit run is compared by
    its length without leading zeros, then its digits: a number's order without
    converting it (ids may hold more digits than an int may be read from).
    """
    parts: list[Any] = _DIGITS.split(ticket)
    for i in range(1, len(parts), 2):
        digits = parts[i].lstrip("0")
        parts[i] = (len(digits), digits)
    return tuple(parts)


def breach_key(row: Sequence[Any]) -> BreachKey:
    """The place of a breaches CSV row (as written, or as read back: text fields)."""
    ticket = str(row[_TICKET])
    return (
        natural_key(ticket),
        ticket,
        str(row[_DUE]),
        str(row[_METRIC]),
        int(row[_INSTANCE]),
        str(row[_AGREEMENT]),
    )


def write_sorted(rows: list[list[object]], out: IO[str]) -> None:
    """Write one partition's rows to ``out`` as CSV, in breaches order."""
    rows.sort(key=breach_key)
    csv.writer(out, lineterminator="\n").writerows(rows)


def merge_sorted(parts: Sequence[str | Path], out: IO[str]) -> None:
    """Write the rows of ``parts`` (CSV files each in breaches order) to ``out`` in that order.

    One row of each part is held at a time. At most :data:`FAN_IN` files are open at
    once: more parts are first merged in groups into files beside them.
    """
    parts = list(parts)
    while len(parts) > FAN_IN:
        merged: list[str | Path] = []
        for start in range(0, len(parts), FAN_IN):
            handle, name = tempfile.mkstemp(
                suffix=".csv", prefix="breaches-", dir=os.path.dirname(parts[start])
            )
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as group:
                _merge(parts[start : start + FAN_IN], group)
            merged.append(name)
        parts = merged
    _merge(parts, out)


def _merge(parts: Sequence[str | Path], out: IO[str]) -> None:
    with ExitStack() as files:
        readers: list[Iterator[list[str]]] = [
            csv.reader(files.enter_context(open(part, encoding="utf-8", newline="")))
            for part in parts
        ]
        rows: Iterator[list[str]] = heapq.merge(*readers, key=breach_key)
        csv.writer(out, lineterminator="\n").writerows(rows)


__all__ = ["BreachKey", "breach_key", "merge_sorted", "natural_key", "write_sorted"]
