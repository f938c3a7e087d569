"""The walk over a ticket's events that switches each metric's clock instances on and off.

Its output is raw: real-time windows in which each instance ran, how it stopped, the
events that switched it, the status changes and the priorities in event order.
:mod:`slaengine.clocks` measures them in business time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from slaengine.clock_triggers import TriggerMachine
from slaengine.policy.definition import On
from slaengine.policy.model import (
    AGENT,
    ANY_OUTGOING,
    ASSIGNMENT,
    AT_CLOSED,
    FIRST_BUSINESS_MINUTE,
    FIRST_RESPONSE,
    LATEST_CUSTOMER_MESSAGE,
    NEXT_RESPONSE,
    NOT_REQUESTER,
    PER_CUSTOMER_MESSAGE,
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
class RuleFacts:
    """What a clock rule did to an instance, for the record (set only where one acted)."""

    taken_over_by: int | None = None  # next_response instance after a superseding message
    ignored_reopen: Event | None = None  # the reopen on_reopen: stays_met did not resume
    moved_from: Event | None = None  # the first message a counts_from: latest wait counted from
    # Customer messages written while the instance ran (misses: per_customer_message).
    later_messages: list[int] | None = None


@dataclass(slots=True)
class RawClock:
    """A clock instance as switched on and off by events, before measuring."""

    metric: MetricPolicy
    number: int
    windows: list[list[int]]  # [start, end]; end == -1 while switched on
    start_event: Event  # the event that started it (deferred: the created event)
    stop_event: Event | None = None  # the event that last switched it off
    stop_reason: str | None = None
    agent: str | None = None
    # Priority changes applied before the stop (in event order, so a change at
    # the same second but after the stop does not re-target a stopped clock).
    priorities_seen: int = 0
    facts: RuleFacts | None = None

    def rule_facts(self) -> RuleFacts:
        """The instance's :class:`RuleFacts`, created when a rule first acts."""
        if self.facts is None:
            self.facts = RuleFacts()
        return self.facts

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
        self.stop_event = event
        self.stop_reason = reason
        self.agent = agent
        self.priorities_seen = priorities_seen

    def switch_on(self, at: int, event: Event) -> None:
        """Resume a stopped clock at ``at`` (a reopen) in a new window."""
        # A reopen before a deferred start (first business minute) resumes at that start,
        # where the early solve stopped it, never before.
        self.windows.append([max(at, self.windows[-1][1]), -1])
        self.stop_reason = None

    @property
    def running(self) -> bool:
        """True while the last window is open."""
        return self.windows[-1][1] == -1


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


def _fulfilment(rule: str, bots: bool) -> Callable[[Event], bool] | None:
    """The test of a non-customer message for ``fulfilled_by: rule``; ``None`` for the
    default (a public agent reply), which the walk checks inline."""
    if rule == PUBLIC_AGENT:
        return None
    return lambda event: message_fulfils(rule, event, bots)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the walk needs to know of a policy, worked out once per policy."""

    fr_metric: MetricPolicy | None
    nr_metric: MetricPolicy | None
    pu_metric: MetricPolicy | None
    res_metric: MetricPolicy | None
    bots: bool
    # What fulfils each response metric; None: a public agent reply (the default).
    fr_test: Callable[[Event], bool] | None
    nr_test: Callable[[Event], bool] | None
    pu_test: Callable[[Event], bool] | None
    fr_owns: bool  # first_response is fulfilled by an assignment
    # Who takes the ticket with an event (assignment_counts), None: nobody.
    owner: Callable[[Event], str | None]
    supersedes: bool  # periodic_update: customer_message_stops
    latest: bool  # next_response: counts_from latest_customer_message
    nr_early: bool  # next_response: before_first_reply measured (no reply needed first)
    pu_at_creation: bool  # periodic_update: before_first_reply measured (from creation)
    res_at_close: bool  # resolution: stops_at closed (solving does not stop it)
    nr_misses: bool  # next_response: misses per_customer_message
    # A deferred start (starts: first_business_minute, start_delay): the business seconds
    # of the policy calendar after creation (0: its next opening); None: at creation.
    fr_delay: int | None
    res_delay: int | None
    # Only a deferred start can be answered before it starts (see _off); without one the
    # clocks are switched off directly, saving a call per stop.
    off: Callable[..., None]
    # Metrics defined in YAML: the trigger machine runs them (None when there are none).
    defined: tuple[MetricPolicy, ...] | None


_PLANS: dict[int, tuple[Policy, _Plan]] = {}


def _assignee(event: Event) -> str | None:
    return event.assignee


def _owner(counts: tuple[str, ...]) -> Callable[[Event], str | None]:
    """Who an event assigns the ticket to under ``assignment_counts``: the assignee, the
    group, or a custom field's value (``field:NAME``), first found in that order."""
    if counts == ("assignee",):
        return _assignee
    fields = tuple(c.split(":", 1)[1] for c in counts if c.startswith("field:"))
    assignee, group = "assignee" in counts, "group" in counts

    def owner(event: Event) -> str | None:
        if assignee and event.assignee:
            return event.assignee
        if group and event.group:
            return event.group
        if fields and event.fields:
            for name in fields:
                value = event.fields.get(name)
                if value is not None and value != "":
                    return str(value)
        return None

    return owner


def _delay(metric: MetricPolicy | None) -> int | None:
    """A deferred start's business seconds after creation (see :class:`_Plan`)."""
    if metric is None:
        return None
    definition = metric.definition
    if definition.start_delay:
        return definition.start_delay
    return 0 if definition.starts == FIRST_BUSINESS_MINUTE else None


def _start_at(policy: Policy, created: int, delay: int | None) -> int:
    """When a first_response or resolution clock starts for a ticket created at ``created``."""
    if delay is None:
        return created
    return policy.calendar.add(created, delay) if delay else policy.calendar.next_open(created)


def _plan(policy: Policy) -> _Plan:
    cached = _PLANS.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    # The built-in definitions, by name; their settings give the walk's switches.
    by_kind: dict[str, MetricPolicy] = {m.kind: m for m in policy.metrics if m.definition.builtin}
    fr = by_kind.get(FIRST_RESPONSE)
    nr = by_kind.get(NEXT_RESPONSE)
    pu = by_kind.get(PERIODIC_UPDATE)
    res = by_kind.get(RESOLUTION)
    bots = policy.bot_replies_count
    deferred = any(
        m.definition.starts == FIRST_BUSINESS_MINUTE or m.definition.start_delay
        for m in policy.metrics
    )
    plan = _Plan(
        fr,
        nr,
        pu,
        res,
        bots,
        _fulfilment(fr.definition.fulfilled_by, bots) if fr is not None else None,
        _fulfilment(nr.definition.fulfilled_by, bots) if nr is not None else None,
        _fulfilment(pu.definition.fulfilled_by, bots) if pu is not None else None,
        fr is not None and fr.definition.fulfilled_by == ASSIGNMENT,
        _owner(fr.definition.assignment_counts if fr is not None else ("assignee",)),
        pu is not None and pu.definition.hands_over,
        nr is not None and nr.definition.counts_from == LATEST_CUSTOMER_MESSAGE,
        nr is not None and not nr.definition.after_fulfil,
        pu is not None and any(t.on == On.CREATED for t in pu.definition.start),
        res is not None and res.definition.stops_at == AT_CLOSED,
        nr is not None and nr.definition.misses == PER_CUSTOMER_MESSAGE,
        _delay(fr),
        _delay(res),
        _off if deferred else RawClock.switch_off,
        tuple(m for m in policy.metrics if not m.definition.builtin) or None,
    )
    if len(_PLANS) > 1024:  # policies are few; a long-lived process may load new sets
        _PLANS.clear()
    _PLANS[id(policy)] = (policy, plan)
    return plan


def walk(events: Sequence[Event], policy: Policy) -> Walk:
    """Switch every metric's clocks on and off along ``events`` (all at or before ``now``).

    The one pass over a ticket's events: the status changes, the priorities and what
    starts, fulfils, cancels and resumes each clock under its metric's rules are decided
    here and nowhere else.
    """
    plan = _plan(policy)
    fr_metric, nr_metric, pu_metric, res_metric = (
        plan.fr_metric,
        plan.nr_metric,
        plan.pu_metric,
        plan.res_metric,
    )
    bots = plan.bots

    created = events[0]
    status = created.status or "new"
    statuses: list[StatusChange] = [(created.at, status, created)]
    priorities: list[str] = [created.priority or "normal"]  # in event order
    priority_events: list[Event] = []
    stopped = status in STOPPED_STATUSES
    raws: list[RawClock] = []
    counts: dict[str, int] = {}

    def start(metric: MetricPolicy, at: int, event: Event) -> RawClock:
        number = counts.get(metric.kind, 0) + 1
        counts[metric.kind] = number
        raw = RawClock(metric, number, [[at, -1]], event)
        raws.append(raw)
        return raw

    def new_clock(metric: MetricPolicy, number: int, at: int, event: Event) -> RawClock:
        raw = RawClock(metric, number, [[at, -1]], event)
        raws.append(raw)
        return raw

    machine = (
        TriggerMachine(plan.defined, created, bots, new_clock) if plan.defined is not None else None
    )

    fr: RawClock | None = None
    if (
        fr_metric is not None
        and not stopped
        and (fr_metric.definition.staff_created or not staff_created(events))
    ):
        fr = start(fr_metric, _start_at(policy, created.at, plan.fr_delay), created)
        taker = plan.owner(created) if plan.fr_owns else None
        if taker:
            _off(fr, created.at, FULFILLED, 1, created, taker)
    res: RawClock | None = None
    if res_metric is not None and not stopped:
        res = start(res_metric, _start_at(policy, created.at, plan.res_delay), created)
    nr: RawClock | None = None
    pu: RawClock | None = None
    if plan.pu_at_creation and pu_metric is not None and not stopped:
        pu = start(pu_metric, created.at, created)
    off = plan.off
    fr_test, nr_test, pu_test = plan.fr_test, plan.nr_test, plan.pu_test
    fr_owns, supersedes, latest = plan.fr_owns, plan.supersedes, plan.latest
    # A message that fulfils next_response has been written (or need not be: a customer
    # message starts next_response before the first reply under before_first_reply).
    answered = plan.nr_early
    waiting_on_reopen = False  # a customer wrote while the ticket was solved or closed
    handed_over: RawClock | None = None  # superseded while solved; next_response takes over

    for event in events[1:]:
        if machine is not None:
            machine.feed(event, len(priorities))
        kind = event.type
        at = event.at
        if kind == "message":
            author = event.author
            if author == "customer":
                if not event.public:
                    continue
                if stopped:
                    # Written to a solved ticket after the first reply: the customer waits
                    # once it reopens (before the first reply the wait is first_response's).
                    waiting_on_reopen = waiting_on_reopen or answered
                superseded = None
                # A response clock runs on while solved only under when_solved: pause; the
                # message acts on it as on an open ticket.
                if supersedes and pu is not None and pu.running:
                    off(pu, at, SUPERSEDED, len(priorities), event)
                    superseded = pu
                if nr_metric is not None and answered:
                    if nr is None or not nr.running:
                        if stopped:  # no clock starts on a solved ticket: at the reopen
                            handed_over = superseded or handed_over
                            continue
                        nr = start(nr_metric, at, event)
                    elif latest:
                        facts = nr.rule_facts()
                        if facts.moved_from is None:
                            facts.moved_from = nr.start_event
                        nr.windows = [[at, -1]]  # the wait counts from this message
                        nr.start_event = event
                    elif plan.nr_misses:
                        facts = nr.rule_facts()
                        if facts.later_messages is None:
                            facts.later_messages = []
                        facts.later_messages.append(at)
                    if superseded is not None:
                        superseded.rule_facts().taken_over_by = nr.number
                continue
            reply = event.public and (author == "agent" or (author == "bot" and bots))
            if (
                fr is not None
                and fr.running
                and not fr_owns
                and (reply if fr_test is None else fr_test(event))
            ):
                off(fr, at, FULFILLED, len(priorities), event, event.agent)
            if nr_metric is not None and (reply if nr_test is None else nr_test(event)):
                answered = True
                waiting_on_reopen = False  # answered while solved: nobody waits at the reopen
                handed_over = None
                if nr is not None and nr.running:
                    off(nr, at, FULFILLED, len(priorities), event, event.agent)
            if pu_metric is not None and (reply if pu_test is None else pu_test(event)):
                if pu is not None and pu.running:
                    off(pu, at, FULFILLED, len(priorities), event, event.agent)
                if not stopped:
                    pu = start(pu_metric, at, event)
        elif kind == "status":
            new_status = event.status or status  # attributes.status_after, inlined: hot path
            now_stopped = new_status in STOPPED_STATUSES
            if now_stopped and not stopped:
                for raw in (fr, nr, pu):
                    if (
                        raw is not None
                        and raw.running
                        and raw.metric.definition.when_solved == STOP
                    ):
                        off(raw, at, SOLVED, len(priorities), event)
                if (
                    res is not None
                    and res.running
                    and (not plan.res_at_close or new_status == AT_CLOSED)
                ):
                    off(res, at, SOLVED, len(priorities), event)
            elif now_stopped and plan.res_at_close:
                # Solved, then closed: stops_at: closed stops resolution now.
                if new_status == AT_CLOSED and res is not None and res.running:
                    off(res, at, SOLVED, len(priorities), event)
            elif stopped and not now_stopped:
                if res_metric is None:
                    pass
                elif res is None:
                    res = start(res_metric, at, event)
                elif not res.running and res_metric.definition.on_reopen == RESUME:
                    res.switch_on(at, event)
                elif not res.running:
                    facts = res.rule_facts()  # on_reopen: stays_met
                    facts.ignored_reopen = facts.ignored_reopen or event
                if waiting_on_reopen and nr_metric is not None and (nr is None or not nr.running):
                    nr = start(nr_metric, at, event)
                    if handed_over is not None:
                        handed_over.rule_facts().taken_over_by = nr.number
                waiting_on_reopen = False
                handed_over = None
            stopped = now_stopped
            if new_status != status:
                statuses.append((at, new_status, event))
                status = new_status
        elif kind == "update":
            if event.priority is not None:
                priorities.append(event.priority)
                priority_events.append(event)
            if fr_owns and fr is not None and fr.running:
                taker = plan.owner(event)
                if taker:
                    off(fr, at, FULFILLED, len(priorities), event, taker)
    return raws, statuses, priorities, priority_events


__all__ = [
    "RawClock",
    "RuleFacts",
    "StatusChange",
    "Walk",
    "fulfils",
    "message_fulfils",
    "opening_event",
    "staff_created",
    "walk",
]
