"""Pure mapping from django-helpdesk's ticket facts to canonical slaengine events.

No database and no models here: :mod:`.recorder` reads the helpdesk's objects
into plain values and this module decides which events they make. Event ids
are stable (built from primary keys and a per-ticket change number), so
recording the same change twice stores it once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from slaengine_django_helpdesk.conf import Settings

SOLVED = ("solved", "closed")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A ticket's attributes as slaengine sees them: what a change event compares."""

    status: str
    priority: str
    group: str
    assignee: str


def status_of(number: int, on_hold: bool, settings: Settings) -> str:
    """The canonical status of a helpdesk status number and its separate ``on_hold`` flag.

    A resolved or closed ticket is solved whatever its hold flag; an open one
    on hold is ``on_hold`` (or the name ``ON_HOLD_STATUS`` sets).
    """
    name = settings.statuses.get(number, "open")
    if name in SOLVED:
        return name
    return settings.on_hold_status if on_hold else name


def priority_of(number: int | None, settings: Settings) -> str:
    """The canonical priority of a helpdesk priority (1 critical ... 5 very low)."""
    return settings.priorities.get(int(number or 3), "normal")


def author_of(*, public: bool, from_submitter: bool, staff: bool, has_user: bool) -> str:
    """Who wrote a follow-up, in slaengine's terms.

    The submitter (an e-mail with a message id, or a non-staff user) is the
    customer; a staff user an agent. A follow-up without a user is public
    only when it came in through the public ticket view, where django-helpdesk
    records no user, so it is the customer's; a private one is the system's.
    """
    if from_submitter:
        return "customer"
    if staff:
        return "agent"
    if not has_user and public:
        return "customer"
    return "system"


def iso(at: dt.datetime) -> str:
    """An aware instant as ISO 8601 UTC text (the event format wants an offset)."""
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}: enable USE_TZ")
    return at.astimezone(dt.UTC).isoformat()


def created_event(
    ticket: str,
    at: dt.datetime,
    snapshot: Snapshot,
    *,
    channel: str,
    customer: str | None,
    author: str | None,
) -> dict[str, Any]:
    """The ``created`` event; ``author`` ``None`` while the opening follow-up is awaited."""
    event: dict[str, Any] = {
        "id": "created",
        "ticket": ticket,
        "type": "created",
        "at": iso(at),
        "channel": channel,
        "priority": snapshot.priority,
    }
    if snapshot.status != "open":  # an open ticket starts as slaengine's default, new
        event["status"] = snapshot.status
    if snapshot.group:
        event["group"] = snapshot.group
    if snapshot.assignee:
        event["assignee"] = snapshot.assignee
    if customer:
        event["customer"] = customer
    if author is not None:
        event["author"] = author
    return event


def message_event(
    ticket: str, followup: int, at: dt.datetime, *, author: str, public: bool, agent: str | None
) -> dict[str, Any]:
    """A follow-up with text, as a ``message`` event identified by its primary key."""
    event: dict[str, Any] = {
        "id": f"followup-{followup}",
        "ticket": ticket,
        "type": "message",
        "at": iso(at),
        "author": author,
        "public": public,
    }
    if agent and author == "agent":
        event["agent"] = agent
    return event


def change_events(
    ticket: str, before: Snapshot, after: Snapshot, at: dt.datetime, number: int
) -> list[dict[str, Any]]:
    """The ``status`` and ``update`` events that turn ``before`` into ``after``.

    ``number`` is the ticket's change count, so the ids of one change are the
    same however often it is recorded.
    """
    events: list[dict[str, Any]] = []
    update: dict[str, Any] = {}
    if after.priority != before.priority:
        update["priority"] = after.priority
    if after.group != before.group:
        update["group"] = after.group
    if after.assignee != before.assignee:
        update["assignee"] = after.assignee
    if update:
        # Attributes first: a ticket reopened at a new priority runs at the new target.
        events.append(
            {"id": f"change-{number}-update", "ticket": ticket, "type": "update", "at": iso(at)}
            | update
        )
    if after.status != before.status:
        events.append(
            {
                "id": f"change-{number}-status",
                "ticket": ticket,
                "type": "status",
                "at": iso(at),
                "status": after.status,
            }
        )
    return events


__all__ = [
    "Snapshot",
    "author_of",
    "change_events",
    "created_event",
    "iso",
    "message_event",
    "priority_of",
    "status_of",
]
