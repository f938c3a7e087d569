"""Zendesk Support exports mapped to ticket events: tickets with their audits or ticket events.

The input is what Zendesk's REST API returns, saved as files: pages of the
incremental ticket export (``{"tickets": [...]}``, side-loaded ``users`` and
``groups`` welcome), ticket audits (``{"audits": [...]}``), the incremental
ticket event export (``{"ticket_events": [...]}``) and satisfaction ratings
(``{"satisfaction_ratings": [...]}``). Files are joined by ticket id, so the
whole input is read before any event is written (without comment bodies).

The history (audits or ticket events) gives every status, priority, group and
assignee change and every comment with its author and visibility; the ticket
object alone gives only its creation (see docs/importers.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from slaengine.importers.base import (
    Event,
    ImportFormatError,
    ImportOptions,
    ImportReport,
    iso,
    json_documents,
    json_files,
    parse_time,
)

KIND: Final = "a Zendesk export"
STATUSES: Final = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
}
PRIORITIES: Final = frozenset({"urgent", "high", "normal", "low"})
#: Zendesk tickets may have no priority ("-"); canonical events need one.
DEFAULT_PRIORITY: Final = "normal"
#: Zendesk's satisfaction is binary: the mean score is the share of good ratings.
CSAT_SCORES: Final = {"good": 1, "bad": 0}
#: The ``via.channel`` names that differ from slaengine's channel names.
CHANNELS: Final = {"voice": "phone", "mail": "email", "web_form": "web", "web_service": "api"}
#: Zendesk's own user id for changes made by the system (triggers, automations).
SYSTEM_USER: Final = "-1"
# Ticket fields that become canonical attributes, and their event key.
_FIELDS: Final = {
    "status": "status",
    "priority": "priority",
    "group_id": "group",
    "assignee_id": "assignee",
    "requester_id": "customer",
    "tags": "tags",
}
_LISTS: Final = (
    "tickets",
    "audits",
    "ticket_events",
    "satisfaction_ratings",
    "metric_sets",
    "ticket_metrics",
)
_STOPPED: Final = frozenset({"solved", "closed"})


@dataclass(slots=True)
class _Audit:
    """One update of a ticket (an audit, or an incremental ticket event)."""

    at: dt.datetime
    order: int
    author: str | None
    channel: str | None
    events: list[dict[str, Any]]


@dataclass(slots=True)
class _Export:
    tickets: dict[str, dict[str, Any]] = field(default_factory=dict)
    audits: dict[str, list[_Audit]] = field(default_factory=dict)
    ratings: dict[str, list[tuple[dt.datetime, int, str]]] = field(default_factory=dict)
    users: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # id -> (role, name)
    groups: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)  # ticket id -> metric set
    order: list[str] = field(default_factory=list)  # ticket ids in order of first mention

    def mention(self, ticket: str) -> None:
        if ticket not in self.tickets and ticket not in self.audits:
            self.order.append(ticket)


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every ticket in a Zendesk export file or directory of files."""
    report = options.report
    export = _Export()
    for file in json_files(path):
        for line, document in json_documents(file, KIND):
            _read_document(export, document, str(file), line, report)
    for ticket in export.order:
        try:
            yield from ticket_events(ticket, export, report)
        except (KeyError, TypeError, ValueError) as exc:
            report.skip(str(path), 0, "bad ticket", f"{ticket}: {exc}")


def _read_document(
    export: _Export, document: Any, source: str, line: int, report: ImportReport
) -> None:
    if not isinstance(document, dict) or not any(key in document for key in (*_LISTS, "ticket")):
        shape = "a JSON list" if isinstance(document, list) else "a JSON object"
        raise ImportFormatError(
            source, KIND, f"{shape} without a 'tickets', 'audits' or 'ticket_events' list"
        )
    for user in _objects(document.get("users")):
        if user.get("id") is not None:
            role = str(user.get("role") or "end-user")
            export.users[str(user["id"])] = (role, user.get("name"))
    for group in _objects(document.get("groups")):
        if group.get("id") is not None and group.get("name"):
            export.groups[str(group["id"])] = str(group["name"])
    tickets = list(document.get("tickets") or [])
    if isinstance(document.get("ticket"), dict):
        tickets.append(document["ticket"])
    for ticket in tickets:
        report.rows += 1
        if not isinstance(ticket, dict) or ticket.get("id") is None:
            report.skip(source, line, "bad ticket", "a ticket without an id")
            continue
        key = str(ticket["id"])
        export.mention(key)
        export.tickets[key] = ticket  # a later page holds the newer copy
    for n, audit in enumerate(document.get("audits") or [], start=1):
        _add_audit(export, audit, (source, line), f"audits item {n}", report, _audit_from_audit)
    for n, item in enumerate(document.get("ticket_events") or [], start=1):
        _add_audit(
            export, item, (source, line), f"ticket_events item {n}", report,
            _audit_from_ticket_event,
        )  # fmt: skip
    for metrics in [
        *_objects(document.get("metric_sets")),
        *_objects(document.get("ticket_metrics")),
    ]:
        if metrics.get("ticket_id") is not None:
            export.metrics[str(metrics["ticket_id"])] = metrics
    for rating in document.get("satisfaction_ratings") or []:
        report.rows += 1
        if not isinstance(rating, dict) or rating.get("ticket_id") is None:
            report.skip(source, line, "bad satisfaction rating", "no ticket_id")
            continue
        score = CSAT_SCORES.get(str(rating.get("score")))
        if score is None:  # offered or unoffered: no answer yet
            continue
        try:
            at = parse_time(rating.get("updated_at") or rating.get("created_at"))
        except ValueError as exc:
            report.skip(source, line, "bad satisfaction rating", str(exc))
            continue
        export.ratings.setdefault(str(rating["ticket_id"]), []).append(
            (at, score, str(rating.get("id", "")))
        )


def _add_audit(
    export: _Export,
    item: Any,
    origin: tuple[str, int],
    where: str,
    report: ImportReport,
    convert: Callable[[dict[str, Any]], _Audit],
) -> None:
    report.rows += 1
    try:
        ticket = str(item["ticket_id"])
        audit = convert(item)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # A JSON page has no useful line: the item's place in its list says where.
        report.skip(*origin, "bad audit", f"{where}: {_why(exc)}")
        return
    export.mention(ticket)
    history = export.audits.setdefault(ticket, [])
    audit.order = len(history)
    history.append(audit)


def _audit_from_audit(item: dict[str, Any]) -> _Audit:
    via = item.get("via") or {}
    channel = via.get("channel") if isinstance(via, dict) else None
    return _Audit(
        at=parse_time(item["created_at"]),
        order=0,
        author=_id(item.get("author_id")),
        channel=_channel(channel),
        events=[_audit_event(event, item) for event in _objects(item.get("events"))],
    )


def _audit_event(event: dict[str, Any], audit: dict[str, Any]) -> dict[str, Any]:
    if "id" not in event:
        event = {**event, "id": f"{audit.get('id')}.{event.get('type')}"}
    return event


def _audit_from_ticket_event(item: dict[str, Any]) -> _Audit:
    """An incremental ticket event as an audit: its child events become audit events."""
    at = (
        parse_time(item["created_at"])
        if item.get("created_at")
        else dt.datetime.fromtimestamp(int(item["timestamp"]), dt.UTC)
    )
    updater = _id(item.get("updater_id"))
    events: list[dict[str, Any]] = []
    for child in _objects(item.get("child_events")):
        kind = child.get("event_type") or child.get("type")
        ident = child.get("id", f"{item.get('id')}.{len(events)}")
        if kind in {"Comment", "VoiceComment"} or child.get("comment_present"):
            public = child.get("public", child.get("comment_public", True))
            author = child.get("author_id", updater)
            events.append({"type": "Comment", "id": ident, "author_id": author, "public": public})
        elif kind in {"Create", "Change"}:
            for name in _FIELDS:
                if name in child:
                    events.append(
                        {
                            "type": kind,
                            "id": ident,
                            "field_name": name,
                            "value": child[name],
                            "previous_value": child.get("previous_value"),
                        }
                    )
        elif kind == "SatisfactionRating":
            events.append({"type": kind, "id": ident, "score": child.get("score")})
    via = item.get("via")
    channel = via.get("channel") if isinstance(via, dict) else via
    return _Audit(at, 0, updater, _channel(channel), events)


# -- one ticket ----------------------------------------------------------------------------


def ticket_events(ticket: str, export: _Export, report: ImportReport) -> Iterator[Event]:
    """One ticket's events: created with its first values, then its history in time order.

    The comments of the creating update are the ticket's description: they are
    the opening request the ``created`` event stands for, not messages.
    """
    obj = export.tickets.get(ticket, {})
    history = sorted(export.audits.get(ticket, []), key=lambda a: (a.at, a.order))
    creating = next((a for a in history if any(e.get("type") == "Create" for e in a.events)), None)
    if obj.get("created_at"):
        created_at = parse_time(obj["created_at"])
    elif history:
        created_at = history[0].at
    else:
        report.skip(ticket, 0, "ticket without created_at or history")
        return
    first = _first_values(obj, history)
    via = obj.get("via") or {}
    channel = _channel(via.get("channel") if isinstance(via, dict) else None)
    if channel is None:
        opening = creating or (history[0] if history else None)
        channel = opening.channel if opening is not None else None
    created: Event = {
        "id": "created",
        "ticket": ticket,
        "at": iso(created_at),
        "type": "created",
        "channel": channel or "unknown",
        "priority": first.get("priority") if first.get("priority") in PRIORITIES else
        DEFAULT_PRIORITY,
        "status": _opening_status(first.get("status"), bool(history)),
    }  # fmt: skip
    for name in ("customer", "group", "assignee"):
        value = first.get(name)
        if value is not None:
            created[name] = _name(export, name, value)
    if isinstance(first.get("tags"), list) and first["tags"]:
        created["tags"] = [str(tag) for tag in first["tags"]]
    opener = _id(obj.get("submitter_id")) or (creating.author if creating else None)
    if opener is not None:
        created["author"] = _role(export, opener, first.get("customer"))
    yield created
    rated = False
    for audit in history:
        for event in audit.events:
            kind = event.get("type")
            ident = f"e{event.get('id')}"
            at = iso(max(audit.at, created_at))
            if kind in {"Comment", "VoiceComment"}:
                if audit is creating:
                    continue
                author_id = _id(event.get("author_id")) or audit.author
                yield _message(ticket, ident, at, export, author_id, event, first)
            elif kind == "Change" or (kind == "Create" and audit is not creating):
                change = _change(ticket, ident, at, export, event, report)
                if change is not None:
                    yield change
            elif kind == "SatisfactionRating":
                score = CSAT_SCORES.get(str(event.get("score")))
                if score is not None:
                    rated = True
                    yield {"id": ident, "ticket": ticket, "at": at, "type": "csat", "score": score}
    if not rated:
        for at_time, rating, rating_id in sorted(export.ratings.get(ticket, [])):
            yield {
                "id": f"csat{rating_id}",
                "ticket": ticket,
                "at": iso(max(at_time, created_at)),
                "type": "csat",
                "score": rating,
            }
    if not history:
        yield from _from_metrics(ticket, obj, export.metrics.get(ticket), created_at, report)


def _opening_status(status: object, history: bool) -> str:
    """The status at creation; without history a solved ticket cannot have started solved."""
    mapped = STATUSES.get(str(status), "new")
    return "open" if not history and mapped in _STOPPED else mapped


def _from_metrics(
    ticket: str,
    obj: dict[str, Any],
    metrics: dict[str, Any] | None,
    created_at: dt.datetime,
    report: ImportReport,
) -> Iterator[Event]:
    """What a ticket without audits still tells: its metric set's first reply and solve time.

    Zendesk's ticket metrics give the first reply as minutes after creation
    (calendar time), the last solve instant and when the status last changed
    (a closed ticket's closing); without them a solved or closed ticket gets
    its status at its last update.
    """
    status = STATUSES.get(str(obj.get("status")), "new")
    reply = ((metrics or {}).get("reply_time_in_minutes") or {}).get("calendar")
    if isinstance(reply, int | float):
        at = created_at + dt.timedelta(minutes=reply)
        yield {"id": "first-reply", "ticket": ticket, "at": iso(at), "type": "message",
               "author": "agent"}  # fmt: skip
    if status not in _STOPPED:
        if metrics is None:
            report.note("ticket without audits, ticket events or metrics (created only)")
        return
    solved = (metrics or {}).get("solved_at")
    if not solved:
        when = max(parse_time(obj.get("updated_at")), created_at)
        report.note(f"{status} ticket without history or solved_at (status at its last update)")
        yield {"id": status, "ticket": ticket, "at": iso(when), "type": "status", "status": status}
        return
    solved_at = max(parse_time(solved), created_at)
    yield {"id": "solved", "ticket": ticket, "at": iso(solved_at), "type": "status",
           "status": "solved"}  # fmt: skip
    changed = (metrics or {}).get("status_updated_at")
    if status == "closed" and changed and parse_time(changed) >= solved_at:
        yield {"id": "closed", "ticket": ticket, "at": iso(parse_time(changed)),
               "type": "status", "status": "closed"}  # fmt: skip


def _first_values(obj: dict[str, Any], history: list[_Audit]) -> dict[str, Any]:
    """Each attribute as it was at creation.

    A ``Create`` event says it; otherwise the value before the field's first
    change; otherwise the ticket's current value (it never changed).
    """
    first: dict[str, Any] = {}
    for audit in history:
        for event in audit.events:
            name = _FIELDS.get(str(event.get("field_name")))
            if name is None or name in first:
                continue
            if event.get("type") == "Create":
                first[name] = event.get("value")
            elif event.get("type") == "Change":
                first[name] = event.get("previous_value")
    for source, name in _FIELDS.items():
        if name not in first and obj.get(source) is not None:
            first[name] = obj[source]
    for name in ("customer", "group", "assignee"):
        if first.get(name) is not None:
            first[name] = _id(first[name])
    return first


def _message(
    ticket: str,
    ident: str,
    at: str,
    export: _Export,
    author_id: str | None,
    event: dict[str, Any],
    first: dict[str, Any],
) -> Event:
    author = _role(export, author_id, first.get("customer"))
    message: Event = {"id": ident, "ticket": ticket, "at": at, "type": "message", "author": author}
    if author == "agent" and author_id is not None:
        message["agent"] = _name(export, "assignee", author_id)
    if event.get("public") is False:
        message["public"] = False
    return message


def _change(
    ticket: str,
    ident: str,
    at: str,
    export: _Export,
    event: dict[str, Any],
    report: ImportReport,
) -> Event | None:
    name = _FIELDS.get(str(event.get("field_name")))
    value = event.get("value")
    if name is None or value is None:
        return None
    base: Event = {"id": ident, "ticket": ticket, "at": at}
    if name == "status":
        status = STATUSES.get(str(value))
        if status is None:
            report.skip(ticket, 0, "unknown Zendesk status", repr(value))
            return None
        return {**base, "type": "status", "status": status}
    if name == "priority":
        if value not in PRIORITIES:
            return None
        return {**base, "type": "update", "priority": value}
    if name == "tags":
        if not isinstance(value, str | list):
            return None
        tags = value.split() if isinstance(value, str) else [str(tag) for tag in value]
        return {**base, "type": "update", "tags": tags}
    identifier = _id(value)
    if identifier is None:
        return None
    return {**base, "type": "update", name: _name(export, name, identifier)}


def _role(export: _Export, user: str | None, requester: str | None) -> str:
    """``customer``, ``agent`` or ``system`` for a Zendesk user id.

    Side-loaded users give the role; without them the requester is the
    customer and anyone else writing on the ticket is staff.
    """
    if user is None or user == SYSTEM_USER:
        return "system"
    known = export.users.get(user)
    if known is not None:
        return "customer" if known[0] == "end-user" else "agent"
    return "customer" if user == requester else "agent"


def _name(export: _Export, attribute: str, identifier: str) -> str:
    if attribute == "group":
        return export.groups.get(identifier, identifier)
    user = export.users.get(identifier)
    if attribute != "customer" and user is not None and user[1]:
        return str(user[1])
    return identifier


def _channel(via: object) -> str | None:
    if not isinstance(via, str) or not via:
        return None
    name = "_".join(via.lower().split())
    return CHANNELS.get(name, name)


def _objects(value: object) -> list[dict[str, Any]]:
    """The JSON objects of a list (other items are not ours to read)."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _id(value: object) -> str | None:
    if value is None or value == "":
        return None
    return str(value)


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc)
