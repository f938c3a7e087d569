# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""``manage.py slaengine_backfill``: record the events of tickets the app has not seen.

For a site that installs slaengine mid-life: every existing ticket's creation,
follow-ups and changes are replayed from the helpdesk's history, so its clocks
are right from the start. Tickets already recorded are compared with their
current attributes (a change made by a bulk ``update()`` that fired no signal
is recorded then). Idempotent: run it again at will.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction
from django.utils import timezone
from helpdesk.models import Ticket

from slaengine_django_helpdesk import conf
from slaengine_django_helpdesk.engine import summarize
from slaengine_django_helpdesk.models import SlaTicket
from slaengine_django_helpdesk.recorder import record_ticket, replay
from slaengine_django_helpdesk.words import counted


class Command(BaseCommand):
    """Replay existing tickets into recorded SLA events."""

    help = "Record SLA events for existing django-helpdesk tickets (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--ticket", type=int, action="append", help="only this ticket id")

    def handle(self, *args: Any, **options: Any) -> None:
        settings = conf.load()
        tickets = Ticket.objects.select_related("queue", "assigned_to").order_by("id")
        if options.get("ticket"):
            tickets = tickets.filter(pk__in=options["ticket"])
        replayed = reconciled = events = 0
        now = timezone.now()
        for ticket in tickets.iterator():
            with transaction.atomic():
                if SlaTicket.objects.filter(pk=ticket.pk).exists():
                    found = record_ticket(ticket)
                    reconciled += bool(found)
                else:
                    found = replay(ticket, settings, now)
                    replayed += 1
                events += len(found)
            summarize(ticket.pk, now)
        self.stdout.write(
            f"replayed {counted(replayed, 'ticket')}, reconciled {reconciled}; "
            f"recorded {counted(events, 'event')}"
        )
