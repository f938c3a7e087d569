"""The order of the breached-clocks CSV: by ticket id, then when each clock breached.

Each partition sorts its own tickets (:class:`BreachPart`) and writes them to a
part file, one record per ticket (its sort key and its rows as CSV text), pickled
a batch of tickets at a time. The part files are then merged a ticket at a time
(:func:`merge_parts`), so the whole file never sits in memory, no row is parsed
again, and the order depends
on neither the input's format, nor the partition count, nor ``--jobs`` or a
Dask cluster. Ticket ids compare as a person reads them: runs of ASCII digits by
their number (``T-9`` before ``T-10``), the rest (other scripts' digits too) as
text; ids equal that way (``T-07``, ``T-7``) fall back to plain text order.
Within a ticket, rows go by ``due`` (the instant the target was exceeded; UTC
text of one width, so text order is time order), then metric, instance and
agreement.
"""

from __future__ import annotations

import csv
import heapq
import io
import os
import pickle
import re
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from operator import itemgetter
from pathlib import Path
from typing import IO, Any, Final

# ASCII digits only: ``\d`` takes any script's digits, which would order T-3 written with an
# Arabic-Indic 3 between T-9 and T-10, and T-07 in Arabic-Indic digits after T-10 (its zero
# is not stripped).
_DIGITS = re.compile(r"([0-9]+)")
#: Part files merged at once; more are merged in rounds (each file is an open handle).
FAN_IN: Final = 128

# Columns of a row (see slaengine.audit.run.BREACH_COLUMNS) that order one ticket's rows.
_DUE, _METRIC, _INSTANCE, _AGREEMENT = 9, 6, 7, 14

#: A ticket's place in the file: its :func:`natural_key`, then the id itself.
TicketKey = tuple[tuple[Any, ...], str]
# A part file's record: a ticket's key and its rows as CSV text.
_Record = tuple[TicketKey, str]
#: Tickets pickled together: few calls to pickle, one batch of each part held while merging.
BATCH: Final = 1024
_KEY = itemgetter(0)
# Records written here are read by this program alone (a Dask worker's by the client).
_PROTOCOL: Final = pickle.HIGHEST_PROTOCOL


def natural_key(ticket: str) -> tuple[Any, ...]:
    """``ticket`` as a person orders ids: runs of ASCII digits by number, text between them
    (other scripts' digits too, as sort tools do) as text.

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


def ticket_key(ticket: str) -> TicketKey:
    """The place of ``ticket``'s rows in the breaches CSV."""
    return natural_key(ticket), ticket


def _clock_order(row: Sequence[Any]) -> tuple[str, str, int, str]:
    return str(row[_DUE]), str(row[_METRIC]), int(row[_INSTANCE]), str(row[_AGREEMENT])


class BreachPart:
    """One partition's breached clocks, ticket by ticket, written sorted for the merge."""

    def __init__(self) -> None:
        self.tickets: list[tuple[str, list[list[object]]]] = []

    def add(self, ticket: str, rows: list[list[object]]) -> None:
        """Keep a ticket's rows (none: nothing to keep)."""
        if rows:
            self.tickets.append((ticket, rows))

    def write(self, out: IO[bytes]) -> None:
        """Write the part's records to ``out`` in breaches order."""
        keyed = sorted(((ticket_key(ticket), rows) for ticket, rows in self.tickets), key=_KEY)
        # Every row written by one writer into one text; each ticket's text a slice of it.
        text = io.StringIO(newline="")
        writer = csv.writer(text, lineterminator="\n")
        ends = []
        for _, rows in keyed:
            rows.sort(key=_clock_order)
            writer.writerows(rows)
            ends.append(text.tell())
        whole = text.getvalue()
        starts = [0, *ends]
        _dump([(key, whole[starts[i] : ends[i]]) for i, (key, _) in enumerate(keyed)], out)


def _dump(records: Sequence[_Record], out: IO[bytes]) -> None:
    for start in range(0, len(records), BATCH):
        pickle.dump(records[start : start + BATCH], out, _PROTOCOL)


def merge_parts(parts: Sequence[str | Path], out: IO[str]) -> None:
    """Write the rows of the part files ``parts`` (:meth:`BreachPart.write`) to ``out`` as
    CSV, in breaches order.

    One batch of each part is held at a time. At most :data:`FAN_IN` files are open
    at once: more parts are first merged in groups into part files beside them.
    """
    parts = list(parts)
    while len(parts) > FAN_IN:
        merged: list[str | Path] = []
        for start in range(0, len(parts), FAN_IN):
            handle, name = tempfile.mkstemp(
                suffix=".part", prefix="breaches-", dir=os.path.dirname(parts[start])
            )
            with os.fdopen(handle, "wb") as group:
                batch: list[_Record] = []
                for record in _merged(parts[start : start + FAN_IN]):
                    batch.append(record)
                    if len(batch) == BATCH:
                        _dump(batch, group)
                        batch = []
                _dump(batch, group)
            merged.append(name)
        parts = merged
    for _, text in _merged(parts):
        out.write(text)


def _merged(parts: Sequence[str | Path]) -> Iterator[_Record]:
    with ExitStack() as files:
        readers = [_records(files.enter_context(open(part, "rb"))) for part in parts]
        yield from heapq.merge(*readers, key=_KEY)


def _records(source: IO[bytes]) -> Iterator[_Record]:
    while True:
        try:
            batch: list[_Record] = pickle.load(source)
        except EOFError:
            return
        yield from batch


__all__ = ["BATCH", "FAN_IN", "BreachPart", "TicketKey", "merge_parts", "natural_key", "ticket_key"]
