"""The audit accumulator: every view's groups over many tickets, mergeable across partitions.

:class:`AuditAccumulator` takes one evaluated ticket at a time
(:meth:`AuditAccumulator.add_ticket`) and keeps, for each *view* (a tuple of
dimensions such as ``("channel", "priority")``), one
:class:`~slaengine.audit.groups.GroupStats` per combination of values. It reads
what the engine recorded (each clock's state, elapsed time, target, stop) and
the ticket's facts; it applies no clock rule of its own. Two accumulators merge
exactly (:meth:`AuditAccumulator.merge`) and percentiles are computed only at
the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final

from slaengine.audit.breaches import WORST_BREACHES, BreachRecord, keep_worst, ranks
from slaengine.audit.facts import TicketFacts, final_solve, ticket_facts
from slaengine.audit.groups import (
    GroupStats,
    MetricStats,
    PreparedClock,
    completed,
    customer_hash,
    prepare,
    sum_groups,
)
from slaengine.audit.owners import NONE, clock_agent, clock_agreement, ticket_agent
from slaengine.audit.periods import LocalBuckets
from slaengine.audit.views import (
    DIMENSIONS,
    FINE,
    GOAL_VIEWS,
    METRIC,
    PER_CLOCK,
    STANDARD_VIEWS,
    parse_dimensions,
    views_for,
)
from slaengine.clocks import BREACHED, FULFILLED, ClockResult
from slaengine.engine import TicketResult
from slaengine.timeline import Timeline

HOURS_OF_WEEK: Final = 7 * 24


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
    # Tickets not yet rolled up into the views without a per-clock dimension: one group
    # per combination of every ticket-level dimension (see _rollup). A constructor
    # argument, so that an accumulator pickled as its constructor call (a part sent
    # between processes, see slaengine.compiled.register_pickling) keeps them.
    _fine: dict[tuple[str, ...], GroupStats] = field(
        default_factory=dict, repr=False, compare=False
    )
    _rolled: list[tuple[tuple[str, ...], tuple[int, ...]]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    # Views with a per-clock dimension: each with the positions of its dimensions among
    # DIMENSIONS and of agent, agreement and group in its key (-1: not in the view).
    _direct: list[tuple[tuple[str, ...], tuple[int, ...], int, int, int]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )
    # Customer id -> customer_hash, while tickets are added (not sent between processes).
    _customers: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for view in self.views:
            self.groups.setdefault(view, {})
            if any(d in view for d in PER_CLOCK):
                agent = view.index("agent") if "agent" in view else -1
                agreement = view.index("agreement") if "agreement" in view else -1
                group = view.index("group") if "group" in view else -1
                positions = tuple(DIMENSIONS.index(d) for d in view)
                self._direct.append((view, positions, agent, agreement, group))
            else:
                self._rolled.append((view, tuple(FINE.index(d) for d in view)))

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
        self.events += facts.events
        chosen = result.policy
        if chosen is None:
            self.unmatched += 1
            policy = NONE
        else:
            policy = chosen.name
        buckets = self.buckets
        period, hour = buckets.local(state.created)
        self.volume_by_hour[hour] += 1
        customer: int | None = None
        if state.customer is not None:
            customer = self._customers.get(state.customer)
            if customer is None:
                customer = self._customers[state.customer] = customer_hash(state.customer)
        solved_at = facts.solved_at
        if solved_at is not None:
            solved_period = buckets.period_of(solved_at)
            solved = self.solved_by_period
            solved[solved_period] = solved.get(solved_period, 0) + 1
        group_name = state.group or NONE
        clocks = result.clocks
        agreements = result.agreements
        # What is counted of each clock, read off the engine's result once for every group.
        prepared: list[PreparedClock] = []
        breached = False
        held = False
        for clock in clocks:
            stop = clock.stop
            calendar = -1
            if stop is not None and (
                clock.stop_reason == FULFILLED
                or completed(clock, result.policy_of(clock) if agreements else chosen)
            ):
                calendar = stop - clock.start
            elapsed, target, clock_state = clock.elapsed, clock.target, clock.state
            metric = clock.metric if clock.agreement is None else clock.qualified_metric
            misses = (clock_state == BREACHED) if clock.misses is None else clock.misses
            prepared.append(
                (
                    metric,
                    clock_state,
                    target - elapsed,
                    stop is None,
                    elapsed,
                    calendar,
                    target,
                    misses,
                )
            )
            held = held or clock.group is not None
            if clock_state == BREACHED:
                breached = True
                if clock.due is not None:
                    self.breaches_by_hour[buckets.hour_of_week(clock.due)] += 1
                self._keep_breach(result, clock, metric, policy, group_name, facts.last_agent)
        # Views without a per-clock dimension group whole tickets: count the ticket once,
        # in its finest group; the views are sums of those groups (see _rollup).
        fine_key = (state.channel, state.priority, policy, group_name, period)
        fine = self._fine.get(fine_key)
        if fine is None:
            fine = self._fine[fine_key] = GroupStats()
        fine.add_facts(facts, customer, breached)
        # Only a defined metric (a policy with rules) or an agreement can count per group.
        if held and (agreements or (chosen is not None and chosen.has_rules)):
            self._add_held(fine, fine_key, clocks, prepared)
        else:
            fine.add_clocks(prepared)
        if self._direct:
            row = (state.channel, state.priority, policy, group_name,
                   ticket_agent(result, facts), period, policy)  # fmt: skip
            self._add_direct(row, result, facts, customer, breached, prepared)
        return facts

    def _add_direct(
        self,
        row: tuple[str, ...],
        result: TicketResult,
        facts: TicketFacts,
        customer: int | None,
        breached: bool,
        prepared: Sequence[PreparedClock],
    ) -> None:
        # The views with a per-clock dimension: the ticket's facts to its group (and to
        # its agreements' groups), each clock to the group of its own agent, agreement
        # and holding group. ``row`` holds the ticket's value of each of DIMENSIONS.
        clocks = result.clocks
        last_agent = facts.last_agent
        for view, positions, agent_at, agreement_at, group_at in self._direct:
            table = self.groups[view]
            key = tuple([row[p] for p in positions])
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
            own: list[PreparedClock] = []  # the clocks that go to the ticket's own group
            for clock, ready in zip(clocks, prepared, strict=True):
                clock_key = list(key)
                if agent_at >= 0:
                    clock_key[agent_at] = clock_agent(result, clock, last_agent)
                if agreement_at >= 0:
                    clock_key[agreement_at] = clock_agreement(result, clock)
                if group_at >= 0 and clock.group is not None:
                    clock_key[group_at] = clock.group
                found = tuple(clock_key)
                if found == key:
                    own.append(ready)
                    continue
                other = table.get(found)
                if other is None:
                    other = table[found] = GroupStats()
                other.add_clocks((ready,))
            if own:
                group.add_clocks(own)

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
        metric: str,
        policy: str,
        group: str,
        last_agent: str | None,
    ) -> None:
        # A breached clock, kept when it is among its metric's worst so far.
        worst = self.worst_breaches.get(metric)
        if worst is None:
            worst = self.worst_breaches[metric] = []
        margin = clock.target - clock.elapsed
        if not ranks(worst, margin, result.ticket, clock.instance):
            return  # the common case once the list is full: no record built
        state = result.state
        record: BreachRecord = (
            margin, result.ticket, clock.instance, policy, state.channel, state.priority, group,
            clock_agent(result, clock, last_agent), clock.start, clock.due, clock.stop,
            clock.elapsed, clock.target,
        )  # fmt: skip
        keep_worst(worst, record)

    def _rollup(self) -> None:
        # Add the finest groups into every view without a per-clock dimension. Durations
        # are kept whole, so the sums are exact; groups appear in the order their first
        # ticket was added, as if each ticket had been added to each view.
        if not self._fine:
            return
        fine = self._fine
        self._fine = {}
        for view, positions in self._rolled:
            _sum_into(self.groups[view], positions, fine)

    def add_all(self, pairs: Iterable[tuple[Timeline, TicketResult | None]], now: int) -> None:
        """Add many tickets; ``None`` results are tickets created after ``now``."""
        for timeline, result in pairs:
            if result is None:
                self.skip()
            else:
                self.add_ticket(timeline, result, now)

    def compact(self) -> None:
        """Shrink per-group customer sets; call before sending a part to another process.

        The views without a per-clock dimension are not summed up here but where
        the parts are merged, once for all of them (:meth:`view`): a part carries
        each of its tickets once, in its finest group, instead of once per view.
        """
        self._customers = {}
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

    def settle(self, prepare: Callable[[list[GroupStats]], None], keep_values: bool = True) -> None:
        """Hand the groups of every view to ``prepare`` (which computes their KPIs).

        Without ``keep_values`` the views are summed from the finest groups two at a
        time, when their turn comes, and their groups' values are released once
        prepared (:meth:`GroupStats.release_values`): at most two views' values are
        held beside the finest groups', instead of every view's at once. Two, because
        ``prepare`` may share its groups between processes, and every view holds
        about the same values. The groups, their order and their KPIs are the same
        either way.
        """
        if keep_values:
            self._rollup()
            turns = [self.views]
        else:
            turns = [self.views[i : i + 2] for i in range(0, len(self.views), 2)]
        fine = self._fine
        rolled = dict(self._rolled)
        for views in turns:
            groups: list[GroupStats] = []
            for view in views:
                table = self.groups[view]
                positions = rolled.get(view)
                if positions is not None and fine:
                    _sum_into(table, positions, fine)
                groups.extend(table.values())
            prepare(groups)
            if not keep_values:
                for group in groups:
                    group.release_values()
        self._fine = {}

    def view(self, dimensions: Sequence[str]) -> dict[tuple[str, ...], GroupStats]:
        """The groups of one kept view, by their key."""
        self._rollup()
        return self.groups[tuple(dimensions)]


def _sum_into(
    table: dict[tuple[str, ...], GroupStats],
    positions: tuple[int, ...],
    fine: dict[tuple[str, ...], GroupStats],
) -> None:
    # Add the finest groups into one view's table: the finest groups of each of its keys
    # summed at once (sum_groups), the keys in the order of their first finest group.
    parts: dict[tuple[str, ...], list[GroupStats]] = {}
    for fine_key, stats in fine.items():
        key = tuple([fine_key[p] for p in positions])
        found = parts.get(key)
        if found is None:
            parts[key] = [stats]
        else:
            found.append(stats)
    for key, found in parts.items():
        summed = sum_groups(found)
        target = table.get(key)
        if target is None:
            table[key] = summed
        else:
            target.merge(summed)


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
