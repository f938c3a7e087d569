"""Zendesk webhooks subscribed to ticket events, as canonical events.

A Zendesk webhook subscribed to Zendesk events posts one object per event:
``type`` (``zen:event-type:ticket.comment_added``), ``id`` (the event's id),
``time`` (when it happened), ``detail`` (the ticket after the change) and
``event`` (what changed: ``current``/``previous``, or the ``comment``). The
ticket id is ``detail.id``.

Every ticket event also yields the ticket's ``created`` event (from
``detail``) under the fixed id ``created``, so the first delivery to arrive
creates the ticket and a missed ``ticket.created`` orphans nothing.

Signing: ``X-Zendesk-Webhook-Signature`` is the base64 HMAC-SHA256 of
``X-Zendesk-Webhook-Signature-Timestamp`` followed directly by the raw body,
keyed with the webhook's signing secret.
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
    same_base64,
    snake,
)

VENDOR = "zendesk"
_READ = Reader(VENDOR)
_PREFIX = "zen:event-type:"

# Zendesk's ``via.channel`` values as slaengine channels; others keep their name.
CHANNELS = {
    "web": "web",
    "web_form": "web",
    "web_widget": "web",
    "helpcenter": "web",
    "mail": "email",
    "email": "email",
    "chat": "chat",
    "chat_transcript": "chat",
    "chat_offline_message": "chat",
    "native_messaging": "chat",
    "whatsapp": "whatsapp",
    "facebook_message": "messenger",
    "sunshine_conversations_facebook_messenger": "messenger",
    "facebook_post": "facebook",
    "instagram_dm": "instagram",
    "twitter": "twitter",
    "twitter_dm": "twitter",
    "twitter_favorite": "twitter",
    "sunshine_conversations_twitter_dm": "twitter",
    "wechat": "wechat",
    "sms": "sms",
    "text_message": "sms",
    "twilio_sms": "sms",
    "messagebird_sms": "sms",
    "connect_sms": "sms",
    "voice": "phone",
    "voicemail": "phone",
    "phone_call_inbound": "phone",
    "phone_call_outbound": "phone",
    "api_phone_call_inbound": "phone",
    "api_phone_call_outbound": "phone",
    "api_voicemail": "phone",
    "web_service": "api",
    "api": "api",
}
PRIORITIES = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}
# Zendesk's status categories; a deleted, archived or scrubbed ticket stops its clocks.
STATUSES = {
    "new": "new",
    "open": "open",
    "pending": "pending",
    "hold": "on_hold",
    "solved": "solved",
    "closed": "closed",
    "deleted": "closed",
    "archived": "closed",
    "scrubbed": "closed",
}


def translate(payload: Mapping[str, Any]) -> Delivery:
    """One Zendesk ticket-event payload as canonical events."""
    kind = _READ.text(payload, "type")
    if not kind.startswith(_PREFIX + "ticket."):
        return Delivery(ignored=kind)
    name = kind.removeprefix(_PREFIX + "ticket.")
    detail = _READ.mapping(payload, "detail")
    first = created(detail)
    if name == "created":
        return Delivery(events=(first,))
    change = _change(payload, name, detail, first["ticket"])
    if change is None:
        return Delivery(ignored=kind)
    return Delivery(events=(first, change))


def _change(
    payload: Mapping[str, Any], name: str, detail: Mapping[str, Any], ticket: str
) -> Event | None:
    if name not in _HANDLED:
        return None
    at = _READ.instant(payload, "time")
    change_id = f"{name}:{_READ.ident(payload, 'id')}"
    body = _READ.mapping(payload, "event")
    if name == "comment_added":
        return comment(_READ.mapping(body, "comment", "event"), detail, ticket, at)
    if name == "status_changed":
        new = status(_READ.text(body, "current", "event"))
        return event(ticket, at, "status", change_id, status=new)
    if name == "priority_changed":
        return event(ticket, at, "update", change_id, priority=priority(body.get("current")))
    if name == "agent_assignment_changed":
        agent = _READ.optional_ident(body, "current", "event")
        # An unassignment cannot be recorded (updates only set), so it is ignored.
        return event(ticket, at, "update", change_id, assignee=agent) if agent else None
    if name == "group_assignment_changed":
        group = _READ.optional_ident(body, "current", "event")
        return event(ticket, at, "update", change_id, group=group) if group else None
    return event(
        ticket, at, "update", change_id, tags=_READ.tags(detail.get("tags"), "detail.tags")
    )


_HANDLED = frozenset(
    {
        "comment_added",
        "status_changed",
        "priority_changed",
        "agent_assignment_changed",
        "group_assignment_changed",
        "tags_changed",
    }
)


def created(detail: Mapping[str, Any]) -> Event:
    """The ticket's ``created`` event from the event's ``detail`` (the ticket)."""
    via = _READ.optional_mapping(detail, "via", "detail")
    requester = _READ.optional_ident(detail, "requester_id", "detail")
    submitter = _READ.optional_ident(detail, "submitter_id", "detail")
    return event(
        _READ.ident(detail, "id", "detail"),
        _READ.instant(detail, "created_at", "detail"),
        "created",
        "created",
        channel=channel(_READ.optional_text(via, "channel", "detail.via") or "unknown"),
        priority=priority(detail.get("priority")),
        customer=requester,
        group=_READ.optional_ident(detail, "group_id", "detail"),
        assignee=_READ.optional_ident(detail, "assignee_id", "detail"),
        tags=_READ.tags(detail.get("tags"), "detail.tags") or None,
        # The requester opening their own ticket is the usual case; an agent
        # submitting for someone else is staff-created.
        author=(None if not (requester and submitter) else
                "customer" if requester == submitter else "agent"),
    )  # fmt: skip


def comment(body: Mapping[str, Any], detail: Mapping[str, Any], ticket: str, at: str) -> Event:
    """A ticket comment as a message; a private comment is an internal note."""
    author = _READ.optional_mapping(body, "author", "event.comment")
    author_id = _READ.optional_ident(author, "id", "event.comment.author")
    staff = author.get("is_staff")
    if not isinstance(staff, bool):  # older payloads: whoever is not the requester is staff
        staff = author_id is not None and author_id != _READ.optional_ident(detail, "requester_id")
    return event(
        ticket,
        at,
        "message",
        f"comment:{_READ.ident(body, 'id', 'event.comment')}",
        author="agent" if staff else "customer",
        public=_READ.flag(body, "is_public", "event.comment"),
        agent=author_id if staff else None,
    )


def channel(name: str) -> str:
    """A Zendesk ``via.channel`` as a slaengine channel."""
    return CHANNELS.get(name.lower()) or snake(name) or "unknown"


def priority(value: object) -> str:
    """A Zendesk priority (any case; none is normal) as a slaengine priority."""
    return _READ.choice(PRIORITIES, value, "priority", "normal")


def status(value: str) -> str:
    """A Zendesk status (any case) as a slaengine status."""
    return _READ.choice(STATUSES, value, "status")


def verify(body: bytes, headers: Mapping[str, str], secret: str, now: int) -> None:
    """Check ``X-Zendesk-Webhook-Signature`` over the timestamp and the exact body."""
    check_timestamped(
        body,
        headers,
        secret,
        now,
        VENDOR,
        timestamp="X-Zendesk-Webhook-Signature-Timestamp",
        signature="X-Zendesk-Webhook-Signature",
        separator=b"",
        matches=same_base64,
    )


INBOX = Inbox(
    name=VENDOR,
    description="Zendesk webhooks subscribed to ticket events (comments, status, assignment)",
    translate=translate,
    verify=verify,
)
