"""Intercom webhook notifications about conversations, as canonical events.

Intercom posts a ``notification_event``: ``topic`` names what happened
(``conversation.user.replied``), ``data.item`` is the conversation. The
conversation carries the parts the notification is about under
``conversation_parts.conversation_parts`` (comments, notes, assignments,
closes, opens, snoozes); each part has its own id, so each becomes one event
with a stable id whichever notification brings it. The conversation's first
message is its ``source``, not a part.

Every notification about a conversation also yields the ticket's ``created``
event under the fixed id ``created``.

Signing: ``X-Hub-Signature`` is ``sha1=`` and the hex HMAC-SHA1 of the raw
body, keyed with the app's client secret. Intercom sends no timestamp, so
there is no replay window; a replayed notification repeats event ids and is
stored once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.inbox import Delivery, Inbox
from slaengine.inbox._common import (
    Event,
    Reader,
    digest,
    event,
    header,
    iso,
    refuse_unless,
    same_prefixed_hex,
    snake,
)

VENDOR = "intercom"
_READ = Reader(VENDOR)

# Intercom's ``source.type`` (how the conversation started) as slaengine channels.
CHANNELS = {
    "conversation": "chat",  # the Messenger on a website or in an app
    "email": "email",
    "facebook": "messenger",
    "instagram": "instagram",
    "twitter": "twitter",
    "whatsapp": "whatsapp",
    "sms": "sms",
    "phone_call": "phone",
    "phone_switch": "phone",
    "push": "push",
}
PRIORITIES = {"priority": "high", "not_priority": "normal"}
# ``source.delivered_as``: who opened the conversation. A custom bot greeting the
# visitor who opened the Messenger is the customer's request; campaigns and
# automated outbound messages are staff-opened.
OPENED_BY = {
    "customer_initiated": "customer",
    "operator_initiated": "customer",
    "admin_initiated": "agent",
    "campaigns_initiated": "agent",
    "automated": "agent",
}
# Authors of parts: contacts are customers; admins agents; Fin and bots bots.
AUTHORS = {
    "user": "customer",
    "lead": "customer",
    "contact": "customer",
    "admin": "agent",
    "team": "agent",
    "bot": "bot",
}
_MESSAGES = frozenset({"comment", "quick_reply"})
_NOTES = frozenset({"note", "note_and_reopen"})
_ASSIGNMENTS = frozenset(
    {
        "assignment",
        "default_assignment",
        "away_mode_assignment",
        "assign_and_reopen",
        "assign_and_unsnooze",
    }
)
_STATES = {
    "close": "solved",
    "open": "open",
    "snoozed": "pending",
    "unsnoozed": "open",
    "timer_unsnooze": "open",
    "note_and_reopen": "open",
    "assign_and_reopen": "open",
    "assign_and_unsnooze": "open",
}
_TOPICS = frozenset(
    {
        "conversation.user.created",
        "conversation.user.replied",
        "conversation.admin.replied",
        "conversation.admin.single.created",
        "conversation.admin.assigned",
        "conversation.admin.noted",
        "conversation.admin.closed",
        "conversation.admin.opened",
        "conversation.admin.snoozed",
        "conversation.admin.unsnoozed",
        "conversation.operator.replied",
        "conversation.priority.updated",
        "conversation.rating.added",
    }
)


def translate(payload: Mapping[str, Any]) -> Delivery:
    """One Intercom notification as canonical events."""
    topic = _READ.text(payload, "topic")
    if topic not in _TOPICS:
        return Delivery(ignored=topic)
    item = _READ.mapping(_READ.mapping(payload, "data"), "item", "data")
    first = created(item)
    ticket = first["ticket"]
    events = [first]
    if topic.endswith(".created"):
        events.append(source_message(item, ticket))
    if topic == "conversation.priority.updated":
        new = priority(item.get("priority"))
        at = _READ.instant(item, "updated_at", "data.item")
        events.append(event(ticket, at, "update", f"priority:{new}:{at}", priority=new))
    if topic == "conversation.rating.added":
        events.append(rating(item, ticket))
    parts = _READ.optional_mapping(item, "conversation_parts", "data.item")
    listed = parts.get("conversation_parts") or []
    if not isinstance(listed, list):
        raise _READ.error("data.item.conversation_parts.conversation_parts must be a list")
    for part in listed:
        events.extend(part_events(part, ticket))
    return Delivery(events=tuple(events))


def created(item: Mapping[str, Any]) -> Event:
    """The ticket's ``created`` event from the conversation."""
    source = _READ.mapping(item, "source", "data.item")
    contacts = _READ.optional_mapping(item, "contacts", "data.item").get("contacts") or []
    first_contact = contacts[0] if isinstance(contacts, list) and contacts else {}
    tags = _READ.optional_mapping(item, "tags", "data.item").get("tags") or []
    if not isinstance(tags, list):
        raise _READ.error("data.item.tags.tags must be a list")
    opened = _READ.optional_text(source, "delivered_as", "data.item.source")
    return event(
        _READ.ident(item, "id", "data.item"),
        _READ.instant(item, "created_at", "data.item"),
        "created",
        "created",
        channel=channel(_READ.optional_text(source, "type", "data.item.source") or "unknown"),
        priority=priority(item.get("priority")),
        customer=_READ.optional_ident(first_contact, "id", "data.item.contacts"),
        group=_READ.optional_ident(item, "team_assignee_id", "data.item"),
        assignee=_READ.optional_ident(item, "admin_assignee_id", "data.item"),
        tags=[_READ.text(tag, "name", "data.item.tags") for tag in tags] or None,
        author=OPENED_BY.get(opened) if opened else None,
    )


def source_message(item: Mapping[str, Any], ticket: str) -> Event:
    """The conversation's opening message (its ``source``)."""
    source = _READ.mapping(item, "source", "data.item")
    author = _READ.optional_mapping(source, "author", "data.item.source")
    kind = _author(author, "data.item.source.author")
    return event(
        ticket,
        _READ.instant(item, "created_at", "data.item"),
        "message",
        f"source:{_READ.ident(source, 'id', 'data.item.source')}",
        author=kind,
        agent=_READ.optional_ident(author, "id") if kind == "agent" else None,
    )


def part_events(part: object, ticket: str) -> list[Event]:
    """One conversation part as events (none for a part that is not about the ticket)."""
    where = "conversation_part"
    kind = _READ.text(part, "part_type", where)
    part_id = _READ.ident(part, "id", where)
    at = _READ.instant(part, "created_at", where)
    author = _READ.optional_mapping(part, "author", where)
    body = _READ.optional_text(part, "body", where)
    events: list[Event] = []
    if kind in _MESSAGES or (kind in _STATES and body):  # closing "with a message" replies
        who = _author(author, f"{where}.author")
        agent = _READ.optional_ident(author, "id") if who == "agent" else None
        events.append(event(ticket, at, "message", f"part:{part_id}", author=who, agent=agent))
    elif kind in _NOTES:
        agent = _READ.optional_ident(author, "id", f"{where}.author")
        note = event(ticket, at, "message", f"part:{part_id}", author="agent", agent=agent)
        events.append({**note, "public": False})
    if kind in _ASSIGNMENTS:
        update = _assignment(_READ.optional_mapping(part, "assigned_to", where))
        if update:
            events.append(event(ticket, at, "update", f"part:{part_id}:assignment", **update))
    if kind in _STATES:
        status = _STATES[kind]
        events.append(event(ticket, at, "status", f"part:{part_id}:status", status=status))
    return events


def _assignment(assigned_to: Mapping[str, Any]) -> dict[str, str]:
    target = _READ.optional_ident(assigned_to, "id", "assigned_to")
    kind = assigned_to.get("type")
    if target is None or kind == "nobody_admin":  # unassigning cannot be recorded
        return {}
    return {"group": target} if kind == "team" else {"assignee": target}


def _author(author: Mapping[str, Any], where: str) -> str:
    kind = _READ.text(author, "type", where)
    if kind not in AUTHORS:
        raise _READ.error(f"unknown {where}.type {kind!r}")
    return AUTHORS[kind]


def rating(item: Mapping[str, Any], ticket: str) -> Event:
    """The conversation's rating as a csat event."""
    rated = _READ.mapping(item, "conversation_rating", "data.item")
    score = _READ.value(rated, "rating", "data.item.conversation_rating")
    if isinstance(score, bool) or not isinstance(score, int | float):
        raise _READ.error("data.item.conversation_rating.rating must be a number")
    at = _READ.epoch(rated, "created_at", "data.item.conversation_rating")
    return event(ticket, iso(at), "csat", f"rating:{at}", score=score)


def channel(name: str) -> str:
    """An Intercom ``source.type`` as a slaengine channel."""
    return CHANNELS.get(name) or snake(name) or "unknown"


def priority(value: object) -> str:
    """Intercom's priority flag (``priority``/``not_priority``) as a slaengine priority."""
    return _READ.choice(PRIORITIES, value, "priority", "normal")


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: int) -> None:
    """Check ``X-Hub-Signature`` (HMAC-SHA1 of the exact body); Intercom sends no timestamp."""
    del now  # no timestamp to check: a replay repeats event ids and is stored once
    given = header(headers, "X-Hub-Signature", VENDOR)
    matches = same_prefixed_hex(digest(secret, body, "sha1"), given, "sha1=")
    refuse_unless(matches, VENDOR, "X-Hub-Signature")


INBOX = Inbox(
    name=VENDOR,
    description="Intercom app webhooks on conversation topics (replies, notes, states, ratings)",
    translate=translate,
    verify=verify,
)
