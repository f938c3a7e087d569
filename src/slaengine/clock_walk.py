"""The walk over a ticket's events that switches each metric's clock instances on and off.

One machine for every metric: each metric, built-in or defined in YAML, is a definition
compiled by :mod:`slaengine.clock_triggers`, and one :class:`Run` per metric applies it
event by event; there is no handler particular to a metric. The output is raw: real-time
windows in which each instance ran, how it stopped, the events that switched it, the
status changes and the priorities in event order. :mod:`slaengine.clocks` measures them
in business time.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass
from typing import Final

from slaengine.clock_triggers import (
    ASSIGNED,
    CREATED,
    REOPENED,
    Held,
    Pauses,
    Program,
    Spec,
    Ticket,
    message_targets,
    program,
)
from slaengine.clock_triggers import (
    SOLVED as ON_SOLVED,
)
from slaengine.metric_names import definition_name
from slaengine.policy.definition import StateCondition
from slaengine.policy.model import (
    AT_CLOSED,
    MetricPolicy,
    Policy,
)
from slaengine.timeline import STOPPED_STATUSES, Event
from slaengine.vocabulary import StopReason

# Final: compiled, a module constant rather than a look-up in the module's dict.
FULFILLED: Final = StopReason.FULFILLED
SOLVED: Final = StopReason.SOLVED
SUPERSEDED: Final = StopReason.SUPERSEDED
CANCELLED: Final = StopReason.CANCELLED

STAFF_CREATED: Final = "staff_created"  # the rule an Exemption names

# A status change: the event that made it, the created event first. Its instant is the
# event's, its new status the event's (see status_of): no tuple is built per change.
StatusChange = Event
# What a walk gives: the clock instances, the status changes, the priorities in event
# order (the created one first), the update events that set the later ones, and the
# intervals in which each metric's pause conditions held (keyed by the conditions).
Walk = tuple[
    list["RawClock"],
    list[StatusChange],
    list[str],
    list[Event],
    dict[tuple[StateCondition, ...], list[Held]],
]
_NO_HELD: Final[dict[tuple[StateCondition, ...], list[Held]]] = {}  # shared, never changed


@dataclass(frozen=True, slots=True)
class Exemption:
    """A metric that started no instance on a ticket because a rule exempts the ticket:
    ``staff_created: exempt`` and ``event`` says staff opened it (see :func:`opening_event`)."""

    metric: str  # the metric's definition name
    rule: str  # the rule that exempts: "staff_created"
    event: Event


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
    """A clock instance as switched on and off by events, before measuring.

    The real-time windows in which it ran are integers on the instance, not lists: most
    instances run in one window (``start``, ``on`` and ``off`` of the one window), and a
    reopen that resumes one keeps the windows before it in ``earlier``.
    :meth:`windows` gives them all.
    """

    metric: MetricPolicy
    number: int
    start: int  # the first window's start
    on: int  # the last window's start
    off: int  # the last window's end; -1 while switched on
    start_event: Event  # the event that started it (deferred: the created event)
    stop_event: Event | None = None  # the event that last switched it off
    stop_reason: str | None = None
    agent: str | None = None
    # Priority changes applied before the stop (in event order, so a change at
    # the same second but after the stop does not re-target a stopped clock).
    priorities_seen: int = 0
    facts: RuleFacts | None = None
    group: str | None = None  # the group that held the ticket (metrics counted per group)
    # The windows before the last, flat: start, end, start, end (None: one window).
    earlier: list[int] | None = None

    def __init__(
        self,
        metric: MetricPolicy,
        number: int,
        start: int,
        on: int,
        off: int,
        start_event: Event,
        stop_event: Event | None = None,
        stop_reason: str | None = None,
        agent: str | None = None,
        priorities_seen: int = 0,
        facts: RuleFacts | None = None,
        group: str | None = None,
        earlier: list[int] | None = None,
    ) -> None:
        # Written out (the dataclass keeps it): compiled, it stores the fields natively,
        # where the generated one runs as Python (see slaengine.compiled).
        self.metric = metric
        self.number = number
        self.start = start
        self.on = on
        self.off = off
        self.start_event = start_event
        self.stop_event = stop_event
        self.stop_reason = stop_reason
        self.agent = agent
        self.priorities_seen = priorities_seen
        self.facts = facts
        self.group = group
        self.earlier = earlier

    def windows(self) -> list[tuple[int, int]]:
        """Every window ``(start, end)`` in which it ran, in order; end -1: switched on."""
        earlier = self.earlier
        if earlier is None:
            return [(self.on, self.off)]
        out = [(earlier[i], earlier[i + 1]) for i in range(0, len(earlier), 2)]
        out.append((self.on, self.off))
        return out

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
        self.off = at
        self.stop_event = event
        self.stop_reason = reason
        self.agent = agent
        self.priorities_seen = priorities_seen

    def switch_on(self, at: int, event: Event) -> None:
        """Resume a stopped clock at ``at`` (a reopen) in a new window."""
        if self.earlier is None:
            self.earlier = [self.on, self.off]
        else:
            self.earlier += (self.on, self.off)
        # A reopen before a deferred start (first business minute) resumes at that start,
        # where the early solve stopped it, never before.
        self.on = at if at > self.off else self.off
        self.off = -1
        self.stop_reason = None

    def restart(self, at: int, event: Event) -> None:
        """Count the running instance from ``at``, started by ``event``, in one window."""
        self.start = self.on = at
        self.off = -1
        self.earlier = None
        self.start_event = event

    @property
    def running(self) -> bool:
        """True while the last window is open."""
        return self.off == -1


def opening_event(events: Sequence[Event]) -> Event | None:
    """The event that says who opened the ticket: its ``created`` event when that names an
    ``author``, else its first public message (``None`` when there is none yet)."""
    if events and events[0].author is not None:
        return events[0]
    return next((e for e in events if e.type == "message" and e.public), None)


class Run:
    """One metric's instances on one ticket as the walk switches them (the metric's
    :class:`Spec` applied event by event)."""

    __slots__ = ("answered", "handed_over", "last", "number", "out", "spec", "waiting")

    def __init__(self, spec: Spec, out: list[RawClock]) -> None:
        self.spec = spec
        self.out = out
        self.last: RawClock | None = None
        self.number = 0
        if spec.tracks:  # read only by the rules that need them (hot path: fewer stores)
            self.answered = False  # a fulfilling message was written (after_fulfil)
            self.waiting = False  # a start came while solved, unanswered: at the reopen
            self.handed_over: RawClock | None = None  # superseded while solved

    def _start(self, at: int, event: Event, group: str | None = None) -> RawClock:
        self.number += 1
        raw = RawClock(self.spec.metric, self.number, at, at, -1, event)
        if group is not None:
            raw.group = group
        self.out.append(raw)
        self.last = raw
        return raw

    def begin(
        self,
        created: Event,
        stopped: bool,
        became: Set[StateCondition],
        events: Sequence[Event],
        policy: Policy,
        exempt: list[Exemption] | None = None,
    ) -> None:
        """Apply the ``created`` event: a new instance starts first, then the creation's own
        stop triggers act (a ticket created with an assignee has met time to own).
        A start ``staff_created: exempt`` prevents is recorded in ``exempt`` when given."""
        spec = self.spec
        at = created.at
        if spec.per_group:
            if not stopped and _holds(spec, created.group):
                self._start(at, created, created.group)
        elif not stopped and (
            spec.at_creation or (became and not spec.after_fulfil and _any(spec.start_when, became))
        ):
            opener = None if spec.staff_created else opening_event(events)
            if opener is not None and opener.author != "customer":
                if exempt is not None:  # staff opened the ticket: no instance
                    exempt.append(Exemption(definition_name(spec.metric), STAFF_CREATED, opener))
            else:
                delay = spec.delay
                if delay is not None:  # a deferred start: starts, start_delay
                    calendar = policy.calendar
                    at = calendar.add(at, delay) if delay else calendar.next_open(at)
                self._start(at, created)
        if not spec.creation_stops and not became:
            return
        bits = CREATED
        agent = created.agent
        if spec.owner is not None:
            taker = spec.owner(created)
            if taker:
                bits |= ASSIGNED
                agent = taker
        self.stops(bits, became, created, 1, agent)

    def stops(
        self, bits: int, became: Set[StateCondition], event: Event, seen: int, agent: str | None
    ) -> RawClock | None:
        """Apply the fulfil and cancel triggers ``bits`` and ``became`` fire; return the
        instance a cancel superseded (``hands_over``)."""
        spec = self.spec
        raw = self.last
        if bits & spec.fulfil or (became and _any(spec.fulfil_when, became)):
            if spec.tracks:
                self.answered = True
                self.waiting = False  # answered while solved: nobody waits at the reopen
                self.handed_over = None
            if raw is not None and raw.running:
                _off(raw, event.at, FULFILLED, seen, event, agent)
        elif (
            bits & spec.cancel or (became and _any(spec.cancel_when, became))
        ) and raw is not None:
            if not raw.running:
                return None
            if spec.hands_over:
                _off(raw, event.at, SUPERSEDED, seen, event)
                return raw
            _off(raw, event.at, CANCELLED, seen, event)
        return None

    def started(self, event: Event, seen: int, stopped: bool, superseded: RawClock | None) -> None:
        """A start trigger fired: start an instance, or apply the rules of one running."""
        spec = self.spec
        if spec.after_fulfil and not self.answered:
            return  # next_response waits for the first reply
        raw = self.last
        if stopped and spec.at_reopen:
            self.waiting = True  # the customer waits once the ticket reopens
        if raw is not None and raw.running:
            at = event.at
            if spec.latest:
                facts = raw.rule_facts()
                if facts.moved_from is None:
                    facts.moved_from = raw.start_event
                raw.restart(at, event)  # the wait counts from this message
            elif spec.misses:
                facts = raw.rule_facts()
                if facts.later_messages is None:
                    facts.later_messages = []
                facts.later_messages.append(at)
        elif stopped:  # no instance starts on a solved ticket (at_reopen: at the reopen)
            if superseded is not None and spec.takes_over:
                self.handed_over = superseded
            return
        elif raw is None or spec.repeat:
            raw = self._start(event.at, event)
        else:
            return
        if superseded is not None and spec.takes_over:
            superseded.rule_facts().taken_over_by = raw.number

    def status(
        self,
        event: Event,
        seen: int,
        stopped: bool,
        solved: bool,
        reopened: bool,
        closed: bool,
        became: Set[StateCondition],
        group: str | None,
    ) -> None:
        """Apply a status change: the metric's solve (``stops_at``), a reopen, and the
        triggers of conditions that began to hold."""
        spec = self.spec
        at = event.at
        raw = self.last
        solve = closed if spec.closed_only else solved
        bits = (ON_SOLVED if solve else 0) | (REOPENED if reopened else 0)
        if raw is None:
            pass
        elif solve and raw.running:
            # 'stop: solved' meets the metric at the solve; another stop or cancel that
            # comes with it acts below; else when_solved decides.
            if spec.solve_fulfils or (
                spec.stop_on_solve
                and not (became and _any(spec.fulfil_when, became))
                and not (spec.cancel & ON_SOLVED or (became and _any(spec.cancel_when, became)))
            ):
                _off(raw, at, SOLVED, seen, event)
        elif reopened and not raw.running and not spec.per_group:
            if spec.resume and raw.stop_reason == SOLVED:
                raw.switch_on(at, event)
            elif spec.note_reopen:
                facts = raw.rule_facts()  # on_reopen: stays_met
                facts.ignored_reopen = facts.ignored_reopen or event
        if reopened and spec.at_reopen:
            raw = self.last
            if self.waiting and (raw is None or not raw.running):
                raw = self._start(at, event)
                if self.handed_over is not None:
                    self.handed_over.rule_facts().taken_over_by = raw.number
            self.waiting = False
            self.handed_over = None
        if bits & (spec.fulfil | spec.cancel) or became:
            self.stops(bits, became, event, seen, event.agent)
        if spec.per_group:
            self._per_group(event, seen, False, reopened, stopped, group)
        elif bits & spec.start or (became and _any(spec.start_when, became)):
            self.started(event, seen, stopped, None)

    def update(
        self,
        event: Event,
        seen: int,
        stopped: bool,
        became: Set[StateCondition],
        group: str | None,
        handed_over: bool,
    ) -> None:
        """Apply an update: an assignment, conditions that began to hold, a new group."""
        spec = self.spec
        bits = 0
        agent = event.agent
        if spec.owner is not None:
            taker = spec.owner(event)
            if taker:
                bits = ASSIGNED
                agent = taker
        if bits or became:
            self.stops(bits, became, event, seen, agent)
        if spec.per_group:
            self._per_group(event, seen, handed_over, False, stopped, group)
        elif bits & spec.start or (became and _any(spec.start_when, became)):
            self.started(event, seen, stopped, None)

    def _per_group(
        self,
        event: Event,
        seen: int,
        handed_over: bool,
        reopened: bool,
        stopped: bool,
        group: str | None,
    ) -> None:
        """An ownership clock at ``event``: the group that had the ticket passed it on (its
        instance is met), and the group that has it now starts one."""
        raw = self.last
        if handed_over and raw is not None and raw.running:
            raw.switch_off(event.at, FULFILLED, seen, event)
        if (
            (handed_over or reopened)
            and not stopped
            and _holds(self.spec, group)
            and (self.last is None or not self.last.running)
        ):
            self._start(event.at, event, group)


_NOTHING: Final[frozenset[StateCondition]] = frozenset()


def _any(conditions: tuple[StateCondition, ...], became: Set[StateCondition]) -> bool:
    return any(c in became for c in conditions)


def _holds(spec: Spec, group: str | None) -> bool:
    """True when an ownership clock counts ``group``'s stint (a group, among ``groups``)."""
    return group is not None and (spec.groups is None or group in spec.groups)


def _off(
    raw: RawClock,
    at: int,
    reason: str,
    priorities_seen: int,
    event: Event,
    agent: str | None = None,
) -> None:
    # A clock that starts at the first business minute can be answered before it starts.
    on = raw.on
    raw.switch_off(at if at > on else on, reason, priorities_seen, event, agent)


def walk(
    events: Sequence[Event],
    policy: Policy,
    exempt: list[Exemption] | None = None,
    compiled: Program | None = None,
) -> Walk:
    """Switch every metric's clocks on and off along ``events`` (all at or before ``now``).

    The one pass over a ticket's events: the status changes, the priorities, the
    attributes and what starts, fulfils, cancels and resumes each clock under its
    metric's definition are decided here and nowhere else. The commonest steps (a
    message that fulfils, a plain solve) are applied inline: this is the engine's
    hot path. The metrics a rule exempted from starting are added to ``exempt`` when given.
    ``compiled`` is ``program(policy)``, when the caller has it.
    """
    if compiled is None:
        compiled = program(policy)
    # A tuple (a timeline's events are one): compiled, indexed and iterated natively.
    ticket_events: tuple[Event, ...] = events if isinstance(events, tuple) else tuple(events)
    created = ticket_events[0]
    status = created.status or "new"
    statuses: list[StatusChange] = [created]
    priorities: list[str] = [created.priority or "normal"]  # in event order
    priority_events: list[Event] = []
    stopped = status in STOPPED_STATUSES
    raws: list[RawClock] = []
    runs = [Run(spec, raws) for spec in compiled.specs]
    watched = compiled.watched
    ticket = Ticket(created) if compiled.attributes else None
    holding: dict[StateCondition, bool] = {}
    became: Set[StateCondition] = _NOTHING
    if ticket is not None and watched:
        holding = {c: ticket.holds(c) for c in watched}
        became = {c for c, held in holding.items() if held}
    pausing = (
        [Pauses(c, ticket, created) for c in compiled.pause_sets]
        if ticket is not None and compiled.pause_sets
        else None
    )
    for run in runs:
        spec = run.spec
        if spec.plain_begin and not became:
            if not stopped:
                run._start(created.at, created)
        else:
            run.begin(created, stopped, became, events, policy, exempt)
    public_bits, private_bits = compiled.public_bits, compiled.private_bits
    on_message, on_update = compiled.on_message, compiled.on_update
    plain_solve = compiled.plain_solve

    for event in ticket_events:  # the created event first: none of the kinds below
        kind = event.type
        if kind == "message":
            bits = (public_bits if event.public else private_bits).get(event.author)
            if bits is None:
                bits = message_targets(compiled, event.author, event.public)
            acting = on_message[bits]
            if not acting:
                continue
            at = event.at
            seen = len(priorities)
            superseded = None
            for index in acting:
                run = runs[index]
                spec = run.spec
                if bits & spec.fulfil:
                    if spec.tracks:
                        run.answered = True
                        run.waiting = False  # answered while solved: nobody waits at the reopen
                        run.handed_over = None
                    raw = run.last
                    if raw is not None and raw.off == -1:
                        # RawClock.switch_off, inlined. A deferred start can be
                        # answered before it starts (see _off).
                        on = raw.on
                        raw.off = at if at > on else on
                        raw.stop_event = event
                        raw.stop_reason = FULFILLED
                        raw.agent = event.agent
                        raw.priorities_seen = seen
                elif bits & spec.cancel:
                    out = run.stops(bits, _NOTHING, event, seen, None)
                    if out is not None:
                        superseded = out
                if bits & spec.start and (run.answered if spec.after_fulfil else True):
                    raw = run.last
                    if (
                        not stopped
                        and superseded is None
                        and (raw is None or (spec.repeat and raw.off != -1))
                    ):
                        run._start(at, event)  # Run.started's plain case: a new instance
                    else:
                        run.started(event, seen, stopped, superseded)
        elif kind == "status":
            new_status = event.status or status  # attributes.status_after, inlined: hot path
            if new_status == status:
                continue  # nothing changes: no transition, no condition begins to hold
            now_stopped = new_status in STOPPED_STATUSES
            became = _NOTHING
            if ticket is not None:
                ticket.status = new_status
                if watched:
                    became = _became(ticket, holding)
                if pausing is not None:
                    for pauses in pausing:
                        pauses.changed(ticket, event)
            if now_stopped and not stopped and plain_solve:
                seen = len(priorities)
                at = event.at
                for run in runs:
                    raw = run.last
                    if raw is not None:
                        spec = run.spec
                        if raw.off == -1 and (spec.solve_fulfils or spec.stop_on_solve):
                            on = raw.on
                            raw.off = at if at > on else on  # switch_off
                            raw.stop_event = event
                            raw.stop_reason = SOLVED
                            raw.agent = None
                            raw.priorities_seen = seen
            elif now_stopped != stopped or new_status == AT_CLOSED or became:
                solved = now_stopped and not stopped
                reopened = stopped and not now_stopped
                closed = new_status == AT_CLOSED
                seen = len(priorities)
                group = None if ticket is None else ticket.attributes["group"]
                for run in runs:
                    run.status(event, seen, now_stopped, solved, reopened, closed, became, group)
            stopped = now_stopped
            statuses.append(event)  # its status is new_status (status_of)
            status = new_status
        elif kind == "update":
            if event.priority is not None:
                priorities.append(event.priority)
                priority_events.append(event)
            if not on_update and pausing is None:
                continue
            became = _NOTHING
            group = None
            handed_over = False
            if ticket is not None:
                before = ticket.attributes["group"]
                if ticket.apply(event):
                    if watched:
                        became = _became(ticket, holding)
                    if pausing is not None:
                        for pauses in pausing:
                            pauses.changed(ticket, event)
                group = ticket.attributes["group"]
                handed_over = group != before
            seen = len(priorities)
            for index in on_update:
                runs[index].update(event, seen, stopped, became, group, handed_over)
    held = _NO_HELD if pausing is None else {p.conditions: p.intervals() for p in pausing}
    return raws, statuses, priorities, priority_events, held


def status_of(change: StatusChange) -> str:
    """The status a change in the walk's list of status changes set: the event's own (a
    status event is listed only when it names a new one), "new" for a created event
    that names none, as the walk starts."""
    return change.status or "new"


def _became(ticket: Ticket, holding: dict[StateCondition, bool]) -> Set[StateCondition]:
    """The watched conditions that began to hold with the change just applied to
    ``ticket`` (``holding`` says which held before; updated)."""
    became: set[StateCondition] = set()
    for condition, held in holding.items():
        now = ticket.holds(condition)
        if now and not held:
            became.add(condition)
        holding[condition] = now
    return became


__all__ = [
    "STAFF_CREATED",
    "Exemption",
    "RawClock",
    "RuleFacts",
    "StatusChange",
    "Walk",
    "opening_event",
    "status_of",
    "walk",
]
