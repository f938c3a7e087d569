"""Front webhooks (application and rule webhooks) as canonical events.

Front describes what happened with an event object (its Events API): ``id``,
``type`` (``inbound``, ``outbound``, ``comment``, ``assign``, ``archive``...),
``emitted_at`` (epoch seconds), ``conversation``, and a ``target`` whose
``_meta.type`` says what ``data`` holds (a message, a comment, a teammate,
inboxes). A rule webhook posts the event itself; an application webhook wraps
it as ``{"type": "inbound_received", "authorization": {...}, "payload": event}``.

Every event about a conversation also yields the ticket's ``created`` event
under the fixed id ``created``. Front sends no conversation-created event: the
conversation's first message normally arrives first and names the channel;
when another event arrives first the channel is ``unknown``. Front has no
ticket priority, so tickets are ``normal``.

Signing: an application webhook's ``X-Front-Signature`` is the base64
HMAC-SHA256 of ``{X-Front-Request-Timestamp}:{raw body}`` (the timestamp in
milliseconds) keyed with the app's signing key; a rule webhook's is the base64
HMAC-SHA1 of the raw body keyed with the API secret, without a timestamp.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from slaengine.inbox import Delivery, Inbox
from slaengine.inbox._common import (
    Event,
    Reader,
    check_timestamped,
    digest,
    event,
    header,
    refuse_unless,
    same_base64,
    snake,
)

VENDOR = "front"
_READ = Reader(VENDOR)

# Front message types (``message.type``) as slaengine channels.
CHANNELS = {
    "email": "email",
    "tweet": "twitter",
    "twitter": "twitter",
    "twitter_dm": "twitter",
    "sms": "sms",
    "facebook": "messenger",
    "instagram": "instagram",
    "whatsapp": "whatsapp",
    "yalo_wha": "whatsapp",
    "smooch": "chat",
    "intercom": "chat",
    "front_chat": "chat",
    "call": "phone",
    "phone_call": "phone",
}
# Event types, as the Events API names them and as application webhooks name them.
_MESSAGES = frozenset({"inbound", "outbound", "out_reply", "inbound_received", "outbound_sent"})
_COMMENTS = frozenset({"comment", "mention", "new_comment_added"})
_ASSIGNS = frozenset({"assign", "assignee_changed"})
_MOVES = frozenset({"move", "conversation_moved"})
_TAGS = frozenset({"tag", "untag", "tag_added", "tag_removed"})
_STATUSES = {
    "archive": "solved",
    "conversation_archived": "solved",
    "reopen": "open",
    "conversation_reopened": "open",
    "restore": "open",
    "conversation_restored": "open",
    "reminder": "open",
    "conversation_snooze_expired": "open",
    "snooze": "pending",
    "conversation_snoozed": "pending",
    "trash": "closed",
    "conversation_deleted": "closed",
}


def translate(payload: Mapping[str, Any]) -> Delivery:
    """One Front webhook body (application envelope or rule event) as canonical events."""
    kind = _READ.text(payload, "type")
    if "payload" in payload:  # an application webhook's envelope
        if kind == "sync":  # the check Front sends when the webhook is saved
            return Delivery(ignored=kind)
        payload = _READ.mapping(payload, "payload")
        kind = _READ.text(payload, "type", "payload")
    handled = _MESSAGES | _COMMENTS | _ASSIGNS | _MOVES | _TAGS | _STATUSES.keys()
    if kind not in handled:
        return Delivery(ignored=kind)
    conversation = _READ.mapping(payload, "conversation")
    target = _READ.optional_mapping(payload, "target")
    data = target.get("data")
    message = data if kind in _MESSAGES and isinstance(data, Mapping) else None
    change = _change(payload, kind, conversation, data)
    if change is None:
        return Delivery(ignored=f"{kind} ({_ignored_why(kind)})")
    return Delivery(events=(created(conversation, message), change))


def _change(
    payload: Mapping[str, Any], kind: str, conversation: Mapping[str, Any], data: object
) -> Event | None:
    ticket = _READ.ident(conversation, "id", "conversation")
    event_id = _READ.ident(payload, "id")
    if kind in _MESSAGES or kind in _COMMENTS:
        body = _READ.mapping(_READ.mapping(payload, "target"), "data", "target")
        if kind in _COMMENTS:
            return comment_event(body, ticket)
        draft = _READ.flag(body, "is_draft", "target.data", False)
        return None if draft else message_event(body, ticket)
    at = _READ.instant(payload, "emitted_at")
    if kind in _ASSIGNS:
        teammate = _READ.optional_ident(data, "id", "target.data")
        return event(ticket, at, "update", event_id, assignee=teammate) if teammate else None
    if kind in _MOVES:
        inboxes = data if isinstance(data, list) else [data]
        inbox = _READ.optional_ident(inboxes[0] if inboxes else None, "id", "target.data")
        return event(ticket, at, "update", event_id, group=inbox) if inbox else None
    if kind in _TAGS:
        return event(ticket, at, "update", event_id, tags=_tag_names(conversation))
    return event(ticket, at, "status", event_id, status=_STATUSES[kind])


def _ignored_why(kind: str) -> str:
    if kind in _MESSAGES:
        return "draft"
    return "unassigned" if kind in _ASSIGNS else "no inbox"


def created(conversation: Mapping[str, Any], message: Mapping[str, Any] | None) -> Event:
    """The ticket's ``created`` event from the conversation (and the message, for its channel)."""
    recipient = _READ.optional_mapping(conversation, "recipient", "conversation")
    assignee = _READ.optional_mapping(conversation, "assignee", "conversation")
    kind = _READ.optional_text(message, "type", "target.data") if message else None
    tags = _tag_names(conversation)
    return event(
        _READ.ident(conversation, "id", "conversation"),
        _READ.instant(conversation, "created_at", "conversation"),
        "created",
        "created",
        channel=channel(kind or "unknown"),
        priority="normal",
        customer=_READ.optional_text(recipient, "handle", "conversation.recipient"),
        assignee=_READ.optional_ident(assignee, "id", "conversation.assignee"),
        tags=tags or None,
    )


def message_event(message: Mapping[str, Any], ticket: str) -> Event:
    """A message: inbound from the customer, outbound from a teammate (or automation)."""
    inbound = _READ.flag(message, "is_inbound", "target.data")
    author = _READ.optional_mapping(message, "author", "target.data")
    teammate = _READ.optional_ident(author, "id", "target.data.author")
    # An outbound message without a teammate was sent by a rule or through the API.
    who = "customer" if inbound else "agent" if teammate else "bot"
    return event(
        ticket,
        _READ.instant(message, "created_at", "target.data"),
        "message",
        _READ.ident(message, "id", "target.data"),
        author=who,
        agent=teammate if who == "agent" else None,
    )


def comment_event(comment: Mapping[str, Any], ticket: str) -> Event:
    """A teammate's comment: an internal note, never a reply."""
    author = _READ.optional_mapping(comment, "author", "target.data")
    return event(
        ticket,
        _READ.instant(comment, "posted_at", "target.data"),
        "message",
        _READ.ident(comment, "id", "target.data"),
        author="agent",
        public=False,
        agent=_READ.optional_ident(author, "id", "target.data.author"),
    )


def _tag_names(conversation: Mapping[str, Any]) -> list[str]:
    tags = conversation.get("tags") or []
    if not isinstance(tags, list):
        raise _READ.error("conversation.tags must be a list")
    return [_READ.text(tag, "name", "conversation.tags") for tag in tags]


def channel(name: str) -> str:
    """A Front message type as a slaengine channel."""
    return CHANNELS.get(name) or snake(name) or "unknown"


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: int) -> None:
    """Check ``X-Front-Signature``: application webhooks with a timestamp, rule webhooks without."""
    given = header(headers, "X-Front-Signature", VENDOR)
    if not headers.get("x-front-request-timestamp"):  # a rule webhook
        refuse_unless(same_base64(digest(secret, body, "sha1"), given), VENDOR, "X-Front-Signature")
        return
    check_timestamped(
        body,
        headers,
        secret,
        now,
        VENDOR,
        timestamp="X-Front-Request-Timestamp",
        signature="X-Front-Signature",
        separator=b":",
        matches=same_base64,
        millis=True,
    )


def handshake(headers: Mapping[str, str]) -> Mapping[str, Any] | None:
    """Front's check when an application webhook is saved: echo ``X-Front-Challenge``."""
    challenge = headers.get("x-front-challenge")
    return {"challenge": challenge} if challenge else None


INBOX = Inbox(
    name=VENDOR,
    description="Front application or rule webhooks (messages, comments, assignment, archive)",
    translate=translate,
    verify=verify,
    handshake=handshake,
)
