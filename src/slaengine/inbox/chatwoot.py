"""Chatwoot webhooks as canonical events.

Chatwoot posts one JSON object per event, named by its ``event`` key. The
conversation events (``conversation_created``, ``conversation_status_changed``,
``conversation_updated``) carry the conversation itself; ``message_created``
carries the message with its conversation under ``conversation``. A
conversation's ``id`` is the number shown in the dashboard (its display id) in
both shapes, so it is the ticket id.

Every delivery that carries a conversation also yields the ticket's
``created`` event under the fixed id ``created``: the first delivery to arrive
creates the ticket and the others are duplicates, so a lost or late
``conversation_created`` does not orphan the messages.

Signing (Chatwoot 4.x, per webhook secret): ``X-Chatwoot-Timestamp`` is epoch
seconds and ``X-Chatwoot-Signature`` is ``sha256=`` and the hex HMAC-SHA256 of
``{timestamp}.{raw body}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.inbox import Delivery, Inbox
from slaengine.inbox._common import (
    Event,
    Reader,
    check_timestamped,
    event,
    same_prefixed_hex,
    snake,
)

VENDOR = "chatwoot"
_READ = Reader(VENDOR)

# Chatwoot's inbox channel types (``conversation.channel``) as slaengine channels.
CHANNELS = {
    "Channel::WebWidget": "chat",
    "Channel::Email": "email",
    "Channel::Whatsapp": "whatsapp",
    "Channel::FacebookPage": "messenger",
    "Channel::Instagram": "instagram",
    "Channel::TwitterProfile": "twitter",
    "Channel::TwilioSms": "sms",
    "Channel::Sms": "sms",
    "Channel::Telegram": "telegram",
    "Channel::Line": "line",
    "Channel::Api": "api",
    "Channel::Voice": "phone",
}
# Chatwoot priorities; a conversation without one (null) is normal.
PRIORITIES = {"urgent": "urgent", "high": "high", "medium": "normal", "low": "low"}
# Chatwoot statuses. "pending" is a conversation the bot still handles (not yet
# offered to agents); "snoozed" is parked by an agent until a time or a reply.
STATUSES = {"open": "open", "resolved": "solved", "pending": "new", "snoozed": "pending"}

_CONVERSATION_EVENTS = frozenset(
    {"conversation_status_changed", "conversation_opened", "conversation_resolved"}
)


def translate(payload: Mapping[str, Any]) -> Delivery:
    """One Chatwoot webhook payload as canonical events."""
    kind = _READ.text(payload, "event")
    if kind == "conversation_created":
        return Delivery(events=(created(payload),))
    if kind in _CONVERSATION_EVENTS:
        return Delivery(events=(created(payload), status_event(payload)))
    if kind == "conversation_updated":
        changes = changed_events(payload)
        if not changes:
            return Delivery(ignored=f"{kind} (no status, priority, team or assignee change)")
        return Delivery(events=(created(payload), *changes))
    if kind == "message_created":
        conversation = _READ.mapping(payload, "conversation")
        message = message_event(payload, ticket_id(conversation))
        if message is None:
            return Delivery(ignored=f"{kind} ({payload.get('message_type')})")
        return Delivery(events=(created(conversation), message))
    if kind == "message_updated" and payload.get("content_type") == "input_csat":
        conversation = _READ.mapping(payload, "conversation")
        rating = csat_event(payload, conversation)
        if rating is not None:
            return Delivery(events=(created(conversation), rating))
    return Delivery(ignored=kind)


def ticket_id(conversation: Mapping[str, Any]) -> str:
    """The conversation's display id."""
    return _READ.ident(conversation, "id", "conversation")


def created(conversation: Mapping[str, Any]) -> Event:
    """The ticket's ``created`` event from a conversation object."""
    meta = _READ.optional_mapping(conversation, "meta", "conversation")
    sender = _READ.optional_mapping(meta, "sender", "conversation.meta")
    team = _READ.optional_mapping(meta, "team", "conversation.meta")
    assignee = _READ.optional_mapping(meta, "assignee", "conversation.meta")
    labels = conversation.get("labels")
    return event(
        ticket_id(conversation),
        _READ.instant(conversation, "created_at", "conversation"),
        "created",
        "created",
        channel=channel(_READ.text(conversation, "channel", "conversation")),
        priority=priority(conversation.get("priority")),
        customer=(
            _READ.optional_text(sender, "email", "sender")
            or _READ.optional_text(sender, "phone_number", "sender")
            or _READ.optional_ident(sender, "id", "sender")
        ),
        group=_READ.optional_text(team, "name", "conversation.meta.team"),
        assignee=_READ.optional_ident(assignee, "id", "conversation.meta.assignee"),
        tags=_READ.tags(labels, "labels") or None,
    )


def channel(name: str) -> str:
    """A Chatwoot channel type as a slaengine channel (unknown: its own name)."""
    return CHANNELS.get(name) or snake(name.removeprefix("Channel::")) or "unknown"


def priority(value: object) -> str:
    """A Chatwoot priority as a slaengine priority (none is normal)."""
    return _READ.choice(PRIORITIES, value, "priority", "normal")


def status(value: str) -> str:
    """A Chatwoot status as a slaengine status."""
    return _READ.choice(STATUSES, value, "status")


def _changed_at(conversation: Mapping[str, Any]) -> str:
    # ``updated_at`` moves with every change; older releases send only
    # ``timestamp`` (the last activity), which is the change for these events.
    key = "updated_at" if conversation.get("updated_at") else "timestamp"
    return _READ.instant(conversation, key, "conversation")


def status_event(conversation: Mapping[str, Any]) -> Event:
    """The conversation's current status as a status event."""
    new = status(_READ.text(conversation, "status", "conversation"))
    at = _changed_at(conversation)
    return event(ticket_id(conversation), at, "status", f"status:{new}:{at}", status=new)


def changed_events(conversation: Mapping[str, Any]) -> list[Event]:
    """Events for the attributes a ``conversation_updated`` delivery names as changed."""
    changes = conversation.get("changed_attributes") or []
    if not isinstance(changes, list):
        raise _READ.error("changed_attributes must be a list")
    names: set[str] = set()
    for change in changes:
        if not isinstance(change, Mapping):
            raise _READ.error("changed_attributes must hold objects")
        names.update(change)
    ticket = ticket_id(conversation)
    at = _changed_at(conversation)
    meta = _READ.optional_mapping(conversation, "meta", "conversation")
    events: list[Event] = []
    if "status" in names:
        events.append(status_event(conversation))
    if "priority" in names:
        new = priority(conversation.get("priority"))
        events.append(event(ticket, at, "update", f"priority:{new}:{at}", priority=new))
    if "team_id" in names:
        team = _READ.optional_text(_READ.optional_mapping(meta, "team"), "name", "meta.team")
        if team is not None:  # removing the team cannot be recorded: updates only set
            events.append(event(ticket, at, "update", f"group:{team}:{at}", group=team))
    if "assignee_id" in names:
        agent = _READ.optional_ident(_READ.optional_mapping(meta, "assignee"), "id", "assignee")
        if agent is not None:
            events.append(event(ticket, at, "update", f"assignee:{agent}:{at}", assignee=agent))
    if "label_list" in names:
        tags = _READ.tags(conversation.get("labels"), "labels")
        events.append(event(ticket, at, "update", f"tags:{at}", tags=tags))
    return events


def message_event(message: Mapping[str, Any], ticket: str) -> Event | None:
    """A message as a message event; ``None`` for activity lines (not a message)."""
    kind = _READ.text(message, "message_type")
    sender = _READ.optional_mapping(message, "sender")
    sender_type = sender.get("type")
    public = not _READ.flag(message, "private", default=False)
    agent = None
    if kind == "activity":
        return None
    if kind == "incoming":
        author = "customer"
    elif kind == "template":
        author = "bot"  # forms and cards Chatwoot sends itself
    elif kind == "outgoing":
        if sender_type == "user":
            author, agent = "agent", _READ.optional_ident(sender, "id", "sender")
        else:  # an agent bot, an assistant, or an automation without sender
            author = "bot"
    else:
        raise _READ.error(f"unknown message_type {kind!r}")
    return event(
        ticket,
        _READ.instant(message, "created_at"),
        "message",
        f"message:{_READ.ident(message, 'id')}",
        author=author,
        public=public,
        agent=agent,
    )


def csat_event(message: Mapping[str, Any], conversation: Mapping[str, Any]) -> Event | None:
    """The rating a customer gave in the CSAT survey message, once they answered it."""
    attributes = _READ.optional_mapping(message, "content_attributes")
    submitted = _READ.optional_mapping(attributes, "submitted_values", "content_attributes")
    answer = _READ.optional_mapping(submitted, "csat_survey_response", "submitted_values")
    rating = answer.get("rating")
    if rating is None:  # the survey was sent, not answered yet
        return None
    if isinstance(rating, bool) or not isinstance(rating, int | float):
        raise _READ.error("csat_survey_response.rating must be a number")
    # Answering the survey updates the message, which touches the conversation.
    return event(
        ticket_id(conversation),
        _changed_at(conversation),
        "csat",
        f"csat:{_READ.ident(message, 'id')}",
        score=rating,
    )


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: int) -> None:
    """Check ``X-Chatwoot-Signature`` over the timestamp and the exact body."""
    check_timestamped(
        body,
        headers,
        secret,
        now,
        VENDOR,
        timestamp="X-Chatwoot-Timestamp",
        signature="X-Chatwoot-Signature",
        separator=b".",
        matches=lambda expected, given: same_prefixed_hex(expected, given, "sha256="),
    )


INBOX = Inbox(
    name=VENDOR,
    description="Chatwoot account or API-inbox webhooks (conversations, messages, notes)",
    translate=translate,
    verify=verify,
)
