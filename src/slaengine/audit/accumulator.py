"""The audit accumulator: per-group counts and durations, mergeable across partitions.

:class:`AuditAccumulator` takes one evaluated ticket at a time
(:meth:`AuditAccumulator.add_ticket`) and keeps, for each *view* (a tuple of
dimensions such as ``("channel", "priority")``), one :class:`GroupStats` per
combination of values. Everything is a count, an integer array or a value
histogram, so two accumulators merge exactly (:meth:`AuditAccumulator.merge`)
and percentiles are computed only at the end.
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from slaengine.audit.facts import TicketFacts, ticket_facts
from slaengine.audit.owners import NONE, clock_agent, clock_agreement, ticket_agent
from slaengine.audit.periods import LocalBuckets
from slaengine.audit.stats import new_values, sorted_values, unique_sorted
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
from slaengine.engine import TicketResult
from slaengine.metric_names import BUILTIN_LABELS, solve_fulfilling
from slaengine.policy.model import RESOLUTION, Policy
from slaengine.timeline import STOPPED_STATUSES, Timeline
from slaengine.vocabulary import StopReason

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
# Dimensions a clock has apart from its ticket: who fulfilled it, whose agreement it is.
_PER_CLOCK: Final = ("agent", "agreement")
#: Views kept only when policies set attainment goals (slaengine.audit.goals).
GOAL_VIEWS: Final[tuple[tuple[str, ...], ...]] = (("policy", "period"), ("policy", "group"))
HOURS_OF_WEEK: Final = 7 * 24
#: Breached clocks kept per metric for the drill-down: the worst (most overdue) first.
WORST_BREACHES: Final = 10
# The dimensions of a ticket as a whole (all but the per-clock "agent"), finest first.
_FINE: Final = ("channel", "priority", "policy", "group", "period")


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
    # every change through these methods forgets.
    kpis: dict[str, Any] | None = field(default=None, init=False, repr=False, compare=False)

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
        for metric, state, margin, running, business, calendar, target, misses in clocks:
            self.clocks += 1
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

    def compact(self) -> None:
        """Drop repeated customer hashes (a customer counts once per group); sort the values.

        Sorting here, in the worker that built the part, leaves the parent
        sorted runs to merge: the final sort of the concatenated parts (for
        percentiles) is then close to linear instead of the main serial cost.
        """
        self.customers = unique_sorted(self.customers)
        self.handle_times = sorted_values(self.handle_times)
        for stats in self.metrics.values():
            stats.business = sorted_values(stats.business)
            stats.calendar = sorted_values(stats.calendar)
            stats.margins = sorted_values(stats.margins)

    def merge(self, other: GroupStats) -> None:
        """Add ``other``'s counts and values to these."""
        self.kpis = None
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


#: A breached clock kept for the drill-down: margin (target - elapsed, negative), ticket,
#: instance, policy, channel, priority, group, agent, start, due, stop (None while running),
#: elapsed, target. Ordered by margin (worst first), then ticket and instance: a total order
#: over one metric's clocks, so the kept ones do not depend on how tickets were partitioned.
BreachRecord = tuple[int, str, int, str, str, str, str, str, int, int | None, int | None, int, int]


def keep_worst(worst: list[BreachRecord], record: BreachRecord) -> None:
    """Add ``record`` to ``worst`` (sorted, at most :data:`WORST_BREACHES` long) if it ranks."""
    if len(worst) >= WORST_BREACHES and record[:3] >= worst[-1][:3]:
        return
    bisect.insort(worst, record, key=_rank)
    if len(worst) > WORST_BREACHES:
        worst.pop()


def _rank(record: BreachRecord) -> tuple[int, str, int]:
    return record[0], record[1], record[2]


def final_solve(timeline: Timeline, now: int) -> int | None:
    """When a ticket solved (or closed) at ``now`` was solved for the last time.

    Read from the end: the earliest status of the trailing run of solved/closed
    statuses (``solved -> closed`` keeps the solve). ``None`` when it is not solved.
    """
    events = timeline.events
    found: int | None = None
    for index in range(len(events) - 1, -1, -1):
        event = events[index]
        if event.at > now or (event.type != "status" and index):
            continue
        status = event.status or ("new" if not index else None)
        if status is None:
            continue
        if status not in STOPPED_STATUSES:
            break
        found = event.at
    return found


@dataclass(slots=True)
class AuditAccumulator:
    """Every KPI's raw material over many tickets, grouped by each view.

    ``views`` lists the groupings kept (see :data:`STANDARD_VIEWS`); ``buckets``
    says in which time zone periods and hours of week are counted.
    """

    buckets: LocalBuckets
    views: tuple[tuple[str, ...], ...] = STANDARD_VIEWS
    tickets: int = 0
    events: int = 0  # events of evaluated tickets at or before the evaluation instant
    not_yet_created: int = 0  # tickets created after the evaluation instant
    unmatched: int = 0
    volume_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS_OF_WEEK)
    breaches_by_hour: list[int] = field(default_factory=lambda: [0] * HOURS_OF_WEEK)
    # Tickets solved at the evaluation instant, by the period of their final solve.
    solved_by_period: dict[str, int] = field(default_factory=dict)
    # Per metric, the WORST_BREACHES most overdue breached clocks (see keep_worst).
    worst_breaches: dict[str, list[BreachRecord]] = field(default_factory=dict)
    groups: dict[tuple[str, ...], dict[tuple[str, ...], GroupStats]] = field(default_factory=dict)
    # Tickets not yet rolled up into the views without "agent": one group per
    # combination of every ticket-level dimension (see _rollup).
    _fine: dict[tuple[str, ...], GroupStats] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _rolled: list[tuple[tuple[str, ...], tuple[int, ...]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    # Views with a per-clock dimension: each with the positions of agent, agreement and
    # group in its key (-1: not in the view).
    _direct: list[tuple[tuple[str, ...], int, int, int]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        for view in self.views:
            self.groups.setdefault(view, {})
            if any(d in view for d in _PER_CLOCK):
                agent = view.index("agent") if "agent" in view else -1
                agreement = view.index("agreement") if "agreement" in view else -1
                group = view.index("group") if "group" in view else -1
                self._direct.append((view, agent, agreement, group))
            else:
                self._rolled.append((view, tuple(_FINE.index(d) for d in view)))

    def skip(self) -> None:
        """Count a ticket created after the evaluation instant (not evaluated)."""
        self.not_yet_created += 1

    def add_ticket(self, timeline: Timeline, result: TicketResult, now: int) -> TicketFacts:
        """Add one evaluated ticket: its facts to each of its groups, each clock to its group.

        Returns the ticket's facts (the breaches CSV names clocks' agents as the audit does).
        """
        state = result.state
        facts = ticket_facts(timeline, now)
        self.tickets += 1
        self.events += _events_until(timeline, now)
        self.unmatched += result.policy is None
        buckets = self.buckets
        policy = result.policy.name if result.policy is not None else NONE
        group_name = state.group or NONE
        period = buckets.period_of(state.created)
        self.volume_by_hour[buckets.hour_of_week(state.created)] += 1
        customer = customer_hash(state.customer) if state.customer is not None else None
        clocks = result.clocks
        if result.agreements:  # an agreement's clock is its agreement's metric
            prepared = [prepare(clock, result.policy_of(clock)) for clock in clocks]
        else:
            prepared = [prepare(clock, result.policy) for clock in clocks]
        if facts.solved:
            solved_at = final_solve(timeline, now)
            if solved_at is not None:
                solved_period = buckets.period_of(solved_at)
                solved = self.solved_by_period
                solved[solved_period] = solved.get(solved_period, 0) + 1
        breached = False
        for clock in clocks:
            if clock.state == BREACHED:
                breached = True
                if clock.due is not None:
                    self.breaches_by_hour[buckets.hour_of_week(clock.due)] += 1
                self._keep_breach(result, clock, policy, group_name, facts.last_agent)
        # Views without "agent" group whole tickets: count the ticket once, in its
        # finest group; the views are sums of those groups (rolled up in _rollup).
        fine_key = (state.channel, state.priority, policy, group_name, period)
        fine = self._fine.get(fine_key)
        if fine is None:
            fine = self._fine[fine_key] = GroupStats()
        fine.add_facts(facts, customer, breached)
        # Only a defined metric (a policy with rules) or an agreement can count per group.
        policy_rules = result.policy is not None and result.policy.has_rules
        if (result.agreements or policy_rules) and any(c.group is not None for c in clocks):
            self._add_held(fine, fine_key, clocks, prepared)
        else:
            fine.add_clocks(prepared)
        if not self._direct:
            return facts
        values = {
            "channel": state.channel,
            "priority": state.priority,
            "policy": policy,
            "group": group_name,
            "agent": ticket_agent(result, facts),
            "period": period,
            "agreement": policy,
        }
        for view, agent_at, agreement_at, group_at in self._direct:
            table = self.groups[view]
            key = tuple([values[d] for d in view])
            group = table.get(key)
            if group is None:
                group = table[key] = GroupStats()
            group.add_facts(facts, customer, breached)
            if agreement_at >= 0:
                # A ticket counts under each agreement attached to it, as under its policy.
                for agreement in result.agreements:
                    held = (*key[:agreement_at], agreement.name, *key[agreement_at + 1 :])
                    other = table.get(held)
                    if other is None:
                        other = table[held] = GroupStats()
                    other.add_facts(facts, customer, breached)
            for clock, ready in zip(clocks, prepared, strict=True):
                clock_key = list(key)
                if agent_at >= 0:
                    clock_key[agent_at] = clock_agent(result, clock, facts.last_agent)
                if agreement_at >= 0:
                    clock_key[agreement_at] = clock_agreement(result, clock)
                if group_at >= 0 and clock.group is not None:
                    clock_key[group_at] = clock.group
                other = table.get(tuple(clock_key))
                if other is None:
                    other = table[tuple(clock_key)] = GroupStats()
                other.add_clocks((ready,))
        return facts

    def _add_held(
        self,
        fine: GroupStats,
        fine_key: tuple[str, ...],
        clocks: Sequence[ClockResult],
        prepared: Sequence[PreparedClock],
    ) -> None:
        # A clock counted per group belongs to the group that held the ticket, not to
        # the ticket's group now: each goes to the finest group of its own group.
        for clock, ready in zip(clocks, prepared, strict=True):
            if clock.group is None:
                fine.add_clocks((ready,))
                continue
            key = (*fine_key[:3], clock.group, *fine_key[4:])
            held = self._fine.get(key)
            if held is None:
                held = self._fine[key] = GroupStats()
            held.add_clocks((ready,))

    def _keep_breach(
        self,
        result: TicketResult,
        clock: ClockResult,
        policy: str,
        group: str,
        last_agent: str | None,
    ) -> None:
        # A breached clock, kept when it is among its metric's worst so far.
        worst = self.worst_breaches.get(clock.qualified_metric)
        if worst is None:
            worst = self.worst_breaches[clock.qualified_metric] = []
        margin = clock.target - clock.elapsed
        if len(worst) >= WORST_BREACHES and (margin, result.ticket, clock.instance) >= _rank(
            worst[-1]
        ):
            return  # the common case once the list is full: no record built
        state = result.state
        record: BreachRecord = (
            margin, result.ticket, clock.instance, policy, state.channel, state.priority, group,
            clock_agent(result, clock, last_agent), clock.start, clock.due, clock.stop,
            clock.elapsed, clock.target,
        )  # fmt: skip
        keep_worst(worst, record)

    def _rollup(self) -> None:
        # Add the finest groups into every view without "agent". Durations are kept
        # whole, so the sums are exact; groups appear in the order their first
        # ticket was added, as if each ticket had been added to each view.
        if not self._fine:
            return
        fine = list(self._fine.items())
        self._fine = {}
        rolled = [(self.groups[view], positions) for view, positions in self._rolled]
        for i, (fine_key, stats) in enumerate(fine):
            fine[i] = _DONE  # let each finest group go as soon as it is added up
            for table, positions in rolled:
                key = tuple([fine_key[p] for p in positions])
                target = table.get(key)
                if target is None:
                    target = table[key] = GroupStats()
                target.merge(stats)

    def add_all(self, pairs: Iterable[tuple[Timeline, TicketResult | None]], now: int) -> None:
        """Add many tickets; ``None`` results are tickets created after ``now``."""
        for timeline, result in pairs:
            if result is None:
                self.skip()
            else:
                self.add_ticket(timeline, result, now)

    def compact(self) -> None:
        """Shrink per-group customer sets; call before sending a part to another process.

        The views without "agent" are not summed up here but where the parts
        are merged, once for all of them (:meth:`view`): a part carries each of
        its tickets once, in its finest group, instead of once per view.
        """
        for group in self._fine.values():
            group.compact()
        for table in self.groups.values():
            for group in table.values():
                group.compact()

    def merge(self, other: AuditAccumulator) -> None:
        """Add another part's results to this one (parts must use the same views)."""
        if other.views != self.views:
            raise ValueError("cannot merge audits kept by different views")
        fine = self._fine
        for key, group in other._fine.items():
            target = fine.get(key)
            if target is None:
                fine[key] = target = GroupStats()
            target.merge(group)
        self.tickets += other.tickets
        self.events += other.events
        self.not_yet_created += other.not_yet_created
        self.unmatched += other.unmatched
        for i in range(HOURS_OF_WEEK):
            self.volume_by_hour[i] += other.volume_by_hour[i]
            self.breaches_by_hour[i] += other.breaches_by_hour[i]
        for period, count in other.solved_by_period.items():
            self.solved_by_period[period] = self.solved_by_period.get(period, 0) + count
        for metric, records in other.worst_breaches.items():
            worst = self.worst_breaches.setdefault(metric, [])
            for record in records:
                keep_worst(worst, record)
        for view, table in other.groups.items():
            mine = self.groups[view]
            for key, group in table.items():
                target = mine.get(key)
                if target is None:
                    mine[key] = target = GroupStats()
                target.merge(group)

    def view(self, dimensions: Sequence[str]) -> dict[tuple[str, ...], GroupStats]:
        """The groups of one kept view, by their key."""
        self._rollup()
        return self.groups[tuple(dimensions)]


# Stands in for a finest group already added up (see AuditAccumulator._rollup).
_DONE: Final = ((), GroupStats())


def _events_until(timeline: Timeline, now: int) -> int:
    events = timeline.events
    if events[-1].at <= now:
        return len(events)
    return sum(1 for event in events if event.at <= now)


def views_for(by: Sequence[str], goals: bool = False) -> tuple[tuple[str, ...], ...]:
    """The standard views plus the ``--by`` combination when it is not one of them, and
    with ``goals`` the views attainment goals are reported by.

    ``metric`` is no view of its own: the report splits each group by metric.
    """
    chosen = tuple(d for d in by if d != METRIC)
    views = STANDARD_VIEWS if chosen in STANDARD_VIEWS else (*STANDARD_VIEWS, chosen)
    if goals:
        views += tuple(view for view in GOAL_VIEWS if view not in views)
    return views


__all__ = [
    "DIMENSIONS",
    "GOAL_VIEWS",
    "HOURS_OF_WEEK",
    "METRIC",
    "NONE",
    "STANDARD_VIEWS",
    "WORST_BREACHES",
    "AuditAccumulator",
    "BreachRecord",
    "GroupStats",
    "MetricStats",
    "PreparedClock",
    "clock_agent",
    "clock_agreement",
    "completed",
    "customer_hash",
    "final_solve",
    "keep_worst",
    "parse_dimensions",
    "prepare",
    "ticket_agent",
    "views_for",
]
