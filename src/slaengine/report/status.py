"""``slaengine status`` tables for the terminal, fitted to its width.

The at-risk queue (``status --due-within``): due time, time left, ticket,
metric and state are never cut, they are what the queue is read for. When the
table is too wide, times lose their year (the title names it), then the
instance number, the priority, the assignee and the group go, in that order.

A ticket's status: metric, state, due, remaining and next alert are never cut;
times lose their year first, then the instance number goes. Narrower still, each
clock is a block of lines (:func:`~slaengine.report.terminal.records_table`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from rich.table import Table

from slaengine.live.atrisk import OpenClock
from slaengine.metric_names import Labels
from slaengine.notifications import MetricStatus, TicketStatus
from slaengine.report.labels import metric_label, readable_duration
from slaengine.report.table import LONG_TIME, SHORT_TIME, cell, local_time
from slaengine.report.terminal import Column, fitted_columns, fitted_table


def _left(clock: OpenClock, now: int) -> str:
    left = (clock.due or now) - now
    return f"overdue {readable_duration(-left)}" if left < 0 else readable_duration(left)


def _columns(
    clocks: Sequence[OpenClock], now: int, zone: dt.tzinfo, fmt: str, labels: Labels | None
) -> list[Column]:
    # An agreement's clock is stored as tier2-ola/first_response.
    metrics = [
        c.stored_metric if labels is None else metric_label(c.stored_metric, labels) for c in clocks
    ]
    return [
        Column("Due", [local_time(c.due, zone, fmt) for c in clocks]),
        Column("In", [_left(c, now) for c in clocks], right=True),
        Column("Ticket", [cell(c.ticket) for c in clocks]),
        Column("Metric", [cell(name) for name in metrics]),
        Column("#", [str(c.instance) for c in clocks], right=True, drop=4),
        Column("State", [c.state for c in clocks]),
        Column("Priority", [cell(c.priority) for c in clocks], drop=3),
        Column("Group", [cell(c.group or "-") for c in clocks], drop=1),
        Column("Agent", [cell(c.assignee or "-") for c in clocks], drop=2),
    ]


def queue_table(
    clocks: Sequence[OpenClock],
    now: int,
    timezone: str,
    title: str,
    width: int | None,
    labels: Labels | None = None,
) -> Table:
    """One row per clock, fitted to ``width`` (``None``: every column, full times).

    With ``labels`` metrics are named as the reports name them, else as the state
    stores them.
    """
    zone = ZoneInfo(timezone)
    columns = _columns(clocks, now, zone, LONG_TIME, labels)
    if len(fitted_columns(columns, width)) < len(columns):
        columns = _columns(clocks, now, zone, SHORT_TIME, labels)
        years = sorted({local_time(c.due, zone, "%Y") for c in clocks if c.due is not None})
        title += f" (times in {timezone}, {', '.join(years) or 'no times'})"
    else:
        title += f" (times in {timezone})"
    return fitted_table(title, columns, width)


def _ticket_columns(metrics: Sequence[MetricStatus], zone: dt.tzinfo, fmt: str) -> list[Column]:
    names = []
    for metric in metrics:
        # As the reports and the at-risk queue name it: the label its definition gives,
        # a built-in's own, else the name in words (JSON: the name).
        stored = (
            metric.metric if metric.agreement is None else f"{metric.agreement}/{metric.metric}"
        )
        name = metric_label(stored, {metric.metric: metric.label} if metric.label else None)
        names.append(name if metric.group is None else f"{name} ({metric.group})")
    alerts = [
        "-"
        if (alert := metric.next_alert) is None
        else f"{alert.kind} {alert.level} at {local_time(alert.at, zone, fmt)}"
        for metric in metrics
    ]
    return [
        Column("Metric", [cell(name) for name in names]),
        Column("#", [str(m.instance) for m in metrics], right=True, drop=1),
        Column("State", [m.state for m in metrics]),
        Column("Due", [local_time(m.due, zone, fmt) for m in metrics]),
        Column("Remaining", [readable_duration(m.remaining) for m in metrics], right=True),
        Column("Next alert", alerts),
    ]


def ticket_table(status: TicketStatus, timezone: str, width: int | None) -> Table:
    """A ticket's clocks, one row per instance, fitted to ``width`` (``None``: full times)."""
    zone = ZoneInfo(timezone)
    title = f"{status.ticket} · policy {status.policy or '(none)'}"
    columns = _ticket_columns(status.metrics, zone, LONG_TIME)
    if len(fitted_columns(columns, width)) < len(columns):
        columns = _ticket_columns(status.metrics, zone, SHORT_TIME)
        instants = [m.due for m in status.metrics if m.due is not None]
        instants += [m.next_alert.at for m in status.metrics if m.next_alert is not None]
        years = sorted({local_time(t, zone, "%Y") for t in instants})
        title += f" (times in {timezone}, {', '.join(years) or 'no times'})"
    else:
        title += f" (times in {timezone})"
    return fitted_table(title, columns, width)


__all__ = ["queue_table", "ticket_table"]
