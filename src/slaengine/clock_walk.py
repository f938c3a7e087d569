"""The walk over a ticket's events that switches each metric's clock instances on and off.

Its output is raw: real-time windows in which each instance ran, how it stopped, the
events that switched it, the status changes and the priorities in event order.
:mod:`slaengine.clocks` measures them in business time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from slaengine.policy.model import (
    AGENT,
    ANY_OUTGOING,
    ASSIGNMENT,
    FIRST_BUSINESS_MINUTE,
    FIRST_RESPONSE,
    LATEST_CUSTOMER_MESSAGE,
    NEXT_RESPONSE,
    NOT_REQUESTER,
    PERIODIC_UPDATE,
    PUBLIC_AGENT,
    RESOLUTION,
    RESUME,
    STOP,
    MetricPolicy,
    Policy,
)
from slaengine.timeline import STOPPED_STATUSES, Event
from slaengine.vocabulary import StopReason

FULFILLED = StopReason.FULFILLED
SOLVED = StopReason.SOLVED
SUPERSEDED = StopReason.SUPERSEDED

# A status change: the instant, the new status and the event that made it.
StatusChange = tuple[int, str, Event]
# What a walk gives: the clock instances, the status changes, the priorities in event
# order (the created one first) and the update events that set the later ones.
Walk = tuple[list["RawClock"], list[StatusChange], list[str], list[Event]]


@dataclass(slots=True)
class RawClock:
    """A clock instance as switched on and off by events, before measuring."""

    metric: MetricPolicy
    number: int
    windows: list[list[int]]  # [start, end]; end == -1 while switched on
    # The event that switched each window on, and off (None: a rule did, or still on).
    opened_by: list[Event | None]
    closed_by: list[Event | None] = field(default_factory=list)
    stop_reason: str | None = None
    agent: str | None = None
    # Priority changes applied before the stop (in event order, so a change at
    # the same second but after the stop does not re-target a stopped clock).
    priorities_seen: int = 0
    # Facts for the record, set only where a rule acted: the next_response instance
    # that took over a superseded periodic_update, the reopen that on_reopen: stays_met
    # ignored, and the customer message a counts_from: latest instance first counted from.
    taken_over_by: int | None = None
    ignored_reopen: Event | None = None
    moved_from: Event | None = None

    def switch_off(
        self,
        at: int,
        reason: str,
        priorities_seen: int,
        event: Event | None,
        agent: str | None = None,
    ) -> None:
        """Stop the clock at ``at`` because of ``event``."""
        self.windows[-1][1] = at
        self.closed_by.append(event)
        self.stop_reason = reason
        self.agent = agent
        self.priorities_seen = priorities_seen

    def switch_on(self, at: int, event: Event) -> None:
        """Resume a stopped clock at ``at`` (a reopen) in a new window."""
        # A reopen before a deferred start (first business minute) resumes at that start,
        # where the early solve stopped it, never before.
        self.windows.append([max(at, self.windows[-1][1]), -1])
        self.opened_by.append(event)
        self.stop_reason = None

    @property
    def running(self) -> bool:
        """True while the last window is open."""
        return self.windows[-1][1] == -1


def walk(events: Sequence[Event], policy: Policy) -> Walk:
    """Switch clocks on and off along the events (all at or before ``now``)."""
    by_kind: dict[str, MetricPolicy] = {m.kind: m for m in policy.metrics}
    first_response = by_kind.get(FIRST_RESPONSE)
    next_response = by_kind.get(NEXT_RESPONSE)
    periodic = by_kind.get(PERIODIC_UPDATE)
    resolution = by_kind.get(RESOLUTION)
    bots_count = policy.bot_replies_count

    created = events[0]
    status = created.status or "new"
    statuses: list[StatusChange] = [(created.at, status, created)]
    priorities: list[str] = [created.priority or "normal"]  # in event order
    priority_events: list[Event] = []
    stopped = status in STOPPED_STATUSES
    raws: list[RawClock] = []
    counts: dict[str, int] = {}

    def start(metric: MetricPolicy | None, at: int, event: Event) -> RawClock | None:
        if metric is None:
            return None
        number = counts.get(metric.kind, 0) + 1
        counts[metric.kind] = number
        raw = RawClock(metric, number, [[at, -1]], [event])
        raws.append(raw)
        return raw

    fr = start(first_response, created.at, created) if not stopped else None
    res = start(resolution, created.at, created) if not stopped else None
    nr: RawClock | None = None
    pu: RawClock | None = None
    responded = False
    waiting_on_reopen = False  # a customer wrote while the ticket was solved or closed

    for event in events[1:]:
        kind = event.type
        at = event.at
        if kind == "message":
            if not event.public:
                continue
            author = event.author
            if author == "agent" or (author == "bot" and bots_count):
                responded = True
                if fr is not None and fr.running:
                    fr.switch_off(at, FULFILLED, len(priorities), event, event.agent)
                if nr is not None and nr.running:
                    nr.switch_off(at, FULFILLED, len(priorities), event, event.agent)
                if pu is not None and pu.running:
                    pu.switch_off(at, FULFILLED, len(priorities), event, event.agent)
                if not stopped and periodic is not None:
                    pu = start(periodic, at, event)
            elif author == "customer":
                if stopped:
                    # Written to a solved ticket: the customer waits once it reopens.
                    waiting_on_reopen = True
                elif responded and next_response is not None and (nr is None or not nr.running):
                    nr = start(next_response, at, event)
        elif kind == "status":
            new_status = event.status or status
            now_stopped = new_status in STOPPED_STATUSES
            if now_stopped and not stopped:
                for raw in (fr, nr, pu):
                    if raw is not None and raw.running:
                        raw.switch_off(at, SOLVED, len(priorities), event)
                if res is not None and res.running:
                    res.switch_off(at, SOLVED, len(priorities), event)
            elif stopped and not now_stopped:
                if resolution is None:
                    pass
                elif res is None:
                    res = start(resolution, at, event)
                else:  # a reopen resumes the same instance
                    res.switch_on(at, event)
                if waiting_on_reopen and responded and next_response is not None:
                    nr = start(next_response, at, event)
                waiting_on_reopen = False
            stopped = now_stopped
            if new_status != status:
                statuses.append((at, new_status, event))
                status = new_status
        elif kind == "update" and event.priority is not None:
            priorities.append(event.priority)
            priority_events.append(event)
    return raws, statuses, priorities, priority_events


def message_fulfils(rule: str, event: Event, bots_count: bool) -> bool:
    """True when message ``event`` (not from the customer) fulfils a metric with ``rule``.

    ``rule`` is the metric's ``fulfilled_by``; ``bots_count`` whether bot replies
    count as agent replies.
    """
    author = event.author
    if rule == PUBLIC_AGENT:
        return event.public and (author == "agent" or (author == "bot" and bots_count))
    if rule == AGENT:
        return author == "agent" or (author == "bot" and bots_count)
    if rule == NOT_REQUESTER:
        return event.public
    return rule == ANY_OUTGOING  # ASSIGNMENT is fulfilled by update events, not messages


def fulfils(metric: MetricPolicy, event: Event, bots_count: bool) -> bool:
    """True when ``event`` fulfils response ``metric`` under its ``fulfilled_by``: a
    message not from the customer, or for ``assignment`` an event that sets an assignee."""
    if metric.fulfilled_by == ASSIGNMENT:
        return event.type in ("created", "update") and bool(event.assignee)
    return (
        event.type == "message"
        and event.author != "customer"
        and message_fulfils(metric.fulfilled_by, event, bots_count)
    )


def opening_event(events: Sequence[Event]) -> Event | None:
    """The event that says who opened the ticket: its ``created`` event when that names an
    ``author``, else its first public message (``None`` when there is none yet)."""
    if events and events[0].author is not None:
        return events[0]
    return next((e for e in events if e.type == "message" and e.public), None)


def staff_created(events: Sequence[Event]) -> bool:
    """True when staff opened the ticket (see :func:`opening_event`)."""
    opener = opening_event(events)
    return opener is not None and opener.author != "customer"


def _off(
    raw: RawClock,
    at: int,
    reason: str,
    priorities_seen: int,
    event: Event,
    agent: str | None = None,
) -> None:
    # A clock that starts at the first business minute can be answered before it starts.
    raw.switch_off(max(at, raw.windows[-1][0]), reason, priorities_seen, event, agent)


def walk_rules(events: Sequence[Event], policy: Policy) -> Walk:
    """:func:`walk` for a policy with clock rules: what fulfils, starts and stops each clock."""
    by_kind: dict[str, MetricPolicy] = {m.kind: m for m in policy.metrics}
    fr_metric = by_kind.get(FIRST_RESPONSE)
    nr_metric = by_kind.get(NEXT_RESPONSE)
    pu_metric = by_kind.get(PERIODIC_UPDATE)
    res_metric = by_kind.get(RESOLUTION)
    bots = policy.bot_replies_count

    created = events[0]
    status = created.status or "new"
    statuses: list[StatusChange] = [(created.at, status, created)]
    priorities: list[str] = [created.priority or "normal"]
    priority_events: list[Event] = []
    stopped = status in STOPPED_STATUSES
    raws: list[RawClock] = []
    counts: dict[str, int] = {}

    def start(metric: MetricPolicy, at: int, event: Event) -> RawClock:
        number = counts.get(metric.kind, 0) + 1
        counts[metric.kind] = number
        raw = RawClock(metric, number, [[at, -1]], [event])
        raws.append(raw)
        return raw

    def opening(metric: MetricPolicy) -> int:
        if metric.starts == FIRST_BUSINESS_MINUTE:
            return policy.calendar.next_open(created.at)
        return created.at

    fr: RawClock | None = None
    if (
        fr_metric is not None
        and not stopped
        and (fr_metric.staff_created or not staff_created(events))
    ):
        fr = start(fr_metric, opening(fr_metric), created)
        if fr_metric.fulfilled_by == ASSIGNMENT and created.assignee:
            _off(fr, created.at, FULFILLED, 1, created, created.assignee)
    res = (
        start(res_metric, opening(res_metric), created)
        if res_metric is not None and not stopped
        else None
    )
    nr: RawClock | None = None
    pu: RawClock | None = None
    fr_rule = fr_metric.fulfilled_by if fr_metric is not None else ""
    nr_rule = nr_metric.fulfilled_by if nr_metric is not None else ""
    pu_rule = pu_metric.fulfilled_by if pu_metric is not None else ""
    answered = False  # a message that fulfils next_response has been written
    waiting_on_reopen = False

    for event in events[1:]:
        kind = event.type
        at = event.at
        if kind == "message":
            if event.author == "customer":
                if not event.public:
                    continue
                if stopped:
                    waiting_on_reopen = True
                    continue
                superseded = None
                if pu is not None and pu.running and pu.metric.customer_message_stops:
                    _off(pu, at, SUPERSEDED, len(priorities), event)
                    superseded = pu
                if nr_metric is not None and answered:
                    if nr is None or not nr.running:
                        nr = start(nr_metric, at, event)
                    elif nr_metric.counts_from == LATEST_CUSTOMER_MESSAGE:
                        if nr.moved_from is None:
                            nr.moved_from = nr.opened_by[0]
                        nr.windows = [[at, -1]]  # the wait counts from this message
                        nr.opened_by = [event]
                    if superseded is not None:
                        superseded.taken_over_by = nr.number
                continue
            if fr is not None and fr.running and message_fulfils(fr_rule, event, bots):
                _off(fr, at, FULFILLED, len(priorities), event, event.agent)
            if nr_metric is not None and message_fulfils(nr_rule, event, bots):
                answered = True
                if nr is not None and nr.running:
                    _off(nr, at, FULFILLED, len(priorities), event, event.agent)
            if pu_metric is not None and message_fulfils(pu_rule, event, bots):
                if pu is not None and pu.running:
                    _off(pu, at, FULFILLED, len(priorities), event, event.agent)
                if not stopped:
                    pu = start(pu_metric, at, event)
        elif kind == "status":
            new_status = event.status or status
            now_stopped = new_status in STOPPED_STATUSES
            if now_stopped and not stopped:
                for raw in (fr, nr, pu):
                    if raw is not None and raw.running and raw.metric.when_solved == STOP:
                        _off(raw, at, SOLVED, len(priorities), event)
                if res is not None and res.running:
                    _off(res, at, SOLVED, len(priorities), event)
            elif stopped and not now_stopped:
                if res_metric is None:
                    pass
                elif res is None:
                    res = start(res_metric, at, event)
                elif not res.running and res_metric.on_reopen == RESUME:
                    res.switch_on(at, event)
                elif not res.running and res.ignored_reopen is None:
                    res.ignored_reopen = event  # on_reopen: stays_met
                if (
                    waiting_on_reopen
                    and answered
                    and nr_metric is not None
                    and (nr is None or not nr.running)
                ):
                    nr = start(nr_metric, at, event)
                waiting_on_reopen = False
            stopped = now_stopped
            if new_status != status:
                statuses.append((at, new_status, event))
                status = new_status
        elif kind == "update":
            if event.priority is not None:
                priorities.append(event.priority)
                priority_events.append(event)
            if event.assignee and fr is not None and fr.running and fr_rule == ASSIGNMENT:
                _off(fr, at, FULFILLED, len(priorities), event, event.assignee)
    return raws, statuses, priorities, priority_events


__all__ = [
    "RawClock",
    "StatusChange",
    "Walk",
    "fulfils",
    "message_fulfils",
    "opening_event",
    "staff_created",
    "walk",
    "walk_rules",
]
