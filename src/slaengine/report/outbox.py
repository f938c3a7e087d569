"""The live outbox as a terminal table for people, fitted to the terminal's width.

Id, ticket, kind, recipient, state and due time are never cut: they are what a
row is looked up by. When the table is too wide, the errors move under the
table (whole, by row id), then times lose their year (the title names it), and
then the key, the next-try time and the try count go.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text

from slaengine.live.store import FAILED, OutboxRow
from slaengine.report.table import LONG_TIME, SHORT_TIME, cell, local_time
from slaengine.report.terminal import Column, fitted_columns, fitted_table, table_width

_ERROR = "Last error"


@dataclass(frozen=True, slots=True)
class OutboxTable:
    """The table, the lines to print under it (errors it had no room for), its width."""

    table: Table
    notes: list[Text]
    width: int


def _last_or_next(row: OutboxRow) -> int | None:
    if row.delivered is not None:
        return row.delivered
    return row.next_attempt if row.status == FAILED else None


def _columns(rows: Sequence[OutboxRow], zone: dt.tzinfo, fmt: str) -> list[Column]:
    return [
        Column("Id", [str(row.id) for row in rows], right=True),
        Column("Ticket", [cell(row.ticket) for row in rows]),
        Column("Kind", [cell(row.kind) for row in rows]),
        Column("Key", [cell(row.key) for row in rows], drop=4),
        Column("Recipient", [cell(row.recipient) for row in rows]),
        Column("Due", [local_time(row.due_at, zone, fmt) for row in rows]),
        Column("State", [row.status for row in rows]),
        Column("Tries", [str(row.attempts) for row in rows], right=True, drop=2),
        Column(
            "Next try / delivered",
            [local_time(_last_or_next(row), zone, fmt) for row in rows],
            drop=3,
        ),
        Column(_ERROR, [cell(row.last_error or "") for row in rows], drop=5),
    ]


def outbox_table(
    rows: Sequence[OutboxRow], zone: dt.tzinfo, timezone: str, width: int | None
) -> OutboxTable:
    """One row per notification and recipient, fitted to ``width`` (``None``: every column)."""
    fmt = LONG_TIME
    columns = _columns(rows, zone, fmt)
    title = f"Outbox (times in {timezone})"
    if len(fitted_columns(columns, width)) < len(columns) - 1:  # more than the errors go
        fmt = SHORT_TIME
        columns = _columns(rows, zone, fmt)
        instants = [t for row in rows for t in (row.due_at, _last_or_next(row)) if t is not None]
        years = sorted({local_time(t, zone, "%Y") for t in instants})
        title = f"Outbox (times in {timezone}, {', '.join(years) or 'no times'})"
    shown = fitted_columns(columns, width)
    notes: list[Text] = []
    if all(column.header != _ERROR for column in shown):
        # The errors are what a failed row is read for: under the table, whole.
        notes = [Text(f"{row.id}: ") + cell(row.last_error) for row in rows if row.last_error]
        if notes:
            notes.insert(0, Text("Last errors (by id):", style="bold"))
    return OutboxTable(fitted_table(title, shown, width), notes, table_width(shown))


__all__ = ["OutboxTable", "outbox_table"]
