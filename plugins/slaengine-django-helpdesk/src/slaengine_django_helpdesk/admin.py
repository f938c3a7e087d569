# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""Read-only admin pages: the recorded events and the write-backs performed, per ticket."""

from __future__ import annotations

from typing import Any

from django.contrib import admin

from slaengine_django_helpdesk.models import SlaAction, SlaEvent, SlaTicket


class _ReadOnly(admin.ModelAdmin):
    """The app writes these rows; people only look at them."""

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(SlaEvent)
class SlaEventAdmin(_ReadOnly):
    """Events recorded from the helpdesk, in the order they happened."""

    list_display = ("ticket", "event_id", "at", "held", "ingested")
    list_filter = ("held", "ingested")
    search_fields = ("ticket__id", "event_id")


@admin.register(SlaTicket)
class SlaTicketAdmin(_ReadOnly):
    """Each ticket's SLA summary: policy, state, soonest due."""

    list_display = ("ticket", "policy", "state", "next_due", "status", "priority", "group")
    list_filter = ("state", "policy")


@admin.register(SlaAction)
class SlaActionAdmin(_ReadOnly):
    """Write-backs and e-mails performed, one per notification key and target."""

    list_display = ("ticket", "key", "target", "performed", "summary", "email_sent")
    search_fields = ("key", "ticket__id")
