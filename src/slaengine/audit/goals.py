"""Attainment against the goals policies set (``goal: 95%``): overall, per period, per group.

A metric's attainment is its achievement: achieved clocks over achieved and breached ones
(docs/kpis.md). It meets its goal when ``achieved / decided >= goal``, compared in whole
numbers so that 19 of 20 meets 95% exactly. A goal belongs to a policy's metric, so
attainment is counted over that policy's clocks of the metric. An agreement's goal is
counted over its own clocks of the metric (``tier2-ola/resolution``), whatever the
tickets' policies; its rows name the agreement as ``policy`` and ``agreement``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from slaengine.audit.accumulator import AuditAccumulator
from slaengine.audit.groups import GroupStats, MetricStats
from slaengine.audit.views import GOAL_VIEWS
from slaengine.metric_names import ordered_metrics
from slaengine.policy.model import PolicySet

#: A goal of 100% in the model's unit (hundredths of a percent).
FULL: Final = 10000

#: Goals by policy name, then metric, in hundredths of a percent.
Goals = Mapping[str, Mapping[str, int]]
#: Metrics of agreements' clocks are keyed ``agreement/metric`` (as the audit counts them).
SEPARATOR: Final = "/"


def policy_goals(policies: PolicySet) -> dict[str, dict[str, int]]:
    """The goal of each policy's metrics that have one (empty: no policy sets a goal)."""
    found: dict[str, dict[str, int]] = {}
    for policy in policies.policies:
        goals = {m.kind: m.goal for m in policy.metrics if m.goal is not None}
        if goals:
            found[policy.name] = goals
    return found


def agreement_goals(policies: PolicySet) -> dict[str, dict[str, int]]:
    """The goal of each agreement's metrics that have one, by agreement name."""
    found: dict[str, dict[str, int]] = {}
    for agreement in policies.agreements:
        goals = {m.kind: m.goal for m in agreement.policy.metrics if m.goal is not None}
        if goals:
            found[agreement.name] = goals
    return found


def _summed(groups: Sequence[GroupStats], metric: str) -> GroupStats:
    """One group holding only ``metric``'s counts of ``groups`` (an agreement's clocks are
    counted under each ticket's policy; its goal is over all of them)."""
    total = GroupStats()
    for group in groups:
        stats = group.metrics.get(metric)
        if stats is not None:
            if metric not in total.metrics:
                total.metrics[metric] = MetricStats()
            total.metrics[metric].merge(stats)
    return total


def _agreement_rows(audit: AuditAccumulator, goals: Goals) -> list[dict[str, Any]]:
    """Rows of agreements' goals, like :func:`goal_rows`' with an ``agreement`` field."""
    by_policy = list(audit.view(("policy",)).values())
    by_period: dict[str, list[GroupStats]] = {}
    for key, group in audit.view(GOAL_VIEWS[0]).items():
        by_period.setdefault(key[1], []).append(group)
    by_group: dict[str, list[GroupStats]] = {}
    for key, group in audit.view(GOAL_VIEWS[1]).items():
        by_group.setdefault(key[1], []).append(group)
    rows: list[dict[str, Any]] = []
    for name in sorted(goals):
        for metric in ordered_metrics(goals[name]):
            goal = goals[name][metric]
            stored = f"{name}{SEPARATOR}{metric}"
            periods = [
                {"period": period, **attainment(_summed(groups, stored), stored, goal)}
                for period, groups in sorted(by_period.items())
            ]
            held = [
                {"group": group, **attainment(_summed(groups, stored), stored, goal)}
                for group, groups in sorted(by_group.items())
            ]
            rows.append(
                {
                    "policy": name,
                    "agreement": name,
                    "metric": stored,
                    "goal": goal / FULL,
                    **attainment(_summed(by_policy, stored), stored, goal),
                    "by_period": periods,
                    # Groups that never held one of the agreement's clocks are left out.
                    "by_group": [r for r in held if r["achieved"] or r["breached"]],
                    "missed_periods": [r["period"] for r in periods if r["met"] is False],
                }
            )
    return rows


def attainment(group: GroupStats | None, metric: str, goal: int) -> dict[str, Any]:
    """``achieved``, ``breached``, ``attainment`` (``None`` when none decided) and ``met``
    (``None`` then too) of ``metric`` in ``group``."""
    stats = None if group is None else group.metrics.get(metric)
    achieved = stats.achieved if stats is not None else 0
    breached = stats.breached if stats is not None else 0
    decided = achieved + breached
    return {
        "achieved": achieved,
        "breached": breached,
        "attainment": achieved / decided if decided else None,
        "met": achieved * FULL >= goal * decided if decided else None,
    }


def goal_rows(
    audit: AuditAccumulator, goals: Goals, agreements: Goals | None = None
) -> list[dict[str, Any]]:
    """One row per policy and metric with a goal (policies by name, metrics in report order),
    then one per agreement and metric with a goal (``agreements``, see :func:`_agreement_rows`).

    Each row has the goal as a fraction, the attainment over the policy's clocks, and
    ``by_period`` and ``by_group`` rows (sorted), plus ``missed_periods``: the periods
    whose attainment is under the goal (periods without decided clocks miss nothing).
    """
    if not goals and not agreements:
        return []
    by_policy = audit.view(("policy",))
    by_period = audit.view(GOAL_VIEWS[0])
    by_group = audit.view(GOAL_VIEWS[1])
    rows: list[dict[str, Any]] = []
    for policy in sorted(goals):
        periods = sorted((k[1], g) for k, g in by_period.items() if k[0] == policy)
        groups = sorted((k[1], g) for k, g in by_group.items() if k[0] == policy)
        for metric in ordered_metrics(goals[policy]):
            goal = goals[policy][metric]
            period_rows = [
                {"period": name, **attainment(group, metric, goal)} for name, group in periods
            ]
            rows.append(
                {
                    "policy": policy,
                    "metric": metric,
                    "goal": goal / FULL,
                    **attainment(by_policy.get((policy,)), metric, goal),
                    "by_period": period_rows,
                    "by_group": [
                        {"group": name, **attainment(group, metric, goal)} for name, group in groups
                    ],
                    "missed_periods": [r["period"] for r in period_rows if r["met"] is False],
                }
            )
    return rows + _agreement_rows(audit, agreements or {})


__all__ = [
    "FULL",
    "GOAL_VIEWS",
    "Goals",
    "agreement_goals",
    "attainment",
    "goal_rows",
    "policy_goals",
]
