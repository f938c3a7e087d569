"""Backtest a policy change: evaluate history under two policy sets and compare outcomes.

:func:`compare_ticket` compares one ticket's evaluations, and a :class:`Backtest`
accumulates them. Backtests of parts of the history merge exactly (sums and
sorted lists), so :func:`backtest_file`, which runs partitions in parallel on
the batch runner the audit uses, gives the single-process result.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import partial
from zoneinfo import ZoneInfo

from slaengine.batches import BatchResult, fold_tickets
from slaengine.clocks import ACHIEVED, BREACHED, ClockResult
from slaengine.engine import TicketResult, evaluate_timeline
from slaengine.metric_names import ordered_metrics
from slaengine.policy.model import PolicySet
from slaengine.timeline import Timeline, TimelineSet
from slaengine.vocabulary import ClockState

# Outcome of one clock instance as far as compliance is concerned.
MET = "achieved"
MISSED = "breached"  # breached (stopped or still running)
OPEN = "open"  # active or paused: still running within target (docs/kpis.md)
CANCELLED = "cancelled"  # stopped within target without being met
ABSENT = "absent"  # the metric has no such instance under this policy set


def outcome(clock: ClockResult | None) -> str:
    """Compliance outcome of a clock instance (``absent`` for ``None``)."""
    if clock is None:
        return ABSENT
    if clock.state == ACHIEVED:
        return MET
    if clock.state == BREACHED:
        return MISSED
    if clock.state == ClockState.CANCELLED:
        return CANCELLED
    return OPEN  # open and cancelled count neither way in compliance


@dataclass(frozen=True, slots=True, order=True)
class Flip:
    """One clock instance whose outcome differs between the old and new policies."""

    ticket: str
    metric: str
    instance: int
    old: str
    new: str
    old_policy: str | None
    new_policy: str | None


@dataclass(slots=True)
class Tally:
    """Met and breached clock counts under the old and the new policies."""

    old_met: int = 0
    old_breached: int = 0
    new_met: int = 0
    new_breached: int = 0

    def add(self, other: Tally) -> None:
        """Add ``other``'s counts to this tally."""
        self.old_met += other.old_met
        self.old_breached += other.old_breached
        self.new_met += other.new_met
        self.new_breached += other.new_breached

    @staticmethod
    def _rate(met: int, breached: int) -> float | None:
        return met / (met + breached) if met + breached else None

    @property
    def old_compliance(self) -> float | None:
        """Share of decided clocks achieved under the old policies (``None``: none decided)."""
        return self._rate(self.old_met, self.old_breached)

    @property
    def new_compliance(self) -> float | None:
        """Share of decided clocks achieved under the new policies."""
        return self._rate(self.new_met, self.new_breached)


GroupKey = tuple[str, str, str]  # metric, channel, priority


@dataclass(slots=True)
class Backtest:
    """Everything a what-if comparison reports, mergeable across parts of the history."""

    tickets: int = 0
    unmatched_old: int = 0
    unmatched_new: int = 0
    policy_changed: int = 0
    groups: dict[GroupKey, Tally] = field(default_factory=dict)
    flips: list[Flip] = field(default_factory=list)
    # Breached clocks per ISO week (of the due instant, in the backtest's zone) under each
    # policy set.
    old_weekly: dict[str, int] = field(default_factory=dict)
    new_weekly: dict[str, int] = field(default_factory=dict)
    weeks: set[str] = field(default_factory=set)  # ISO weeks in which tickets were created

    def merge(self, other: Backtest) -> None:
        """Add another part's results to this one."""
        self.tickets += other.tickets
        self.unmatched_old += other.unmatched_old
        self.unmatched_new += other.unmatched_new
        self.policy_changed += other.policy_changed
        for key, tally in other.groups.items():
            self.groups.setdefault(key, Tally()).add(tally)
        self.flips.extend(other.flips)
        self.flips.sort()
        for mine, theirs in (
            (self.old_weekly, other.old_weekly),
            (self.new_weekly, other.new_weekly),
        ):
            for week, count in theirs.items():
                mine[week] = mine.get(week, 0) + count
        self.weeks |= other.weeks

    def total(self, metric: str | None = None) -> Tally:
        """Counts over every group, or over one metric's groups."""
        tally = Tally()
        for (group_metric, _channel, _priority), counts in self.groups.items():
            if metric is None or group_metric == metric:
                tally.add(counts)
        return tally

    def by(self, dimension: int) -> dict[str, Tally]:
        """Counts grouped by metric (0), channel (1) or priority (2)."""
        out: dict[str, Tally] = {}
        for key, counts in self.groups.items():
            out.setdefault(key[dimension], Tally()).add(counts)
        if dimension == 0:  # built-in metrics in report order, then user-defined ones
            return {metric: out[metric] for metric in ordered_metrics(out)}
        return dict(sorted(out.items()))

    def breaches_per_week(self) -> tuple[float, float]:
        """Average breached clocks per week of history, old and new."""
        weeks = max(len(self.weeks), 1)
        return sum(self.old_weekly.values()) / weeks, sum(self.new_weekly.values()) / weeks


def _iso_week(t: int, zone: dt.tzinfo) -> str:
    year, week, _ = dt.datetime.fromtimestamp(t, zone).isocalendar()
    return f"{year}-W{week:02d}"


def compare_ticket(
    old: TicketResult, new: TicketResult, into: Backtest, zone: dt.tzinfo = dt.UTC
) -> None:
    """Add one ticket's old and new evaluations to ``into``; weeks as ``zone`` counts them."""
    into.tickets += 1
    into.weeks.add(_iso_week(old.state.created, zone))
    old_name = old.policy.name if old.policy else None
    new_name = new.policy.name if new.policy else None
    into.unmatched_old += old_name is None
    into.unmatched_new += new_name is None
    into.policy_changed += old_name != new_name
    channel, priority = new.state.channel, new.state.priority
    # An agreement's clock is its metric after the agreement's name and a "/": two
    # agreements' clocks of one metric are compared apart.
    old_clocks = {(c.qualified_metric, c.instance): c for c in old.clocks}
    new_clocks = {(c.qualified_metric, c.instance): c for c in new.clocks}
    for key in sorted(old_clocks.keys() | new_clocks.keys()):
        before, after = old_clocks.get(key), new_clocks.get(key)
        was, now = outcome(before), outcome(after)
        tally = into.groups.setdefault((key[0], channel, priority), Tally())
        tally.old_met += was == MET
        tally.old_breached += was == MISSED
        tally.new_met += now == MET
        tally.new_breached += now == MISSED
        for clock, state, weekly in ((before, was, into.old_weekly), (after, now, into.new_weekly)):
            if state == MISSED and clock is not None and clock.due is not None:
                week = _iso_week(clock.due, zone)
                weekly[week] = weekly.get(week, 0) + 1
        if (was == MISSED) != (now == MISSED):
            into.flips.append(Flip(old.ticket, key[0], key[1], was, now, old_name, new_name))


def backtest(
    old: PolicySet, new: PolicySet, timelines: Iterable[Timeline], now: int, zone: str = "UTC"
) -> Backtest:
    """Evaluate every ticket under both policy sets at ``now`` and compare.

    ``zone`` (an IANA name) is where the weeks of the weekly figures begin and end.
    """
    tz = ZoneInfo(zone)
    result = Backtest()
    for timeline in timelines:
        before = evaluate_timeline(old, timeline, now)
        if before is None:
            continue
        after = evaluate_timeline(new, timeline, now)
        assert after is not None  # same timeline, same instant: both or neither exist
        compare_ticket(before, after, result, tz)
    result.flips.sort()
    return result


def backtest_part(
    old: PolicySet, new: PolicySet, now: int, timelines: TimelineSet, zone: str = "UTC"
) -> Backtest:
    """:func:`backtest` of one partition's timelines."""
    return backtest(old, new, timelines.timelines.values(), now, zone)


def backtest_file(
    old: PolicySet,
    new: PolicySet,
    events: str | os.PathLike[str],
    now: int,
    jobs: int = 1,
    zone: str = "UTC",
) -> tuple[Backtest, BatchResult[Backtest]]:
    """Backtest every ticket of an events file, partitioned by ticket, in ``jobs`` processes.

    The merged result equals a single-process run: partitions merge exactly. ``zone``
    is where weeks begin, as for :func:`backtest`.
    """
    return fold_tickets(
        events,
        partial(backtest_part, old, new, now, zone=zone),
        Backtest,
        Backtest.merge,
        jobs=jobs,
        status_map={**old.status_map, **new.status_map},
    )


__all__ = [
    "ABSENT",
    "CANCELLED",
    "MET",
    "MISSED",
    "OPEN",
    "Backtest",
    "Flip",
    "Tally",
    "backtest",
    "backtest_file",
    "backtest_part",
    "compare_ticket",
    "outcome",
]
