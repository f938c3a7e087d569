# mypy: disable-error-code="import-untyped", allow-subclassing-any, allow-untyped-decorators
"""Template tags that show agents a ticket's SLA: ``{% sla_panel ticket %}``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import structlog
from django import template
from django.utils import timezone

_log = structlog.get_logger("slaengine.django_helpdesk")
register = template.Library()
# Badge colours of django-helpdesk's Bootstrap theme, per clock state.
BADGES = {
    "breached": "danger",
    "active": "primary",
    "paused": "secondary",
    "achieved": "success",
    "cancelled": "light",
}


def _span(amount: int) -> str:
    days, rest = divmod(amount, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        text = f"{days}d {hours}h"
    elif hours:
        text = f"{hours}h {minutes}m"
    elif minutes:
        text = f"{minutes}m"
    else:
        text = "<1m"
    return text


def left_text(seconds: int) -> str:
    """``"2h 5m left"`` or ``"1d 3h over"`` for seconds of business time before the target."""
    return f"{_span(abs(seconds))} over" if seconds < 0 else f"{_span(seconds)} left"


def until_text(seconds: int) -> str:
    """``"due in 2h 5m"`` or ``"1d 3h over"`` for wall-clock seconds until a due instant."""
    return f"{_span(abs(seconds))} over" if seconds < 0 else f"due in {_span(seconds)}"


def _instant(epoch: int | None) -> dt.datetime | None:
    return None if epoch is None else dt.datetime.fromtimestamp(epoch, dt.UTC)


@register.inclusion_tag("slaengine_helpdesk/panel.html")
def sla_panel(ticket: Any) -> dict[str, Any]:
    """The ticket's clocks now: state, due, business time left, next alert."""
    from slaengine_django_helpdesk.engine import status

    try:
        found = status(ticket.pk, timezone.now())
    except Exception as exc:  # a broken policy must not take the ticket page down
        _log.error("SLA status unavailable", ticket=ticket.pk, error=repr(exc))
        return {"error": True, "rows": [], "policy": None}
    if found is None:
        return {"error": False, "rows": [], "policy": None}
    rows = []
    for metric in found.metrics:
        running = metric.state in ("active", "breached", "paused")
        rows.append(
            {
                "metric": metric.label or metric.metric.replace("_", " "),
                "instance": metric.instance,
                "state": metric.state,
                "badge": BADGES.get(metric.state, "secondary"),
                "due": _instant(metric.due),
                "left": left_text(metric.remaining) if running else "",
                "next": metric.next_alert,
                "next_at": _instant(metric.next_alert.at) if metric.next_alert else None,
            }
        )
    return {"error": False, "rows": rows, "policy": found.policy}
