"""Write-back: a breach or escalation acts on the helpdesk ticket, exactly once.

Each notify target named in ``SLAENGINE["ACTIONS"]`` raises or sets the
priority, reassigns, adds an internal follow-up naming the broken promise
(all through django-helpdesk's own ``update_ticket``, so the change shows in
the ticket's history like an agent's) and e-mails through Django's mail
framework.

Exactly once: the ticket changes and the :class:`~.models.SlaAction` row keyed
by (notification key, target) commit in one transaction, so a delivery
repeated after a crash finds the row and does nothing. The e-mail goes out
after that commit and is marked sent afterwards; only a crash between sending
and marking sends it again, with the same ``Message-ID``.
"""

from __future__ import annotations

import datetime as dt
import re

import structlog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from helpdesk.models import Ticket
from helpdesk.update_ticket import update_ticket

from slaengine.notifications import Notification
from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.models import SlaAction

_log = structlog.get_logger("slaengine.django_helpdesk")
_KINDS = {
    "warning": "SLA warning",
    "breach": "SLA breached",
    "escalation": "SLA escalation",
    "achieved": "SLA met",
}


def describe(action: conf.Action) -> str:
    """One line saying what the target does, for ``slaengine plugins``."""
    parts = []
    if action.priority is not None:
        parts.append(
            "raise priority" if action.priority == "raise" else f"priority {action.priority}"
        )
    if action.assign_to:
        parts.append(f"assign to {action.assign_to}")
    if action.followup:
        parts.append("internal follow-up")
    if action.email:
        parts.append("e-mail " + ", ".join(action.email))
    return "django-helpdesk: " + ("; ".join(parts) or "nothing")


def _when(epoch: int | None) -> str:
    if epoch is None:
        return "-"
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def message(notification: Notification) -> str:
    """The text saying which promise broke (or is about to)."""
    metric = notification.metric.replace("_", " ")
    head = _KINDS.get(notification.kind, notification.kind)
    if notification.kind == "escalation":
        head += f" (level {notification.level})"
    elif notification.kind == "warning":
        head += f" ({notification.level})"
    return (
        f"{head}: {metric} of policy {notification.policy!r}, "
        f"due {_when(notification.due)}, at priority {notification.priority}."
    )


def _priority(action: conf.Action, current: int) -> int:
    if action.priority == "raise":
        return max(1, current - 1)  # 1 is django-helpdesk's most urgent
    return int(action.priority) if action.priority is not None else current


def _apply(action: conf.Action, ticket: Ticket, text: str) -> str:
    owner = -1
    if action.assign_to:
        user = get_user_model().objects.get(**{get_user_model().USERNAME_FIELD: action.assign_to})
        owner = user.pk
    priority = _priority(action, ticket.priority)
    if owner == -1 and priority == ticket.priority and not action.followup:
        return ""  # nothing to change on the ticket (an e-mail-only target)
    update_ticket(
        AnonymousUser(),  # a system change: no agent wrote it
        ticket,
        comment=text if action.followup else "",
        public=False,
        owner=owner,
        priority=priority if priority != ticket.priority else -1,
    )
    done = [f"priority {priority}"] if action.priority is not None else []
    if action.assign_to:
        done.append(f"assigned to {action.assign_to}")
    if action.followup:
        done.append("internal follow-up")
    return "; ".join(done)


def _recipients(action: conf.Action, ticket: Ticket) -> list[str]:
    found = []
    for address in action.email:
        if address == "assignee":
            if ticket.assigned_to_id and ticket.assigned_to.email:
                found.append(ticket.assigned_to.email)
        else:
            found.append(address)
    return found


def perform(action: conf.Action, notification: Notification) -> None:
    """Do ``action`` to the notification's ticket, once per (notification key, target).

    Raises when it cannot (an unknown user to assign, a mail server refusing),
    so the outbox retries it later.
    """
    if not notification.ticket.isdigit():
        raise ValueError(f"ticket {notification.ticket!r} is no django-helpdesk ticket id")
    log = _log.bind(ticket=notification.ticket, key=notification.key, target=action.name)
    text = message(notification)
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update().filter(pk=int(notification.ticket)).first()
        if ticket is None:
            log.warning("write-back skipped: the ticket no longer exists")
            return
        record, created = SlaAction.objects.get_or_create(
            key=notification.key, target=action.name, defaults={"ticket": ticket}
        )
        if created:
            record.summary = _apply(action, ticket, text)
            record.save(update_fields=["summary"])
            log.info("write-back performed", summary=record.summary)
        else:
            log.info("write-back already performed", performed=record.performed.isoformat())
    if action.email and record.email_sent is None:
        _mail(action, ticket, notification, text)
        SlaAction.objects.filter(pk=record.pk).update(email_sent=timezone.now())


def _mail(action: conf.Action, ticket: Ticket, notification: Notification, text: str) -> None:
    recipients = _recipients(action, ticket)
    if not recipients:
        _log.warning("write-back e-mail has no recipient", ticket=ticket.pk, target=action.name)
        return
    settings = conf.load()
    token = re.sub(r"[^A-Za-z0-9._-]", ".", f"{notification.key}.{action.name}")
    mail = EmailMessage(
        subject=f"[{ticket.ticket}] {text.split(':', 1)[0]}: {ticket.title}",
        body=f"{text}\n\nTicket: {ticket.ticket} {ticket.title}\n",
        from_email=settings.email_from,
        to=recipients,
        headers={"Message-ID": f"<{token}@slaengine>"},
    )
    mail.send(fail_silently=False)


__all__ = ["describe", "message", "perform"]
