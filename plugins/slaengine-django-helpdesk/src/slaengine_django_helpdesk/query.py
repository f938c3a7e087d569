# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""The ticket list's query with an SLA column: due of each ticket, soonest breach first.

django-helpdesk builds its list from ``HELPDESK_QUERY_CLASS``; this subclass
annotates every ticket with its soonest due instant (tickets without a running
clock sort last), sorts by it when the list asks for the ``sla_due`` column,
and adds the SLA fields to each row of the list's JSON.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from helpdesk.query import DATATABLES_ORDER_COLUMN_CHOICES, __Query__
from model_utils import Choices

from slaengine_django_helpdesk.models import SlaTicket
from slaengine_django_helpdesk.templatetags.slaengine_helpdesk import until_text

COLUMN = "sla_due"
ORDER = "sla_order"
# Sorts after every real due instant, so tickets without a running clock come last.
NO_DUE = dt.datetime(9999, 1, 1, tzinfo=dt.UTC)


class SlaQuery(__Query__):
    """django-helpdesk's ticket query, plus the SLA due column."""

    def get(self) -> QuerySet[Any]:
        """The tickets, each annotated with ``sla_order`` (its soonest due, or far away)."""
        return (
            super()
            .get()
            .annotate(
                **{ORDER: Coalesce(F("sla__next_due"), Value(NO_DUE, output_field=DateTimeField()))}
            )
        )

    def get_datatables_context(self, *, column_lookup: Any = None, **kwargs: Any) -> Any:
        """The list's page of rows; ordered by due when the SLA column is asked for."""
        column = kwargs.get("order[0][column]", [None])[0]
        if column is not None and kwargs.get(f"columns[{column}][data]", [""])[0] == COLUMN:
            pairs = [(k, v) for k, v in DATATABLES_ORDER_COLUMN_CHOICES if k != column]
            column_lookup = Choices(*pairs, (column, ORDER))
        result = super().get_datatables_context(column_lookup=column_lookup, **kwargs)
        rows = result.get("data", [])
        summaries = {s.pk: s for s in SlaTicket.objects.filter(pk__in=[row["id"] for row in rows])}
        now = timezone.now()
        for row in rows:
            summary = summaries.get(row["id"])
            due = summary.next_due if summary is not None else None
            row[COLUMN] = due.isoformat() if due is not None else None
            state = summary.state if summary is not None else ""
            # The summary is refreshed by events; a running clock past its due is over by now.
            row["sla_state"] = "breached" if due is not None and due <= now else state
            # Wall-clock time to the due instant: business time needs each clock's calendar.
            row["sla_left"] = until_text(int((due - now).total_seconds())) if due else ""
        return result
