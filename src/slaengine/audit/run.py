"""Audit an events file: evaluated and accumulated per partition, merged.

Each partition of :func:`slaengine.batches.fold_tickets` yields an
:class:`~slaengine.audit.accumulator.AuditAccumulator` (and, on request, a CSV
file of its breached clocks, sorted); they merge in partition order. The partition
count does not depend on ``jobs``, so any number of workers gives the same
result, row for row; the breached clocks are merged in their own order
(:mod:`slaengine.audit.breach_order`), which depends on the partitions not at all.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Final

from slaengine.audit.accumulator import AuditAccumulator, views_for
from slaengine.audit.breach_order import BreachPart, merge_parts
from slaengine.audit.goals import agreement_goals, policy_goals
from slaengine.audit.kpis import prepare_kpis
from slaengine.audit.periods import LocalBuckets
from slaengine.batches import BatchResult, fold_tickets
from slaengine.calendar import format_utc
from slaengine.clocks import BREACHED
from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.policy.model import PolicySet
from slaengine.timeline import TimelineSet

#: Columns of the breached-clocks CSV.
BREACH_COLUMNS: Final = (
    "ticket",
    "policy",
    "channel",
    "priority",
    "group",
    "agent",
    "metric",
    "instance",
    "start",
    "due",
    "stop",
    "elapsed",
    "target",
    "margin",
    "agreement",
    "misses",
)


@dataclass(frozen=True, slots=True)
class AuditOptions:
    """How to audit: evaluation instant, time zone, period and the ``--by`` grouping.

    ``goals`` keeps the views attainment goals are reported by, ``agreements`` the view by
    internal agreement (the worst offenders then rank each clock under its own agreement).
    Left ``None``, :func:`audit_file` sets each from the policies it audits (see
    :func:`for_policies`).
    """

    now: int
    zone: str = "UTC"
    period: str = "week"
    by: tuple[str, ...] = ("channel", "priority")
    goals: bool | None = None
    agreements: bool | None = None


def for_policies(options: AuditOptions, policies: PolicySet) -> AuditOptions:
    """``options`` with ``goals`` and ``agreements`` left ``None`` taken from ``policies``:
    the goal views when a policy or an agreement sets a goal, the agreement view when
    there are agreements. Explicit settings stay."""
    goals = options.goals
    if goals is None:
        goals = bool(policy_goals(policies) or agreement_goals(policies))
    agreements = options.agreements
    if agreements is None:
        agreements = bool(policies.agreements)
    return replace(options, goals=goals, agreements=agreements)


@dataclass(slots=True)
class AuditPart:
    """One partition's accumulator and the part file of its breached clocks (if asked)."""

    audit: AuditAccumulator
    breaches: str | None = None


def breach_rows(result: TicketResult, last_agent: str | None = None) -> list[list[object]]:
    """CSV rows of a ticket's breached clocks (instants in UTC, durations in seconds);
    ``agreement`` is empty for the customer SLA's clocks, ``group`` is the group that held
    the ticket for a clock counted per group; ``misses`` is 1, or more under ``misses:
    per_customer_message``.

    ``last_agent`` wrote the ticket's last public reply: a clock's agent when
    neither a reply nor an assignee names one (as the audit counts it).
    """
    rows: list[list[object]] = []
    state = result.state
    for clock in result.clocks:
        if clock.state != BREACHED:
            continue
        rows.append([
            result.ticket,
            result.policy.name if result.policy is not None else "",
            state.channel,
            state.priority,
            clock.group or state.group or "",
            clock.agent or state.assignee or last_agent or "",
            clock.metric,
            clock.instance,
            format_utc(clock.start),
            format_utc(clock.due) if clock.due is not None else "",
            format_utc(clock.stop) if clock.stop is not None else "",
            clock.elapsed,
            clock.target,
            clock.target - clock.elapsed,
            clock.agreement or "",
            1 if clock.misses is None else clock.misses,
        ])  # fmt: skip
    return rows


def audit_timelines(
    policies: PolicySet,
    options: AuditOptions,
    timelines: TimelineSet,
    breaches_dir: str | None = None,
) -> AuditPart:
    """Evaluate and accumulate one batch of timelines (a partition)."""
    audit = empty_audit(for_policies(options, policies))
    now = options.now
    part = BreachPart() if breaches_dir is not None else None
    for timeline in timelines.timelines.values():
        result = evaluate_timeline(policies, timeline, now)
        if result is None:
            audit.skip()
            continue
        facts = audit.add_ticket(timeline, result, now)
        if part is not None:
            part.add(result.ticket, breach_rows(result, facts.last_agent))
    audit.compact()
    if part is None:
        return AuditPart(audit)
    # Sorted here, in the worker: the merge then reads each part once, in order.
    handle, name = tempfile.mkstemp(suffix=".part", prefix="breaches-", dir=breaches_dir)
    with os.fdopen(handle, "wb") as out:
        part.write(out)
    return AuditPart(audit, name)


def empty_audit(options: AuditOptions) -> AuditAccumulator:
    """An accumulator with nothing in it yet, for ``options``' period and views (``goals``
    and ``agreements`` left ``None`` count as unset: see :func:`for_policies`)."""
    return AuditAccumulator(
        LocalBuckets(options.zone, options.period),
        views_for(options.by, bool(options.goals), bool(options.agreements)),
    )


@dataclass(slots=True)
class _Merged:
    # The audit so far and the breached-clocks files of the parts merged into it.
    audit: AuditAccumulator
    breach_files: list[str] = field(default_factory=list)

    def add(self, part: AuditPart) -> None:
        self.audit.merge(part.audit)
        if part.breaches:
            self.breach_files.append(part.breaches)


def audit_file(
    policies: PolicySet,
    events: str | os.PathLike[str],
    options: AuditOptions,
    *,
    jobs: int = 1,
    breaches: str | os.PathLike[str] | None = None,
    on_partition: Callable[[], None] | None = None,
    keep_values: bool = True,
) -> tuple[AuditAccumulator, BatchResult[AuditPart]]:
    """Audit every ticket of an events file in ``jobs`` processes; merge the parts in order.

    ``breaches`` names a CSV file for the breached clocks (header included), in the order
    of :mod:`slaengine.audit.breach_order`.
    ``on_partition`` is called in this process as each partition's result is merged
    (progress), whatever ``jobs``.
    The merged groups come back with their KPIs computed (``GroupStats.kpis``);
    without ``keep_values`` their durations and customer hashes are let go two views at a time
    as the KPIs are computed (:meth:`AuditAccumulator.settle`), which bounds memory for
    large inputs (a report needs only the KPIs).
    ``options.goals`` and ``options.agreements`` left ``None`` follow the policies.
    """
    options = for_policies(options, policies)
    with tempfile.TemporaryDirectory(prefix="slaengine-audit-") as tmp:
        breaches_dir = tmp if breaches is not None else None
        merged, batch = fold_tickets(
            events,
            partial(audit_timelines, policies, options, breaches_dir=breaches_dir),
            lambda: _Merged(empty_audit(options)),
            _Merged.add,
            jobs=jobs,
            status_map=policies.status_map,
            on_partition=on_partition,
        )
        if breaches is not None:
            write_breaches(merged.breach_files, breaches)
    audit = merged.audit
    # Sorting every group's durations for its percentiles is the last serial step:
    # share it between the processes that the workers leave free.
    audit.settle(partial(prepare_kpis, jobs=jobs), keep_values)
    return audit, batch


def write_breaches(parts: Sequence[str | Path], target: str | os.PathLike[str]) -> None:
    """Write the breaches CSV at ``target``: the header, then the rows of the part files
    ``parts`` (:class:`~slaengine.audit.breach_order.BreachPart`) in breaches order."""
    with Path(target).open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerow(BREACH_COLUMNS)
        merge_parts(parts, out)


__all__ = [
    "BREACH_COLUMNS",
    "AuditOptions",
    "AuditPart",
    "audit_file",
    "audit_timelines",
    "breach_rows",
    "empty_audit",
    "for_policies",
    "write_breaches",
]
