"""The audit's views: the dimensions a report groups by, and which groupings are kept."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

#: The dimensions a view can group by.
DIMENSIONS: Final = ("channel", "priority", "policy", "group", "agent", "period", "agreement")
#: ``--by metric``: each group's clocks split by metric (a report over any view).
METRIC: Final = "metric"
#: Views always kept: the overall totals, each dimension alone, channel by priority.
STANDARD_VIEWS: Final[tuple[tuple[str, ...], ...]] = (
    (),
    *((d,) for d in DIMENSIONS if d != "agreement"),
    ("channel", "priority"),
)
#: Views kept only when policies set attainment goals (slaengine.audit.goals).
GOAL_VIEWS: Final[tuple[tuple[str, ...], ...]] = (("policy", "period"), ("policy", "group"))
#: Dimensions a clock has apart from its ticket: who fulfilled it, whose agreement it is.
PER_CLOCK: Final = ("agent", "agreement")
#: The dimensions of a ticket as a whole (all but the per-clock ones), finest first: the
#: key of the groups every view without a per-clock dimension is summed from.
FINE: Final = ("channel", "priority", "policy", "group", "period")


def parse_dimensions(text: str) -> tuple[str, ...]:
    """``"channel,priority"`` as a view; a ``ValueError`` naming unknown dimensions."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    allowed = (*DIMENSIONS, METRIC)
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise ValueError(
            f"unknown dimension(s) {', '.join(unknown)}; choose from {', '.join(allowed)}"
        )
    if len(set(names)) != len(names):
        raise ValueError("a dimension is named twice")
    return names


def views_for(
    by: Sequence[str], goals: bool = False, agreements: bool = False
) -> tuple[tuple[str, ...], ...]:
    """The standard views plus the ``--by`` combination when it is not one of them, with
    ``goals`` the views attainment goals are reported by, and with ``agreements`` (the
    policies define internal agreements) the view by agreement, so that the worst offenders
    put each breached clock under its own agreement.

    ``metric`` is no view of its own: the report splits each group by metric.
    """
    chosen = tuple(d for d in by if d != METRIC)
    views = STANDARD_VIEWS if chosen in STANDARD_VIEWS else (*STANDARD_VIEWS, chosen)
    if goals:
        views += tuple(view for view in GOAL_VIEWS if view not in views)
    if agreements and ("agreement",) not in views:
        views += (("agreement",),)
    return views


__all__ = [
    "DIMENSIONS",
    "FINE",
    "GOAL_VIEWS",
    "METRIC",
    "PER_CLOCK",
    "STANDARD_VIEWS",
    "parse_dimensions",
    "views_for",
]
