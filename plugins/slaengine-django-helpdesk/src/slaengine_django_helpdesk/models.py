# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""The app's tables: recorded events, each ticket's SLA summary, performed actions."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from helpdesk.models import Ticket


class SlaEvent(models.Model):
    """One canonical event recorded from the helpdesk, in the same transaction as the change.

    The advance command moves new events into the live engine (``ingested``);
    ``held`` marks a ``created`` event still waiting for its opening follow-up
    to say who opened the ticket.
    """

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_events")
    event_id = models.CharField(max_length=64)
    at = models.DateTimeField()
    payload = models.JSONField()
    held = models.BooleanField(default=False)
    ingested = models.BooleanField(default=False, db_index=True)
    recorded = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ("at", "id")
        constraints = (
            models.UniqueConstraint(fields=("ticket", "event_id"), name="sla_event_once"),
        )

    def __str__(self) -> str:
        return f"{self.ticket_id}/{self.event_id}"


class SlaTicket(models.Model):
    """The app's view of one ticket: its last recorded attributes and its SLA summary.

    The attributes are what the next change is compared with; ``next_due`` (the
    soonest due instant of a running clock) orders the ticket list.
    """

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="sla"
    )
    status = models.CharField(max_length=64, default="open")
    priority = models.CharField(max_length=64, default="normal")
    group = models.CharField(max_length=200, default="", blank=True)
    assignee = models.CharField(max_length=200, default="", blank=True)
    changes = models.PositiveIntegerField(default=0)
    opening_followup = models.BigIntegerField(null=True, blank=True)
    policy = models.CharField(max_length=200, default="", blank=True)
    state = models.CharField(max_length=32, default="", blank=True)
    next_due = models.DateTimeField(null=True, blank=True, db_index=True)
    evaluated = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"SLA of ticket {self.ticket_id}"


class SlaAction(models.Model):
    """A write-back performed for one notification and notify target: never performed twice."""

    key = models.CharField(max_length=200)
    target = models.CharField(max_length=100)
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="sla_actions")
    performed = models.DateTimeField(default=timezone.now)
    summary = models.TextField(blank=True, default="")
    email_sent = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (models.UniqueConstraint(fields=("key", "target"), name="sla_action_once"),)

    def __str__(self) -> str:
        return f"{self.target}: {self.key}"
