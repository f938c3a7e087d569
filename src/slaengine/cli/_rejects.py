"""``slaengine outbox --rejects``: the events the live state refused, with reasons and text."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from zoneinfo import ZoneInfo

from rich.console import Console
from rich.table import Table
from rich.text import Text

from slaengine.live.eventstore import RejectRow
from slaengine.live.store import Store
from slaengine.live.text import RAW_LIMIT, escape_controls
from slaengine.notifications import iso
from slaengine.report.table import local_time
from slaengine.words import plural

SHOWN_TEXT = 60  # characters of a reject's text in the table; --json has all of it


def reject_dict(row: RejectRow) -> dict[str, Any]:
    """A stored reject as JSON: ``payload`` the event read as JSON (an object),
    ``payload_text`` the stored text of one that had no JSON form, ``raw`` the text of an
    input that could not be read, ``raw_size`` its bytes."""
    reject = row.reject
    whole = reject.raw_size is None or reject.raw_size <= RAW_LIMIT
    payload, payload_text = _payload(reject.payload)
    return {
        "id": row.id,
        "received": iso(row.received),
        "origin": reject.origin,
        "problem": reject.problem,
        "payload": payload,
        "payload_text": payload_text,
        "raw": reject.raw,
        "raw_size": reject.raw_size,
        "raw_complete": whole if reject.raw is not None else None,
    }


def _payload(stored: str | None) -> tuple[Any, str | None]:
    """The stored payload as the object it is, or ``(None, text)`` when the text is no JSON
    (an event with no JSON form is stored as its Python text); the stored text is kept."""
    if stored is None:
        return None, None
    try:
        return json.loads(stored), None
    except (ValueError, RecursionError):
        return None, stored


def _shown(row: RejectRow) -> str:
    reject = row.reject
    text = reject.payload if reject.payload is not None else reject.raw
    if text is None:
        return "-"
    return escape_controls(text, SHOWN_TEXT)


def list_rejects(store: Store, args: argparse.Namespace, zone: ZoneInfo) -> int:
    """Print the stored rejects ``args`` ask for (a table, or ``--json``); exit 1 if any."""
    rows = store.reject_rows(args.limit, args.after)
    total = store.counts()["rejects"]
    if args.json:
        sys.stdout.writelines(json.dumps(reject_dict(row)) + "\n" for row in rows)
        return 1 if rows else 0
    table = Table(
        title=f"Rejected events (times in {args.tz})", header_style="bold", title_justify="left"
    )
    for column in ("Id", "Received", "Origin", "Problem", "Sent"):
        table.add_column(column)
    for row in rows:
        # Text, not markup: a refused line may hold anything, brackets included.
        table.add_row(
            str(row.id),
            local_time(row.received, zone),
            Text(escape_controls(row.reject.origin, 80)),
            Text(escape_controls(row.reject.problem, 120)),
            Text(_shown(row)),
        )
    console = Console(soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    console.print(table)
    console.print(f"{plural(len(rows), 'reject')} shown of {total:,}; --json for the whole text")
    return 1 if rows else 0


__all__ = ["list_rejects", "reject_dict"]
