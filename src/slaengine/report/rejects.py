"""The stored rejects as a terminal table for people, fitted to the terminal's width.

Id, received time, origin and replayed time are never cut: they are what a
reject is looked up and replayed by. When the table is too wide, the problems
move under the table (whole, by id), then times lose their year (the title
names it), and the text sent is cut to the room left (or goes, below
:data:`MIN_SENT` characters; ``--json`` has all of it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

from rich.text import Text

from slaengine.live.eventstore import RejectRow
from slaengine.live.text import escape_controls
from slaengine.report.outbox import OutboxTable
from slaengine.report.table import LONG_TIME, SHORT_TIME, cell, local_time
from slaengine.report.terminal import (
    COLUMN_EXTRA,
    Column,
    fitted_columns,
    fitted_table,
    table_width,
)

#: Characters of a reject's text in the table at most; ``--json`` has all of it.
SHOWN_TEXT: Final = 60
#: Fewer characters of the text than this say nothing: the column goes instead.
MIN_SENT: Final = 16

_PROBLEM = "Problem"
_SENT = "Sent"


def _sent(row: RejectRow, limit: int) -> Text:
    reject = row.reject
    text = reject.payload if reject.payload is not None else reject.raw
    # Text, not markup: a refused line may hold anything, brackets included.
    return Text("-" if text is None else escape_controls(text, limit))


def _columns(rows: Sequence[RejectRow], zone: dt.tzinfo, fmt: str, sent: int) -> list[Column]:
    return [
        Column("Id", [str(row.id) for row in rows], right=True),
        Column("Received", [local_time(row.received, zone, fmt) for row in rows]),
        Column("Origin", [cell(row.reject.origin) for row in rows]),
        Column(_PROBLEM, [cell(row.reject.problem) for row in rows], drop=5),
        Column(_SENT, [_sent(row, sent) for row in rows], drop=4),
        Column("Replayed", [local_time(row.replayed, zone, fmt) for row in rows]),
    ]


def rejects_table(
    rows: Sequence[RejectRow], zone: dt.tzinfo, timezone: str, width: int | None
) -> OutboxTable:
    """One row per reject, fitted to ``width`` (``None``: every column, every problem whole)."""
    fmt = LONG_TIME
    columns = _columns(rows, zone, fmt, SHOWN_TEXT)
    title = f"Rejected events (times in {timezone})"
    if len(fitted_columns(columns, width)) < len(columns) - 1:  # more than the problems go
        fmt = SHORT_TIME
        columns = _columns(rows, zone, fmt, SHOWN_TEXT)
        instants = [t for row in rows for t in (row.received, row.replayed) if t is not None]
        years = sorted({local_time(t, zone, "%Y") for t in instants})
        title = f"Rejected events (times in {timezone}, {', '.join(years) or 'no times'})"
    shown = fitted_columns(columns, width)
    if width is not None and all(column.header != _SENT for column in shown):
        # A shorter preview of the text rather than none, when it still says something.
        room = width - table_width([c for c in shown if c.header != _PROBLEM]) - COLUMN_EXTRA
        if room >= MIN_SENT:
            columns = _columns(rows, zone, fmt, room)
            kept = {column.header for column in shown} | {_SENT}
            shown = fitted_columns([c for c in columns if c.header in kept], width)
    notes: list[Text] = []
    if all(column.header != _PROBLEM for column in shown):
        # The problem is what a reject is read for: under the table, whole.
        notes = [Text(f"{row.id}: ") + cell(row.reject.problem) for row in rows]
        if notes:
            notes.insert(0, Text("Problems (by id):", style="bold"))
    return OutboxTable(fitted_table(title, shown, width), notes, table_width(shown))


__all__ = ["MIN_SENT", "SHOWN_TEXT", "rejects_table"]
