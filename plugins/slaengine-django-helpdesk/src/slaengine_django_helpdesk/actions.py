# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""Write-back: the policy's actions performed on the helpdesk ticket, exactly once.

A policy's warning or escalation lists ``actions`` (``set_priority``,
``assign`` to a group, i.e. a queue, and/or an agent, ``internal_note``;
``add_tag`` has no counterpart in django-helpdesk and is skipped with a log
line). The live engine hands the notification to this performer through its
outbox. All changes go through django-helpdesk's own ``update_ticket``, so they
show in the ticket's history as one internal follow-up with its change records.

Exactly once: the changes and the :class:`~.models.SlaAction` row keyed by the
notification key commit in one transaction; a delivery repeated after a crash
finds the row and does nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db import transaction
from helpdesk.models import Queue, Ticket
from helpdesk.update_ticket import update_ticket

from slaengine.notifications import Notification
from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.models import SlaAction

PERFORMER = "django-helpdesk"
# The action types a policy may list (docs/policies.md, "Write-back actions").
SET_PRIORITY, ASSIGN, ADD_TAG, INTERNAL_NOTE = "set_priority", "assign", "add_tag", "internal_note"
_log = structlog.get_logger("slaengine.django_helpdesk")
_KINDS = {
    "warning": "SLA warning",
    "breach": "SLA breached",
    "escalation": "SLA escalation",
    "achieved": "SLA met",
}


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _span(seconds: int) -> str:
    hours, rest = divmod(max(0, seconds), 3600)
    return f"{hours}h {rest // 60}m" if hours else f"{rest // 60}m"


def message(notification: Notification) -> str:
    """The text saying which promise broke (or is about to), when it was due, how late it is."""
    metric = notification.metric_label or notification.metric.replace("_", " ")
    head = _KINDS.get(notification.kind, notification.kind)
    if notification.kind in ("escalation", "warning"):
        head += f" (level {notification.level})"
    text = f"{head}: {metric} of policy {notification.policy!r}, due {_when(notification.due)}"
    if notification.due is not None and notification.at > notification.due:
        text += f", {_span(notification.at - notification.due)} late"
    return text + f" (priority {notification.priority})."


def priority_number(name: str, settings: conf.Settings) -> int:
    """The helpdesk priority for a canonical one: the most urgent number mapped to it."""
    numbers = sorted(n for n, mapped in settings.priorities.items() if mapped == name)
    if not numbers:
        raise ValueError(f"no helpdesk priority maps to {name!r} (SLAENGINE['PRIORITIES'])")
    return numbers[0]


def _changes(notification: Notification, ticket: Ticket, settings: conf.Settings) -> dict[str, Any]:
    """``update_ticket`` arguments for the notification's actions; raises when one cannot be."""
    changes: dict[str, Any] = {}
    notes = []
    for action in notification.actions:
        if action.type == SET_PRIORITY:
            changes["priority"] = priority_number(action.value, settings)
        elif action.type == ASSIGN:
            if action.group:
                changes["queue"] = Queue.objects.get(slug=action.group).pk
            if action.agent:
                users = get_user_model()
                changes["owner"] = users.objects.get(**{users.USERNAME_FIELD: action.agent}).pk
        elif action.type == INTERNAL_NOTE:
            notes.append(action.value)
        elif action.type == ADD_TAG:
            _log.info("action skipped: django-helpdesk has no tags", ticket=ticket.pk)
        else:
            _log.info("action skipped: unknown to this performer", action=action.type)
    if notes:
        changes["comment"] = "\n\n".join(notes)
    return changes


def perform(notification: Notification) -> None:
    """Carry out ``notification.actions`` on its ticket, once per notification key.

    Raises when it cannot (an unknown agent or queue): the outbox retries it
    with backoff and, out of attempts, keeps it as a dead row to inspect.
    """
    if not notification.ticket.isdigit():
        raise ValueError(f"ticket {notification.ticket!r} is no django-helpdesk ticket id")
    log = _log.bind(ticket=notification.ticket, key=notification.key)
    settings = conf.load()
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=int(notification.ticket)).first()
        if ticket is None:
            log.warning("write-back skipped: the ticket no longer exists")
            return
        record, created = SlaAction.objects.get_or_create(
            key=notification.key, target=PERFORMER, defaults={"ticket": ticket}
        )
        if not created:
            log.info("write-back already performed", performed=record.performed.isoformat())
            return
        changes = _changes(notification, ticket, settings)
        if "comment" in changes:
            # A bare internal_note asks for the default text; a given one is kept, headed.
            given = changes["comment"].strip()
            changes["comment"] = message(notification) + (f"\n\n{given}" if given else "")
        if changes:
            update_ticket(AnonymousUser(), ticket, public=False, **changes)  # a system change
        record.summary = "; ".join(a.describe() for a in notification.actions)
        record.save(update_fields=["summary"])
    log.info("write-back performed", summary=record.summary)


__all__ = ["PERFORMER", "message", "perform", "priority_number"]
