"""Volvo IT incident log (BPI Challenge 2013, ``VINST-new.csv``) mapped to ticket events.

Each CSV row is one status change of a service request (``SR Number``); a
request's rows are contiguous. Its first row gives ``created`` (in that row's
status); later rows give a ``status`` event when the status changed and an
``update`` event when impact, team, resource, support line or owner country
changed. Timestamps carry their UTC offset. The log has no messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from slaengine.importers.base import (
    Event,
    ImportOptions,
    ImportReport,
    case_rows,
    iso,
    status_event,
)

STATUSES: Final = {
    ("Queued", "Awaiting Assignment"): "open",
    ("Accepted", "In Progress"): "open",
    ("Accepted", "Assigned"): "open",
    ("Accepted", "Wait - User"): "pending",
    ("Accepted", "Wait - Customer"): "pending",
    ("Accepted", "Wait"): "on_hold",
    ("Accepted", "Wait - Implementation"): "on_hold",
    ("Accepted", "Wait - Vendor"): "on_hold",
    ("Completed", "Resolved"): "solved",
    ("Completed", "In Call"): "solved",
    ("Completed", "Closed"): "closed",
    ("Completed", "Cancelled"): "closed",
}
PRIORITIES: Final = {"Major": "urgent", "High": "high", "Medium": "normal", "Low": "low"}
CHANNEL: Final = "unknown"
_COLUMNS: Final = (
    "SR Number",
    "Change Date+Time",
    "Status",
    "Sub Status",
    "Involved ST",
    "ST Level",
    "SR Latest Impact",
    "Product",
    "Country",
    "Owner Country",
    "Resource",
)
# Custom fields that can change from row to row.
_MOVING_FIELDS: Final = {"st_level": "ST Level", "owner_country": "Owner Country"}


@dataclass(frozen=True, slots=True)
class _Row:
    at: dt.datetime
    status: str
    priority: str
    group: str | None
    assignee: str | None
    fields: dict[str, str]
    product: str | None
    country: str | None


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every service request in the log (its timestamps carry offsets)."""
    report, source = options.report, str(path)

    def parse(line: int, fields: list[str], columns: dict[str, int]) -> _Row | None:
        return _parse_row(source, line, fields, columns, report)

    for number, group in case_rows(
        path,
        _COLUMNS,
        "SR Number",
        report,
        parse,
        kind="a Volvo VINST incident log",
        empty="empty SR Number",
        scattered="request rows are not contiguous",
    ):
        yield from request_events(number, group)


def _parse_row(
    source: str, line: int, fields: list[str], columns: dict[str, int], report: ImportReport
) -> _Row | None:
    def get(name: str) -> str:
        return fields[columns[name]].strip()

    status_pair = (get("Status"), get("Sub Status"))
    if status_pair not in STATUSES:
        report.skip(source, line, "unknown status", "/".join(status_pair))
        return None
    impact = get("SR Latest Impact")
    if impact not in PRIORITIES:
        report.skip(source, line, "unknown impact", repr(impact))
        return None
    text = get("Change Date+Time")
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        report.skip(source, line, "bad timestamp", repr(text))
        return None
    if at.tzinfo is None:
        report.skip(source, line, "timestamp has no UTC offset", repr(text))
        return None
    moving = {key: get(column) for key, column in _MOVING_FIELDS.items() if get(column)}
    return _Row(
        at=at.replace(microsecond=0),
        status=STATUSES[status_pair],
        priority=PRIORITIES[impact],
        group=get("Involved ST") or None,
        assignee=get("Resource") or None,
        fields=moving,
        product=get("Product") or None,
        country=get("Country") or None,
    )


def request_events(number: str, rows: list[_Row]) -> Iterator[Event]:
    """One service request's events from its parsed rows (in file order).

    Rows are ordered by time (file order breaks ties). Event ids are ``r<k>``
    with ``k`` the row's place among the request's rows in the file.
    """
    indexed = sorted(enumerate(rows, start=1), key=lambda pair: pair[1].at)
    first = indexed[0][1]
    created: Event = {
        "id": "created",
        "ticket": number,
        "at": iso(first.at),
        "type": "created",
        "channel": CHANNEL,
        "priority": first.priority,
        "status": first.status,
    }
    if first.group:
        created["group"] = first.group
    if first.assignee:
        created["assignee"] = first.assignee
    created_fields = {
        key: value
        for key, value in (("product", first.product), ("country", first.country))
        if value
    }
    created_fields.update(first.fields)
    if created_fields:
        created["fields"] = created_fields
    yield created
    state: dict[str, Any] = {
        "priority": first.priority,
        "group": first.group,
        "assignee": first.assignee,
        "fields": dict(first.fields),
    }
    status = first.status
    for k, row in indexed[1:]:
        at = iso(row.at)
        update: Event = {"id": f"r{k}-update", "ticket": number, "at": at, "type": "update"}
        for key, value in (
            ("priority", row.priority),
            ("group", row.group),
            ("assignee", row.assignee),
        ):
            if value and value != state[key]:
                update[key] = state[key] = value
        changed = {key: v for key, v in row.fields.items() if state["fields"].get(key) != v}
        if changed:
            update["fields"] = changed
            state["fields"].update(changed)
        if len(update) > 4:
            yield update
        if row.status != status:
            status = row.status
            yield status_event(f"r{k}-status", number, at, status)
