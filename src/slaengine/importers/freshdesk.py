"""Freshdesk API v2 exports mapped to ticket events: tickets with their conversations.

The input is what Freshdesk's API v2 returns, saved as files: ticket lists
(``GET /api/v2/tickets``, best with ``include=stats``), single tickets with
``include=conversations``, conversation lists (``GET /api/v2/tickets/{id}/
conversations``) and satisfaction ratings (``GET /api/v2/surveys/
satisfaction_ratings``), as JSON files (a list or one object) or JSON Lines.
Objects are told apart by their keys and joined by ticket id.

Freshdesk's API keeps no status history: statuses come from the ticket's
``stats`` timestamps (resolved, closed, pending since, reopened), see
docs/importers.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
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

KIND: Final = "a Freshdesk API v2 export"
#: Freshdesk's built-in status codes; others are an account's custom statuses.
STATUSES: Final = {2: "open", 3: "pending", 4: "solved", 5: "closed"}
PRIORITIES: Final = {1: "low", 2: "normal", 3: "high", 4: "urgent"}
#: Ticket ``source`` codes.
CHANNELS: Final = {
    1: "email",
    2: "web",  # portal
    3: "phone",
    4: "forum",
    5: "twitter",
    6: "facebook",
    7: "chat",
    8: "mobihelp",
    9: "web",  # feedback widget
    10: "email",  # outbound email: an agent wrote first
    11: "ecommerce",
    12: "bot",
    13: "whatsapp",
}
OUTBOUND_EMAIL: Final = 10
#: Satisfaction answers (``ratings.default_question``) on a 1..7 scale, 7 the happiest.
CSAT_SCORES: Final = {-103: 1, -102: 2, -101: 3, 100: 4, 101: 5, 102: 6, 103: 7}


@dataclass(slots=True)
class _Ticket:
    obj: dict[str, Any] | None = None
    conversations: dict[str, dict[str, Any]] = field(default_factory=dict)
    ratings: dict[str, dict[str, Any]] = field(default_factory=dict)


def events(path: Path, options: ImportOptions) -> Iterator[Event]:
    """Events of every ticket in a Freshdesk export file or directory of files."""
    report = options.report
    tickets: dict[str, _Ticket] = {}
    for file in json_files(path):
        for line, document in json_documents(file, KIND):
            items = document if isinstance(document, list) else [document]
            for item in items:
                _add(tickets, item, str(file), line, report)
    for ticket_id, ticket in tickets.items():
        if ticket.obj is None:
            count = len(ticket.conversations) + len(ticket.ratings)
            report.skip(str(path), 0, "conversations of a ticket not in the export",
                        f"ticket {ticket_id}, {count} item(s)")  # fmt: skip
            continue
        try:
            yield from ticket_events(ticket_id, ticket, report)
        except (KeyError, TypeError, ValueError) as exc:
            report.skip(str(path), 0, "bad ticket", f"{ticket_id}: {_why(exc)}")


def _add(
    tickets: dict[str, _Ticket], item: Any, source: str, line: int, report: ImportReport
) -> None:
    kind = _shape(item)
    if kind is None:
        raise ImportFormatError(
            source, KIND, "an item that is neither a ticket, a conversation nor a rating"
        )
    report.rows += 1
    key = str(item["ticket_id"] if kind != "ticket" else item["id"])
    ticket = tickets.setdefault(key, _Ticket())
    if kind == "ticket":
        ticket.obj = item
        for conversation in item.get("conversations") or []:
            if _shape(conversation) == "conversation":
                ticket.conversations[str(conversation.get("id"))] = conversation
    elif kind == "conversation":
        ticket.conversations[str(item.get("id"))] = item
    else:
        ticket.ratings[str(item.get("id"))] = item


def _shape(item: Any) -> str | None:
    if not isinstance(item, dict):
        return None
    if "ticket_id" in item and "ratings" in item:
        return "rating"
    if "ticket_id" in item and ("incoming" in item or "private" in item):
        return "conversation"
    if "id" in item and "requester_id" in item and "created_at" in item and "status" in item:
        return "ticket"
    return None


def ticket_events(ticket_id: str, ticket: _Ticket, report: ImportReport) -> Iterator[Event]:
    """One ticket's events: created, its conversations, statuses from its stats, ratings."""
    obj = ticket.obj or {}
    created_at = parse_time(obj["created_at"])
    source = obj.get("source")
    created: Event = {
        "id": "created",
        "ticket": ticket_id,
        "at": iso(created_at),
        "type": "created",
        "channel": CHANNELS.get(source, f"source_{source}") if source is not None else "unknown",
        "priority": PRIORITIES.get(obj.get("priority") or 0, "normal"),
        "author": "agent" if source == OUTBOUND_EMAIL else "customer",
    }
    for key, name in (("requester_id", "customer"), ("group_id", "group"),
                      ("responder_id", "assignee")):  # fmt: skip
        if obj.get(key) is not None:
            created[name] = str(obj[key])
    if obj.get("tags"):
        created["tags"] = [str(tag) for tag in obj["tags"]]
    fields = {k: v for k, v in (obj.get("custom_fields") or {}).items() if v is not None}
    if obj.get("type"):
        fields["type"] = obj["type"]
    if fields:
        created["fields"] = fields
    later: list[tuple[dt.datetime, int, Event]] = []
    for conversation in ticket.conversations.values():
        try:
            at = parse_time(conversation.get("created_at"))
        except ValueError as exc:
            report.skip(ticket_id, 0, "bad conversation", f"{conversation.get('id')}: {exc}")
            continue
        message: Event = {
            "id": f"c{conversation.get('id')}",
            "ticket": ticket_id,
            "at": iso(max(at, created_at)),
            "type": "message",
            "author": "customer" if conversation.get("incoming") else "agent",
        }
        if message["author"] == "agent" and conversation.get("user_id") is not None:
            message["agent"] = str(conversation["user_id"])
        if conversation.get("private"):
            message["public"] = False
        later.append((at, len(later), message))
    for at, status in _statuses(obj, report):
        event: Event = {"id": f"status-{status}", "ticket": ticket_id, "type": "status",
                        "at": iso(max(at, created_at)), "status": status}  # fmt: skip
        later.append((at, len(later), event))
    for rating in ticket.ratings.values():
        ratings = rating.get("ratings")
        answer = ratings.get("default_question") if isinstance(ratings, dict) else None
        if answer not in CSAT_SCORES:
            report.skip(ticket_id, 0, "bad satisfaction rating", f"{rating.get('id')}: {ratings}")
            continue
        at = parse_time(rating.get("created_at"))
        later.append((at, len(later), {
            "id": f"csat{rating.get('id')}", "ticket": ticket_id,
            "at": iso(max(at, created_at)), "type": "csat", "score": CSAT_SCORES[answer],
        }))  # fmt: skip
    yield created
    for _, _, event in sorted(later, key=lambda item: (item[0], item[1])):
        yield event


def _statuses(obj: dict[str, Any], report: ImportReport) -> list[tuple[dt.datetime, str]]:
    """Status changes known from the ticket's ``stats``, in time order.

    Freshdesk keeps the latest instant of each: the last resolution, the last
    closing, the last reopening, the start of the current pending spell.
    """
    stats = obj.get("stats") or {}
    code = obj.get("status")
    found: list[tuple[dt.datetime, str]] = []

    def at(key: str) -> dt.datetime | None:
        value = stats.get(key)
        return parse_time(value) if value else None

    resolved, closed, reopened = at("resolved_at"), at("closed_at"), at("reopened_at")
    if resolved is not None:
        found.append((resolved, "solved"))
    if closed is not None:
        found.append((closed, "closed"))
    if reopened is not None and resolved is not None and reopened > resolved:
        found.append((reopened, "open"))
    pending = at("pending_since")
    if code == 3 and pending is not None:
        found.append((pending, "pending"))
    current = STATUSES.get(code) if isinstance(code, int) else None
    if current is None and code is not None:
        current = f"freshdesk_{code}"  # a custom status: map it in the policy's statuses
    latest = max((instant for instant, _ in found), default=None)
    status_at = at("status_updated_at")
    if current in {"solved", "closed"} and not any(s == current for _, s in found):
        # A ticket listed without stats: its status is known, not when it began.
        when = status_at or parse_time(obj.get("updated_at"))
        found.append((when, current))
        report.note(f"{current} ticket without stats (status at its last update)")
    elif current not in {None, "open", "pending", "solved", "closed"} and status_at is not None:
        found.append((status_at, str(current)))
    elif (
        current == "open"
        and latest is not None
        and status_at is not None
        and status_at >= latest
        and not any(s == "open" for _, s in found)
    ):
        found.append((status_at, "open"))
    found.sort(key=lambda pair: pair[0])
    return found


def _why(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing {exc.args[0]!r}"
    return str(exc)
