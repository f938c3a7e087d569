"""ServiceNow incident audit log (``incident_event_log.csv``) mapped to ticket events.

Each CSV row is one update of an incident (``number``); an incident's rows are
contiguous. The first row gives ``created`` at ``opened_at``; later rows give a
``status`` event when the state changed and an ``update`` event when priority,
channel, group, assignee or caller changed. The log has no messages.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from slaengine.importers.base import (
    Event,
    ImportOptions,
    ImportReport,
    case_rows,
    iso,
    status_event,
)

STATES: Final = {
    "New": "new",
    "Active": "open",
    "Awaiting User Info": "pending",
    "Awaiting Evidence": "pending",
    "Awaiting Problem": "on_hold",
    "Awaiting Vendor": "on_hold",
    "Resolved": "solved",
    "Closed": "closed",
}
PRIORITIES: Final = {
    "1 - Critical": "urgent",
    "2 - High": "high",
    "3 - Moderate": "normal",
    "4 - Low": "low",
}
CHANNELS: Final = {
    "Phone": "phone",
    "Email": "email",
    "Self service": "web",
    "IVR": "phone",
    "Direct opening": "direct_opening",
}
UNKNOWN_CHANNEL: Final = "unknown"
MISSING: Final = "?"
_TIME = "%d/%m/%Y %H:%M"
_COLUMNS: Final = (
    "number",
    "incident_state",
    "sys_mod_count",
    "made_sla",
    "caller_id",
    "opened_at",
    "sys_updated_at",
    "contact_type",
    "priority",
    "assignment_group",
    "assigned_to",
)
# Attributes an update event can carry, in output order.
_ATTRIBUTES: Final = ("priority", "channel", "group", "assignee", "customer")


@dataclass(frozen=True, slots=True)
class _Row:
    line: int
    mod: str
    at: dt.datetime
    opened: dt.datetime
    status: str
    made_sla: bool | None
    attributes: dict[str, str]


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every incident in the log; its wall times are read in ``options.timezone``."""
    report, source = options.report, str(path)

    def parse(line: int, fields: list[str], columns: dict[str, int]) -> _Row | None:
        return _parse_row(source, line, fields, columns, options.timezone, report)

    for number, group in case_rows(
        path,
        _COLUMNS,
        "number",
        report,
        parse,
        kind="a ServiceNow incident log",
        empty="empty incident number",
        scattered="incident rows are not contiguous",
    ):
        yield from incident_events(number, group)


def _parse_row(
    source: str,
    line: int,
    fields: list[str],
    columns: dict[str, int],
    zone: dt.tzinfo,
    report: ImportReport,
) -> _Row | None:
    def get(name: str) -> str:
        return fields[columns[name]].strip()

    state = get("incident_state")
    if state not in STATES:
        report.skip(source, line, "unknown incident_state", repr(state))
        return None
    priority = get("priority")
    if priority not in PRIORITIES:
        report.skip(source, line, "unknown priority", repr(priority))
        return None
    try:
        at = local_time(get("sys_updated_at"), zone)
        opened = local_time(get("opened_at"), zone)
    except ValueError as exc:
        report.skip(source, line, "bad timestamp", str(exc))
        return None
    contact = get("contact_type")
    attributes = {
        "priority": PRIORITIES[priority],
        "channel": CHANNELS.get(contact, _channel_name(contact)),
    }
    for key, column in (("group", "assignment_group"), ("assignee", "assigned_to")):
        value = get(column)
        if value != MISSING and value:
            attributes[key] = value
    caller = get("caller_id")
    if caller != MISSING and caller:
        attributes["customer"] = caller
    made_sla = {"true": True, "false": False}.get(get("made_sla").lower())
    return _Row(line, get("sys_mod_count"), at, opened, STATES[state], made_sla, attributes)


def local_time(text: str, zone: dt.tzinfo) -> dt.datetime:
    """A ``29/2/2016 01:16`` timestamp read as wall time in ``zone``.

    A wall time in a daylight-saving gap or overlap takes the offset in force
    before the change (``fold=0``).
    """
    if text == MISSING:
        raise ValueError("missing timestamp '?'")
    try:
        naive = dt.datetime.strptime(text, _TIME)
    except ValueError:
        raise ValueError(f"{text!r} is not day/month/year hour:minute") from None
    return naive.replace(tzinfo=zone)


def _channel_name(contact: str) -> str:
    if not contact or contact == MISSING:
        return UNKNOWN_CHANNEL
    return "_".join(contact.lower().split())


def incident_events(number: str, rows: list[_Row]) -> Iterator[Event]:
    """One incident's events from its parsed rows (in file order).

    Rows are ordered by ``sys_updated_at`` (file order breaks ties). An update
    stamped before ``opened_at`` is moved to ``opened_at``. ``made_sla`` in the
    created event's fields is the incident's last known verdict.
    """
    rows = sorted(rows, key=lambda r: r.at)  # stable: file order breaks ties
    opened = rows[0].opened
    first = rows[0].attributes
    created: Event = {
        "id": "created",
        "ticket": number,
        "at": iso(opened),
        "type": "created",
        "channel": first["channel"],
        "priority": first["priority"],
        "status": "new",
    }
    for key in ("customer", "group", "assignee"):
        if key in first:
            created[key] = first[key]
    verdicts = [r.made_sla for r in rows if r.made_sla is not None]
    if verdicts:
        created["fields"] = {"made_sla": verdicts[-1]}
    yield created
    status, attributes = "new", dict(first)
    used: dict[str, int] = {}
    for row in rows:
        used[row.mod] = used.get(row.mod, 0) + 1
        # sys_mod_count repeats in a few incidents: a suffix keeps the ids distinct.
        stem = f"mod{row.mod}" + (f".{used[row.mod]}" if used[row.mod] > 1 else "")
        at = iso(max(row.at, opened))
        changed = {
            key: value for key, value in row.attributes.items() if attributes.get(key) != value
        }
        if changed:
            attributes.update(changed)
            update: Event = {"id": f"{stem}-update", "ticket": number, "at": at, "type": "update"}
            update.update((key, changed[key]) for key in _ATTRIBUTES if key in changed)
            yield update
        if row.status != status:
            status = row.status
            yield status_event(f"{stem}-status", number, at, status)
