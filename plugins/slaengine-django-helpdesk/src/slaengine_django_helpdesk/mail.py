# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""E-mail notify targets: SLA notifications sent through Django's mail framework.

``SLAENGINE["EMAIL"] = {"sla-leads": ["lead@example.com", "assignee"]}`` makes
``sla-leads`` a notify target policies can name. Each notification is mailed
once per (key, target): the send is recorded in :class:`~.models.SlaAction`
and a repeated delivery finds it. Only a crash between sending and recording
sends it again, with the same ``Message-ID``, so mail clients show one.
"""

from __future__ import annotations

import re

import structlog
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone
from helpdesk.models import Ticket

from slaengine.notifications import Notification
from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.actions import message
from slaengine_django_helpdesk.models import SlaAction

_log = structlog.get_logger("slaengine.django_helpdesk")


def recipients(addresses: tuple[str, ...], ticket: Ticket) -> list[str]:
    """The addresses, with ``assignee`` replaced by the ticket owner's e-mail (if any)."""
    found = []
    for address in addresses:
        if address == "assignee":
            if ticket.assigned_to_id and ticket.assigned_to.email:
                found.append(ticket.assigned_to.email)
        else:
            found.append(address)
    return found


def deliver(target: str, notification: Notification) -> None:
    """Mail ``notification`` to ``target``'s addresses, once per notification key."""
    if not notification.ticket.isdigit():
        raise ValueError(f"ticket {notification.ticket!r} is no django-helpdesk ticket id")
    settings = conf.load()
    with transaction.atomic():
        ticket = Ticket.objects.filter(pk=int(notification.ticket)).first()
        if ticket is None:
            _log.warning("e-mail skipped: the ticket no longer exists", key=notification.key)
            return
        record, _ = SlaAction.objects.get_or_create(
            key=notification.key, target=target, defaults={"ticket": ticket, "summary": "e-mail"}
        )
    if record.email_sent is not None:
        return
    to = recipients(settings.email.get(target, ()), ticket)
    if not to:
        _log.warning("e-mail has no recipient", ticket=ticket.pk, target=target)
        return
    text = message(notification)
    token = re.sub(r"[^A-Za-z0-9._-]", ".", f"{notification.key}.{target}")
    EmailMessage(
        subject=f"{ticket.ticket} {text.split(':', 1)[0]}: {ticket.title}",
        body=f"{text}\n\nTicket {ticket.ticket}: {ticket.title}\n",
        from_email=settings.email_from,
        to=to,
        headers={"Message-ID": f"<{token}@slaengine>"},
    ).send(fail_silently=False)
    SlaAction.objects.filter(pk=record.pk).update(email_sent=timezone.now())


__all__ = ["deliver", "recipients"]
