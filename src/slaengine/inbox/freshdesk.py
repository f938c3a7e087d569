"""Freshdesk automation-rule webhooks as canonical events.

Freshdesk has no fixed webhook payload: an automation rule's "Trigger
webhook" action posts the JSON its author writes, filled in from
placeholders. slaengine reads the object documented in docs/integrations.md::

    {"ticket_id": "{{ticket.id}}", "triggered_event": "{{triggered_event}}",
     "at": "{{ticket.modified_on}}", "created_at": "{{ticket.created_on}}",
     "time_zone": "Europe/Berlin", "actor": "agent", "status": "{{ticket.status}}",
     "priority": "{{ticket.priority}}", "source": "{{ticket.source}}",
     "group": "{{ticket.group.name}}", "agent": "{{ticket.agent.email}}",
     "requester": "{{ticket.requester.email}}", "tags": "{{ticket.tags}}"}

``triggered_event`` says what fired the rule, in Freshdesk's unquoted form:
``{ticket_action:created}``, ``{status:{from:Open,to:Pending}}``,
``{note_type:private}``, ``{reply_sent:sent}``... A rule that runs on ticket
creation has no triggering event (empty): the ticket was created. Freshdesk
names no author for a reply, so a rule on "Reply is sent" is set up once per
performer, with ``"actor": "agent"`` or ``"actor": "customer"`` written in.

Freshdesk renders times in the helpdesk's time zone without an offset, so the
payload names that zone in ``time_zone``. Freshdesk gives no id for a note or
a reply: an event's id is made of its kind and instant, so a repeated webhook
is a duplicate (two notes in the same second would be taken for one).

Freshdesk does not sign its webhooks: authenticate them with the bearer token
(a custom ``Authorization`` header in the rule) or the ``?token=`` parameter.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from slaengine.inbox import Delivery, Inbox
from slaengine.inbox._common import Event, Reader, event, snake

VENDOR = "freshdesk"
_READ = Reader(VENDOR, '; name the helpdesk time zone as "time_zone" in the webhook content')

# ``{{ticket.source}}`` renders the source's name (or, in some accounts, its number).
CHANNELS = {
    "email": "email",
    "outbound_email": "email",
    "portal": "web",
    "feedback_widget": "web",
    "phone": "phone",
    "chat": "chat",
    "mobihelp": "chat",
    "twitter": "twitter",
    "facebook": "messenger",
    "whatsapp": "whatsapp",
    "instagram": "instagram",
    "1": "email",
    "2": "web",
    "3": "phone",
    "7": "chat",
    "9": "web",
    "10": "email",
}
PRIORITIES = {"low": "low", "medium": "normal", "high": "high", "urgent": "urgent"}
PRIORITIES |= {"1": "low", "2": "normal", "3": "high", "4": "urgent"}
# Freshdesk's built-in statuses; a custom status keeps its name (as a word) for
# the policy files' ``statuses`` mapping.
STATUSES = {
    "open": "open",
    "pending": "pending",
    "resolved": "solved",
    "closed": "closed",
    "waiting_on_customer": "pending",
    "waiting_on_third_party": "on_hold",
}
ACTORS = {"agent": "agent", "customer": "customer", "requester": "customer"}
# "{status:{from:Open,to:Pending}}" -> ("status", "Pending"); "{note_type:private}" -> both.
_TRIGGER = re.compile(r"\{\s*(\w+)\s*:\s*(?:\{.*?to\s*:\s*([^,}]*)\s*\}|([^{},]*))\s*\}")


def translate(payload: Mapping[str, Any]) -> Delivery:
    """One Freshdesk rule webhook (slaengine's documented content) as canonical events."""
    trigger = payload.get("triggered_event") if isinstance(payload, Mapping) else None
    if trigger is not None and not isinstance(trigger, str):
        raise _READ.error("triggered_event must be a string")
    first = created(payload)
    name, value = _trigger(trigger or "")
    if name in ("", "ticket_action"):
        if name and value != "created":
            return Delivery(ignored=f"ticket_action:{value}")
        return Delivery(events=(first,))
    change = _change(payload, name, value, first["ticket"])
    if change is None:
        return Delivery(ignored=name)
    return Delivery(events=(first, change))


def _trigger(text: str) -> tuple[str, str]:
    text = text.strip()
    if not text:
        return "", ""
    found = _TRIGGER.fullmatch(text)
    if found is None:
        raise _READ.error(f"triggered_event is not Freshdesk's form: {text!r}")
    return found.group(1), (found.group(2) or found.group(3) or "").strip()


def _change(payload: Mapping[str, Any], name: str, value: str, ticket: str) -> Event | None:
    at = _READ.instant(payload, "at", zone=_zone(payload))
    if name == "status":
        new = status(_READ.optional_text(payload, "status") or value)
        return event(ticket, at, "status", f"status:{new}:{at}", status=new)
    if name == "priority":
        new = priority(_READ.optional_text(payload, "priority") or value)
        return event(ticket, at, "update", f"priority:{new}:{at}", priority=new)
    if name == "group_id":
        group = _READ.optional_text(payload, "group")
        return event(ticket, at, "update", f"group:{group}:{at}", group=group) if group else None
    if name == "responder_id":
        agent = _READ.optional_text(payload, "agent")
        return event(ticket, at, "update", f"agent:{agent}:{at}", assignee=agent) if agent else None
    if name == "note_type":
        # Freshdesk counts a public note as a response; a private note is internal.
        public = value == "public"
        kind = "public" if public else "private"
        return event(ticket, at, "message", f"note:{kind}:{at}", author="agent", public=public)
    if name == "reply_sent":
        actor = _READ.optional_text(payload, "actor")
        if actor not in ACTORS:
            raise _READ.error(
                'a reply needs "actor": "agent" or "actor": "customer" in the webhook '
                "content (Freshdesk does not say who replied; set up one rule per performer)"
            )
        author = ACTORS[actor]
        agent = _READ.optional_text(payload, "agent") if author == "agent" else None
        return event(ticket, at, "message", f"reply:{author}:{at}", author=author, agent=agent)
    return None


def created(payload: Mapping[str, Any]) -> Event:
    """The ticket's ``created`` event from the ticket fields in the payload."""
    return event(
        _READ.ident(payload, "ticket_id"),
        _READ.instant(payload, "created_at", zone=_zone(payload)),
        "created",
        "created",
        channel=channel(_READ.optional_ident(payload, "source") or "unknown"),
        priority=priority(_READ.optional_ident(payload, "priority") or "medium"),
        customer=_READ.optional_text(payload, "requester"),
        group=_READ.optional_text(payload, "group"),
        assignee=_READ.optional_text(payload, "agent"),
        tags=[tag.strip() for tag in _tags(payload) if tag.strip()] or None,
    )


def _tags(payload: Mapping[str, Any]) -> list[str]:
    # ``{{ticket.tags}}`` renders as one comma-separated string.
    value = payload.get("tags")
    if isinstance(value, str):
        return value.split(",")
    return _READ.tags(value, "tags")


def _zone(payload: Mapping[str, Any]) -> dt.tzinfo | None:
    name = _READ.optional_text(payload, "time_zone")
    return _READ.zone(name, "time_zone") if name else None


def channel(name: str) -> str:
    """A Freshdesk ticket source as a slaengine channel."""
    return CHANNELS.get(snake(name)) or snake(name) or "unknown"


def priority(value: str) -> str:
    """A Freshdesk priority (name or number) as a slaengine priority."""
    if snake(value) not in PRIORITIES:
        raise _READ.error(f"unknown priority {value!r}; expected Low, Medium, High or Urgent")
    return PRIORITIES[snake(value)]


def status(value: str) -> str:
    """A Freshdesk status name as a slaengine status (a custom one as a word)."""
    word = snake(value)
    if not word:
        raise _READ.error("status must not be empty")
    return STATUSES.get(word, word)


INBOX = Inbox(
    name=VENDOR,
    description="Freshdesk automation-rule webhooks (unsigned: use the bearer or ?token=)",
    translate=translate,
)
