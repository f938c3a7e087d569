"""KPI values of one group from its accumulated counts and durations (``docs/kpis.md``).

Rates are fractions in ``[0, 1]``, ``None`` when their denominator is 0;
durations are whole seconds; distributions use nearest-rank percentiles.
"""

from __future__ import annotations

from typing import Any, Final

from slaengine.audit.accumulator import GroupStats, MetricStats
from slaengine.audit.stats import MARGIN_PERCENTILES, histogram, summarize
from slaengine.policy.model import FIRST_RESPONSE, NEXT_RESPONSE, PERIODIC_UPDATE, RESOLUTION

#: Metrics in report order.
METRICS: Final = (FIRST_RESPONSE, NEXT_RESPONSE, PERIODIC_UPDATE, RESOLUTION)


def rate(part: int, whole: int) -> float | None:
    """``part / whole``, or ``None`` when ``whole`` is 0."""
    return part / whole if whole else None


def _counts(stats: MetricStats) -> dict[str, int]:
    return {
        "achieved": stats.achieved,
        "breached": stats.breached,
        "cancelled": stats.cancelled,
        "active": stats.active,
        "paused": stats.paused,
        "open": stats.active + stats.paused,
        "breached_open": stats.breached_open,
    }


def compliance_counts(group: GroupStats) -> dict[str, Any]:
    """Clock outcome counts over every metric, with the compliance rate."""
    total = MetricStats()
    for stats in group.metrics.values():
        total.achieved += stats.achieved
        total.breached += stats.breached
        total.cancelled += stats.cancelled
        total.active += stats.active
        total.paused += stats.paused
        total.breached_open += stats.breached_open
    counts: dict[str, Any] = _counts(total)
    counts["compliance"] = rate(total.achieved, total.achieved + total.breached)
    return counts


def metric_kpis(stats: MetricStats, with_histograms: bool = False) -> dict[str, Any]:
    """Counts, compliance, breach margins and business/calendar durations of one metric."""
    out: dict[str, Any] = _counts(stats)
    out["compliance"] = rate(stats.achieved, stats.achieved + stats.breached)
    out["margin"] = summarize(stats.margins, MARGIN_PERCENTILES)
    out["business_seconds"] = summarize(stats.business)
    out["calendar_seconds"] = summarize(stats.calendar)
    if with_histograms:
        out["histogram"] = {
            "business": histogram(stats.business),
            "calendar": histogram(stats.calendar),
        }
    return out


def csat_kpis(group: GroupStats) -> dict[str, Any]:
    """Rated tickets, their mean score and the count per score (keys ascending)."""
    rated = sum(group.csat.values())
    ordered = sorted(group.csat.items())
    total = sum(score * count for score, count in ordered)
    return {
        "rated": rated,
        "mean": round(total / rated, 4) if rated else None,
        "distribution": {_score_key(score): count for score, count in ordered},
    }


def _score_key(score: float) -> str:
    return str(int(score)) if score.is_integer() else repr(score)


def group_kpis(group: GroupStats, with_histograms: bool = False) -> dict[str, Any]:
    """Every KPI of one group as a JSON-ready dict."""
    return {
        "tickets": group.tickets,
        "clocks": group.clocks,
        "unique_customers": len(set(group.customers)),
        "compliance": compliance_counts(group),
        "metrics": {
            metric: metric_kpis(group.metrics[metric], with_histograms)
            for metric in METRICS
            if metric in group.metrics
        },
        "response_rate": rate(group.answered_messages, group.customer_messages),
        "customer_messages": group.customer_messages,
        "answered_messages": group.answered_messages,
        "agent_replies": group.agent_replies,
        "replies_per_ticket": round(group.agent_replies / group.tickets, 4)
        if group.tickets
        else None,
        "solved": group.solved,
        "fcr": group.fcr,
        "fcr_rate": rate(group.fcr, group.solved),
        "handle_time_seconds": summarize(group.handle_times),
        "ever_solved": group.ever_solved,
        "reopened": group.reopened,
        "reopen_rate": rate(group.reopened, group.ever_solved),
        "csat": csat_kpis(group),
    }


__all__ = ["METRICS", "compliance_counts", "csat_kpis", "group_kpis", "metric_kpis", "rate"]
