"""Request bodies for a notification: slaengine's JSON, or a chat incoming-webhook message.

Chat bodies: Slack (``text`` and ``blocks``), Microsoft Teams (an Adaptive Card
in a ``message`` with an attachment) and Google Chat (``text`` and
``cardsV2``). Pure functions of a :class:`~slaengine.notifications.Notification`:
no I/O, no clock.
"""

from __future__ import annotations

import hashlib
import html
import json
from typing import Any

from slaengine.notifications import ESCALATION, SPIKE, WARNING, Notification, iso
from slaengine_webhook.config import GOOGLE_CHAT, JSON, SLACK, TEAMS

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


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


def _spike_line(n: Notification) -> str:
    # A spike is about a channel's volume, not a ticket.
    return (
        f"{n.count:,} {n.metric.replace('_', ' ')} on {n.channel} in the window, "
        f"about {n.expected:.1f} expected (rule {n.policy})"
    )


def summary(notification: Notification) -> str:
    """One readable line: kind, ticket, metric, policy and due instant (a spike: its volume)."""
    if notification.kind == SPIKE:
        return f"{_title(notification)}: {_spike_line(notification)}"
    due = iso(notification.due) or "no due time"
    return (
        f"{_title(notification)}: ticket {notification.ticket}, {notification.metric_text}, "
        f"policy {notification.policy or '-'}, due {due}"
    )


def _mrkdwn(text: str) -> str:
    """``text`` with the three characters Slack's mrkdwn reserves escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _metric_code(n: Notification) -> str:
    # The metric's name as code; a label its definition gives goes before it.
    code = f"`{_mrkdwn(n.metric)}`"
    return f"{_mrkdwn(n.metric_label)} {code}" if n.metric_label else code


def slack_body(notification: Notification, target: str) -> dict[str, Any]:
    """A Slack incoming-webhook message: ``text`` (the summary) plus ``blocks``.

    ``text`` is what notifications and clients without blocks show; the blocks
    set the same line with the ticket and metric as code, and a context line
    with the priority, the instant and the idempotency key.
    """
    n = notification
    due = iso(n.due) or "no due time"
    line = (
        f"*{_mrkdwn(_title(n))}*: {_mrkdwn(_spike_line(n))}"
        if n.kind == SPIKE
        else f"*{_mrkdwn(_title(n))}*: ticket `{_mrkdwn(n.ticket)}`, {_metric_code(n)}, "
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


def facts(notification: Notification, target: str) -> list[tuple[str, str]]:
    """The details a chat card lists under the summary, as (label, value) pairs."""
    n = notification
    if n.kind == SPIKE:
        return [
            ("Channel", n.channel),
            ("Measure", n.metric),
            ("Count in the window", f"{n.count:,}"),
            ("Expected", f"{n.expected:.1f}"),
            ("Rule", n.policy),
            ("Found at", iso(n.at) or "-"),
            ("Key", n.key),
            ("Target", target),
        ]
    return [
        ("Ticket", n.ticket),
        ("Metric", f"{n.metric_text} (clock {n.instance})"),
        ("Policy", n.policy or "-"),
        ("Priority", n.priority or "-"),
        ("Due", iso(n.due) or "no due time"),
        ("Reached at", iso(n.at) or "-"),
        ("Key", n.key),
        ("Target", target),
    ]


def teams_body(notification: Notification, target: str) -> dict[str, Any]:
    """A Microsoft Teams message: one Adaptive Card (a title, the summary, a fact set).

    The ``message`` envelope with an Adaptive Card attachment is what Teams
    incoming webhooks and Workflows "post to a channel when a webhook request
    is received" accept. Text is plain: Adaptive Card text cannot mention anyone.
    """
    n = notification
    card = {
        "$schema": ADAPTIVE_SCHEMA,
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {
                "type": "TextBlock",
                "text": _title(n),
                "weight": "Bolder",
                "size": "Medium",
                "color": "Attention" if n.kind != "achieved" else "Good",
                "wrap": True,
            },
            {"type": "TextBlock", "text": summary(n), "wrap": True},
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": value} for label, value in facts(n, target)],
            },
        ],
    }
    return {
        "type": "message",
        "summary": summary(n),
        "attachments": [{"contentType": ADAPTIVE_CARD, "contentUrl": None, "content": card}],
    }


def _chat_text(text: str) -> str:
    # Google Chat reads "<users/all>" in a message's text as a mention and
    # "<url|label>" as a link: angle brackets from ticket data must not do either.
    return text.replace("<", "\u2039").replace(">", "\u203a")


def google_chat_body(notification: Notification, target: str) -> dict[str, Any]:
    """A Google Chat incoming-webhook message: ``text`` (the summary) plus one card.

    The card (``cardsV2``) has the title as header and one ``decoratedText``
    widget per fact; card text is Google Chat's HTML subset, so values are
    HTML-escaped. ``cardId`` is derived from the idempotency key.
    """
    n = notification
    widgets = [
        {"decoratedText": {"topLabel": label, "text": html.escape(value), "wrapText": True}}
        for label, value in facts(n, target)
    ]
    card_id = "sla-" + hashlib.sha256(n.key.encode()).hexdigest()[:16]
    return {
        "text": _chat_text(summary(n)),
        "cardsV2": [
            {
                "cardId": card_id,
                "card": {
                    "header": {
                        "title": _title(n),
                        "subtitle": html.escape(
                            f"{n.channel} · {n.metric}"
                            if n.kind == SPIKE
                            else f"ticket {n.ticket} · {n.metric_text}"
                        ),
                    },
                    "sections": [{"widgets": widgets}],
                },
            }
        ],
    }


def render(notification: Notification, target: str, body_format: str = JSON) -> bytes:
    """The UTF-8 JSON body to POST to ``target`` in ``body_format`` (see ``FORMATS``)."""
    if body_format == SLACK:
        body = slack_body(notification, target)
    elif body_format == TEAMS:
        body = teams_body(notification, target)
    elif body_format == GOOGLE_CHAT:
        body = google_chat_body(notification, target)
    elif body_format == JSON:
        body = json_body(notification, target)
    else:
        raise ValueError(f"unknown body format {body_format!r}")
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


__all__ = [
    "event_name",
    "facts",
    "google_chat_body",
    "json_body",
    "render",
    "slack_body",
    "summary",
    "teams_body",
]
