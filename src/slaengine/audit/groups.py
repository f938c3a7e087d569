"""One group's raw material for its KPIs: counts, integer arrays and tallies that merge exactly.

A :class:`GroupStats` holds what the tickets of one combination of dimension
values add up to, and one :class:`MetricStats` per metric of their clocks.
Everything is a count, an integer array or a tally, so two groups merge by
addition and percentiles are computed only at the end
(:mod:`slaengine.audit.kpis`).
"""

from __future__ import annotations

import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from slaengine.audit.facts import TicketFacts
from slaengine.audit.stats import new_values, sorted_values, unique_sorted
from slaengine.audit.summaries import sorts_values
from slaengine.clocks import (
    ACHIEVED,
    ACTIVE,
    BREACHED,
    CANCELLED,
    FULFILLED,
    PAUSED,
    SOLVED,
    ClockResult,
)
from slaengine.metric_names import BUILTIN_LABELS, solve_fulfilling
from slaengine.policy.model import RESOLUTION, Policy
from slaengine.vocabulary import StopReason


@dataclass(slots=True)
class MetricStats:
    """Clock outcomes and durations of one metric within one group."""

    achieved: int = 0
    breached: int = 0
    cancelled: int = 0
    active: int = 0
    paused: int = 0
    breached_open: int = 0  # breached and still running
    # Misses: one per breached clock, more under misses: per_customer_message.
    misses: int = 0
    business: array[int] = field(default_factory=new_values)  # elapsed of completed clocks
    calendar: array[int] = field(default_factory=new_values)  # stop - start of the same
    margins: array[int] = field(default_factory=new_values)  # target - elapsed, breached
    targets: dict[int, int] = field(default_factory=dict)  # clocks per target (seconds)

    def merge(self, other: MetricStats) -> None:
        """Add ``other``'s counts and values to these."""
        self.achieved += other.achieved
        self.breached += other.breached
        self.cancelled += other.cancelled
        self.active += other.active
        self.paused += other.paused
        self.breached_open += other.breached_open
        self.misses += other.misses
        self.business.extend(other.business)
        self.calendar.extend(other.calendar)
        self.margins.extend(other.margins)
        targets = self.targets
        for target, count in other.targets.items():
            targets[target] = targets.get(target, 0) + count


@dataclass(slots=True)
class GroupStats:
    """Everything the KPIs of one group (one combination of dimension values) need."""

    tickets: int = 0
    tickets_breached: int = 0  # tickets with at least one breached clock
    clocks: int = 0
    customer_messages: int = 0
    answered_messages: int = 0
    agent_replies: int = 0
    solved: int = 0
    fcr: int = 0
    ever_solved: int = 0
    reopened: int = 0
    handle_times: array[int] = field(default_factory=new_values)
    csat: dict[float, int] = field(default_factory=dict)
    customers: array[int] = field(default_factory=new_values)  # 64-bit hashes, see compact()
    metrics: dict[str, MetricStats] = field(default_factory=dict)
    # The group's KPIs once computed (slaengine.audit.kpis.group_kpis), which
    # every change through these methods forgets. Both are constructor arguments only
    # for pickling (as the constructor call: slaengine.compiled.register_pickling).
    kpis: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    # True once the values were let go (release_values): only counts and KPIs are left.
    released: bool = field(default=False, repr=False, compare=False)

    def release_values(self) -> None:
        """Let go of the durations and customer hashes once the KPIs are computed (a million
        tickets' values in every view would take most of a run's memory): the counts, the
        tallies and ``kpis`` stay. The KPIs of a released group cannot be computed again."""
        if self.kpis is None:
            raise ValueError("compute the group's KPIs before releasing its values")
        self.released = True
        self.handle_times = new_values()
        self.customers = new_values()
        for stats in self.metrics.values():
            stats.business = new_values()
            stats.calendar = new_values()
            stats.margins = new_values()

    def add_facts(self, facts: TicketFacts, customer: int | None, breached: bool = False) -> None:
        """Count one ticket's facts; ``breached``: one of its clocks breached."""
        self.kpis = None
        self.tickets += 1
        self.tickets_breached += breached
        self.customer_messages += facts.customer_messages
        self.answered_messages += facts.answered_messages
        self.agent_replies += facts.agent_replies
        if facts.solved:
            self.solved += 1
            if facts.agent_replies == 1 and not facts.reopened and not facts.reassigned:
                self.fcr += 1
            if facts.handle_time is not None:
                self.handle_times.append(facts.handle_time)
        if facts.ever_solved:
            self.ever_solved += 1
            self.reopened += facts.reopened
        if facts.csat is not None:
            self.csat[facts.csat] = self.csat.get(facts.csat, 0) + 1
        if customer is not None:
            self.customers.append(customer)

    def add_clock(self, clock: ClockResult) -> None:
        """Count one clock instance."""
        self.add_clocks([prepare(clock)])

    def add_clocks(self, clocks: Iterable[PreparedClock]) -> None:
        """Count clock instances prepared by :func:`prepare` (one call for all of a ticket's)."""
        self.kpis = None
        metrics = self.metrics
        counted = 0
        for metric, state, margin, running, business, calendar, target, misses in clocks:
            counted += 1
            stats = metrics.get(metric)
            if stats is None:
                stats = metrics[metric] = MetricStats()
            stats.misses += misses
            targets = stats.targets
            targets[target] = targets.get(target, 0) + 1
            if state == ACHIEVED:
                stats.achieved += 1
            elif state == BREACHED:
                stats.breached += 1
                stats.margins.append(margin)
                if running:
                    stats.breached_open += 1
            elif state == CANCELLED:
                stats.cancelled += 1
            elif state == ACTIVE:
                stats.active += 1
            elif state == PAUSED:
                stats.paused += 1
            if calendar >= 0:
                stats.business.append(business)
                stats.calendar.append(calendar)
        self.clocks += counted

    def compact(self) -> None:
        """Drop repeated customer hashes (a customer counts once per group); sort the values
        unless numpy will (:mod:`slaengine.audit.summaries`).

        Without numpy, sorting here, in the worker that built the part, leaves the
        parent sorted runs to merge: ``sorted`` of the concatenated parts (for
        percentiles) is then close to linear. numpy's sort gains nothing from runs.
        """
        if sorts_values():
            self.customers = array("q", set(self.customers))
            return
        self.customers = unique_sorted(self.customers)
        self.handle_times = sorted_values(self.handle_times)
        for stats in self.metrics.values():
            stats.business = sorted_values(stats.business)
            stats.calendar = sorted_values(stats.calendar)
            stats.margins = sorted_values(stats.margins)

    def merge(self, other: GroupStats) -> None:
        """Add ``other``'s counts and values to these."""
        self.kpis = None
        self.released = self.released or other.released
        self.tickets += other.tickets
        self.tickets_breached += other.tickets_breached
        self.clocks += other.clocks
        self.customer_messages += other.customer_messages
        self.answered_messages += other.answered_messages
        self.agent_replies += other.agent_replies
        self.solved += other.solved
        self.fcr += other.fcr
        self.ever_solved += other.ever_solved
        self.reopened += other.reopened
        self.handle_times.extend(other.handle_times)
        for score, count in other.csat.items():
            self.csat[score] = self.csat.get(score, 0) + count
        self.customers.extend(other.customers)
        for metric, stats in other.metrics.items():
            mine = self.metrics.get(metric)
            if mine is None:
                mine = self.metrics[metric] = MetricStats()
            mine.merge(stats)


def concatenated(parts: Sequence[array[int]]) -> array[int]:
    """The values of ``parts``, one after another, as a new array (copied in two passes of
    bytes, never value by value: extending an array part by part copies it again each
    time it grows)."""
    if len(parts) == 1:
        return array("q", parts[0])
    return array("q", b"".join(parts))


def sum_metrics(parts: Sequence[MetricStats]) -> MetricStats:
    """One metric's stats summed over ``parts`` (as merging each into an empty one)."""
    out = MetricStats(
        achieved=sum(part.achieved for part in parts),
        breached=sum(part.breached for part in parts),
        cancelled=sum(part.cancelled for part in parts),
        active=sum(part.active for part in parts),
        paused=sum(part.paused for part in parts),
        breached_open=sum(part.breached_open for part in parts),
        misses=sum(part.misses for part in parts),
        business=concatenated([part.business for part in parts]),
        calendar=concatenated([part.calendar for part in parts]),
        margins=concatenated([part.margins for part in parts]),
    )
    targets = out.targets
    for part in parts:
        for target, count in part.targets.items():
            targets[target] = targets.get(target, 0) + count
    return out


def sum_groups(parts: Sequence[GroupStats]) -> GroupStats:
    """A new group holding what ``parts`` add up to, the same as merging each into an empty
    group in turn, with every array built once (summing the views from the finest groups)."""
    if len(parts) == 1:
        out = GroupStats()
        out.merge(parts[0])
        return out
    out = GroupStats(
        tickets=sum(part.tickets for part in parts),
        tickets_breached=sum(part.tickets_breached for part in parts),
        clocks=sum(part.clocks for part in parts),
        customer_messages=sum(part.customer_messages for part in parts),
        answered_messages=sum(part.answered_messages for part in parts),
        agent_replies=sum(part.agent_replies for part in parts),
        solved=sum(part.solved for part in parts),
        fcr=sum(part.fcr for part in parts),
        ever_solved=sum(part.ever_solved for part in parts),
        reopened=sum(part.reopened for part in parts),
        handle_times=concatenated([part.handle_times for part in parts]),
        customers=concatenated([part.customers for part in parts]),
    )
    out.released = any(part.released for part in parts)
    csat = out.csat
    by_metric: dict[str, list[MetricStats]] = {}
    for part in parts:
        for score, count in part.csat.items():
            csat[score] = csat.get(score, 0) + count
        for metric, stats in part.metrics.items():
            found = by_metric.get(metric)
            if found is None:
                by_metric[metric] = [stats]
            else:
                found.append(stats)
    out.metrics = {metric: sum_metrics(stats) for metric, stats in by_metric.items()}
    return out


#: What the accumulator keeps of a clock: metric, state, margin (target - elapsed), still
#: running, business seconds, calendar seconds (-1 unless :func:`completed`), target,
#: misses (its ``misses``, else 1 when breached).
PreparedClock = tuple[str, str, int, bool, int, int, int, int]


def prepare(clock: ClockResult, policy: Policy | None = None) -> PreparedClock:
    """The part of a clock the accumulator counts; ``policy`` as for :func:`completed`."""
    stop = clock.stop
    calendar = stop - clock.start if stop is not None and completed(clock, policy) else -1
    return (
        clock.qualified_metric,
        clock.state,
        clock.target - clock.elapsed,
        stop is None,
        clock.elapsed,
        calendar,
        clock.target,
        (clock.state == BREACHED) if clock.misses is None else clock.misses,
    )


def completed(clock: ClockResult, policy: Policy | None = None) -> bool:
    """True when the clock measured a full duration: a response metric fulfilled by a
    reply, a resolution clock stopped by the solve, any other metric stopped by its
    fulfilment, which is the solve for a user-defined metric of ``policy`` that a solve
    fulfils (:func:`slaengine.metric_names.solve_fulfilling`); not one whose agreement
    detached."""
    if clock.stop is None:
        return False
    reason = clock.stop_reason
    if reason == StopReason.DETACHED:
        return False  # its agreement detached: the clock stopped before its end
    if reason == FULFILLED or clock.metric == RESOLUTION:
        return True
    # The definitions are read only for a user-defined metric's solve.
    return (
        reason == SOLVED
        and clock.metric not in BUILTIN_LABELS
        and clock.metric in solve_fulfilling(policy)
    )


def customer_hash(customer: str) -> int:
    """A stable signed 64-bit hash of a customer id (same in every process and run)."""
    digest = hashlib.blake2b(customer.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


__all__ = [
    "GroupStats",
    "MetricStats",
    "PreparedClock",
    "completed",
    "concatenated",
    "customer_hash",
    "prepare",
    "sum_groups",
    "sum_metrics",
]
