"""Request bodies for a notification: slaengine's JSON, or a Slack incoming-webhook message.

Pure functions of a :class:`~slaengine.notifications.Notification`: no I/O, no clock.
"""

from __future__ import annotations

import json
from typing import Any

from slaengine.notifications import ESCALATION, WARNING, Notification, iso
from slaengine_webhook.config import JSON, SLACK


def event_name(notification: Notification) -> str:
    """The body's ``event``: ``sla.`` and the kind (``sla.warning``, ``sla.breach`` ...)."""
    return f"sla.{notification.kind}"


def json_body(notification: Notification, target: str) -> dict[str, Any]:
    """The plain body: the event name, the notification and the target it was sent to."""
    return {
        "event": event_name(notification),
        "notification": notification.to_dict(),
        "target": target,
    }


def _title(notification: Notification) -> str:
    # Warnings and escalations are numbered; a breach or an achievement is single.
    if notification.kind in (WARNING, ESCALATION):
        return f"SLA {notification.kind} {notification.level}"
    return f"SLA {notification.kind}"


def summary(notification: Notification) -> str:
    """One readable line: kind, ticket, metric, policy and due instant."""
    due = iso(notification.due) or "no due time"
    return (
        f"{_title(notification)}: ticket {notification.ticket}, {notification.metric}, "
        f"policy {notification.policy or '-'}, due {due}"
    )


def _mrkdwn(text: str) -> str:
    """``text`` with the three characters Slack's mrkdwn reserves escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_body(notification: Notification, target: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the summary) plus ``blocks``.

    ``text`` is what notifications and clients without blocks show; the blocks
    set the same line with the ticket and metric as code, and a context line
    with the priority, the instant and the idempotency key.
    """
    n = notification
    due = iso(n.due) or "no due time"
    line = (
        f"*{_mrkdwn(_title(n))}*: ticket `{_mrkdwn(n.ticket)}`, `{_mrkdwn(n.metric)}`, "
        f"policy {_mrkdwn(n.policy or '-')}, due {due}"
    )
    context = (
        f"priority {_mrkdwn(n.priority or '-')} · at {iso(n.at)} · "
        f"key {_mrkdwn(n.key)} · target {_mrkdwn(target)}"
    )
    return {
        "text": summary(n),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": line}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": context}]},
        ],
    }


def render(notification: Notification, target: str, body_format: str = JSON) -> bytes:
    """The UTF-8 JSON body to POST to ``target`` in ``body_format`` (``json`` or ``slack``)."""
    if body_format == SLACK:
        body = slack_body(notification, target)
    elif body_format == JSON:
        body = json_body(notification, target)
    else:
        raise ValueError(f"unknown body format {body_format!r}")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


__all__ = ["event_name", "json_body", "render", "slack_body", "summary"]
