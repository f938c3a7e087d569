"""KPI values of one group from its accumulated counts and durations (``docs/kpis.md``).

Rates are fractions in ``[0, 1]``, ``None`` when their denominator is 0;
durations are whole seconds; distributions use nearest-rank percentiles.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any, Final

from slaengine.audit.groups import GroupStats, MetricStats
from slaengine.audit.stats import MARGIN_PERCENTILES
from slaengine.audit.summaries import distinct, distribution
from slaengine.metric_names import BUILTIN_METRICS, ordered_metrics

#: The built-in metrics in report order; user-defined ones follow by name
#: (:func:`slaengine.metric_names.ordered_metrics`).
METRICS: Final = BUILTIN_METRICS


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
        "misses": stats.misses,
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
        total.misses += stats.misses
    counts: dict[str, Any] = _counts(total)
    counts["compliance"] = rate(total.achieved, total.achieved + total.breached)
    return counts


def metric_kpis(stats: MetricStats, with_histograms: bool = False) -> dict[str, Any]:
    """Counts, compliance, breach margins and business/calendar durations of one metric."""
    out: dict[str, Any] = _counts(stats)
    out["compliance"] = rate(stats.achieved, stats.achieved + stats.breached)
    out["margin"], _ = distribution(stats.margins, MARGIN_PERCENTILES)
    out["targets"] = {str(target): count for target, count in sorted(stats.targets.items())}
    business, business_counts = distribution(stats.business, with_histogram=with_histograms)
    calendar, calendar_counts = distribution(stats.calendar, with_histogram=with_histograms)
    out["business_seconds"] = business
    out["calendar_seconds"] = calendar
    if with_histograms:
        out["histogram"] = {"business": business_counts, "calendar": calendar_counts}
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
    """Every KPI of one group as a JSON-ready dict (a new one on every call).

    Computed once per group and kept in ``group.kpis`` (which adding to the
    group forgets): a report asks for the same group more than once, and
    sorting its durations is most of the work.
    """
    full = group.kpis
    if full is None:
        if group.released:
            raise ValueError("the group's values were released (GroupStats.release_values)")
        full = group.kpis = _group_kpis(group)
    out: dict[str, Any] = _copy(full)
    if not with_histograms:
        for metric in out["metrics"].values():
            del metric["histogram"]
    return out


def not_measurable(group: GroupStats) -> dict[str, str]:
    """KPIs the group's events cannot measure, each with the reason (docs/kpis.md).

    A figure the data cannot support is reported as ``null`` with this reason,
    never as 0%: events without messages (an incident log, say) say nothing of
    replies, and tickets without a customer id nothing of customers.
    """
    reasons: dict[str, str] = {}
    if group.tickets and not group.agent_replies and group.customer_messages <= group.tickets:
        # Only the opening requests: no reply and no follow-up anywhere.
        why = "no agent or customer messages in the events"
        for key in ("response_rate", "replies_per_ticket", "fcr_rate"):
            reasons[key] = why
    if group.tickets and not len(group.customers):
        reasons["unique_customers"] = "no customer ids in the events"
    if group.tickets and not group.csat:
        reasons["csat"] = "no CSAT ratings in the events"
    return reasons


def _group_kpis(group: GroupStats) -> dict[str, Any]:
    # Everything, histograms included; group_kpis hands out copies.
    missing = not_measurable(group)
    kpis: dict[str, Any] = {
        "tickets": group.tickets,
        "tickets_breached": group.tickets_breached,
        "breached_ticket_rate": rate(group.tickets_breached, group.tickets),
        "clocks": group.clocks,
        "unique_customers": distinct(group.customers),
        "compliance": compliance_counts(group),
        "metrics": {
            metric: metric_kpis(group.metrics[metric], with_histograms=True)
            for metric in _metric_order(group)
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
        "open_time_seconds": distribution(group.handle_times)[0],
        "ever_solved": group.ever_solved,
        "reopened": group.reopened,
        "reopen_rate": rate(group.reopened, group.ever_solved),
        "csat": csat_kpis(group),
        "not_measurable": missing,
    }
    for key in missing:
        if key != "csat":  # its mean is null already; its counts stay true
            kpis[key] = None
    return kpis


def _metric_order(group: GroupStats) -> list[str]:
    # The built-in metrics in report order, then any other (user-defined) by name.
    return ordered_metrics(group.metrics)


def metric_rows(row: dict[str, Any], position: int | None = None) -> list[dict[str, Any]]:
    """One report row per metric of a group's ``row``, its key gaining ``metric``.

    ``position`` is where ``metric`` goes among the key's dimensions (default: last).
    Each row's ``compliance`` counts that metric's clocks alone.
    """
    out = []
    items = list(row["key"].items())
    at = len(items) if position is None else position
    for metric, stats in row["metrics"].items():
        key = dict([*items[:at], ("metric", metric), *items[at:]])
        counts = {name: stats[name] for name in _COUNT_KEYS}
        counts["compliance"] = stats["compliance"]
        out.append(
            {
                "key": key,
                "tickets": row["tickets"],
                "clocks": sum(
                    stats[name] for name in ("achieved", "breached", "cancelled", "open")
                ),
                "compliance": counts,
                "metrics": {metric: stats},
            }
        )
    return out


_COUNT_KEYS: Final = (
    "achieved",
    "breached",
    "cancelled",
    "active",
    "paused",
    "open",
    "breached_open",
    "misses",
)


def _copy(value: Any) -> Any:
    # A copy of nested dicts and lists of numbers (the KPI document's shapes).
    if type(value) is dict:
        return {key: _copy(item) for key, item in value.items()}
    if type(value) is list:
        return list(value)
    return value


def prepare_kpis(groups: Sequence[GroupStats], jobs: int = 1) -> None:
    """Compute the KPIs of many groups ahead of :func:`group_kpis`, in ``jobs`` processes.

    With ``jobs`` > 1 a forked helper computes part of them (the groups shared by
    their number of values) while this process computes the rest; the values
    are the same as computed one by one. Without ``fork`` all are computed here.
    """
    todo = [group for group in groups if group.kpis is None]
    if jobs > 1 and len(todo) > 1 and "fork" in multiprocessing.get_all_start_methods():
        todo = _prepare_shared(todo)
    for group in todo:
        group.kpis = _group_kpis(group)


def _size(group: GroupStats) -> int:
    values = len(group.customers) + len(group.handle_times)
    for stats in group.metrics.values():
        values += len(stats.business) + len(stats.calendar) + len(stats.margins)
    return values


def _prepare_shared(groups: list[GroupStats]) -> list[GroupStats]:
    # The helper takes about half the values; the groups this process must still do.
    mine: list[GroupStats] = []
    theirs: list[GroupStats] = []
    load = [0, 0]
    for group in sorted(groups, key=_size, reverse=True):
        side = 0 if load[0] <= load[1] else 1
        (mine if side == 0 else theirs).append(group)
        load[side] += _size(group)
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    helper = context.Process(target=_prepare_helper, args=(theirs, send), daemon=True)
    helper.start()
    send.close()
    for group in mine:
        group.kpis = _group_kpis(group)
    try:
        found = receive.recv()
    except EOFError:
        found = None
    finally:
        receive.close()
        helper.join()
    if found is None or len(found) != len(theirs):
        return theirs  # the helper failed: compute its share here
    for group, kpis in zip(theirs, found, strict=True):
        group.kpis = kpis
    return []


def _prepare_helper(groups: list[GroupStats], conn: Connection) -> None:
    # Runs in the forked helper: the KPIs of ``groups``, in order, back on ``conn``.
    try:
        conn.send([_group_kpis(group) for group in groups])
    finally:
        conn.close()


__all__ = [
    "METRICS",
    "compliance_counts",
    "csat_kpis",
    "group_kpis",
    "metric_kpis",
    "metric_rows",
    "not_measurable",
    "prepare_kpis",
    "rate",
]
