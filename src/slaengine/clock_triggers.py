"""The clock machine's program: each metric's definition compiled for the walk.

Every metric, built-in or defined in YAML, is a :class:`MetricDefinition`;
:func:`program` compiles a policy's definitions once into :class:`Spec` objects (trigger
bit masks and the settings the walk applies), which :mod:`slaengine.clock_walk` runs over a
ticket's events. :class:`Pauses` gathers, along that same walk, the real-time intervals in
which a pause condition (a tag, a group, a field...) holds, measured like status pauses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Any, Final

from slaengine.attributes import initial_attributes, update_changes
from slaengine.calendar import BusinessCalendar
from slaengine.policy.definition import (
    PER_GROUP,
    RESUME,
    STOP,
    MetricDefinition,
    On,
    StateCondition,
    Trigger,
)
from slaengine.policy.model import (
    AT_CLOSED,
    FIRST_BUSINESS_MINUTE,
    LATEST_CUSTOMER_MESSAGE,
    PER_CUSTOMER_MESSAGE,
    AlertRule,
    MetricPolicy,
    Policy,
)
from slaengine.timeline import Event

# Each trigger event is one bit, so the walk tests a metric's triggers with one ``&``.
CREATED: Final = 1
CUSTOMER_MESSAGE: Final = 2
AGENT_REPLY: Final = 4
AGENT_MESSAGE: Final = 8
PUBLIC_REPLY: Final = 16
ANY_REPLY: Final = 32
ASSIGNED: Final = 64
SOLVED: Final = 128
REOPENED: Final = 256
MESSAGES: Final = CUSTOMER_MESSAGE | AGENT_REPLY | AGENT_MESSAGE | PUBLIC_REPLY | ANY_REPLY
BITS: Final = {
    On.CREATED: CREATED,
    On.CUSTOMER_MESSAGE: CUSTOMER_MESSAGE,
    On.AGENT_REPLY: AGENT_REPLY,
    On.AGENT_MESSAGE: AGENT_MESSAGE,
    On.PUBLIC_REPLY: PUBLIC_REPLY,
    On.ANY_REPLY: ANY_REPLY,
    On.ASSIGNED: ASSIGNED,
    On.SOLVED: SOLVED,
    On.REOPENED: REOPENED,
}


def message_bits(author: str | None, public: bool, bots: bool) -> int:
    """The message triggers a message by ``author`` fires (``bots``: bot replies count as
    agent replies)."""
    if author == "customer":
        return CUSTOMER_MESSAGE if public else 0
    agent = author == "agent" or (author == "bot" and bots)
    bits = ANY_REPLY | AGENT_MESSAGE if agent else ANY_REPLY
    if public:
        bits |= PUBLIC_REPLY | AGENT_REPLY if agent else PUBLIC_REPLY
    return bits


def message_ons(event: Event, bots: bool) -> frozenset[On]:
    """The message triggers message ``event`` fires, as the walk tests them (by
    :func:`message_bits`), for readers of the record."""
    bits = message_bits(event.author, event.public, bots)
    return frozenset(on for on, bit in BITS.items() if bits & bit)


def fired(triggers: Sequence[Trigger], ons: frozenset[On], became: Set[StateCondition]) -> bool:
    """True when one of ``triggers`` is among ``ons`` or is a condition in ``became`` (that
    began to hold), the walk's test on a metric's trigger masks, for readers of the record."""
    for trigger in triggers:
        if trigger.on is not None:
            if BITS[trigger.on] & _bits(ons):
                return True
        elif trigger.condition in became:
            return True
    return False


def _bits(ons: frozenset[On]) -> int:
    mask = 0
    for on in ons:
        mask |= BITS[on]
    return mask


def _mask(triggers: Sequence[Trigger]) -> int:
    mask = 0
    for trigger in triggers:
        if trigger.on is not None:
            mask |= BITS[trigger.on]
    return mask


def _conditions(triggers: Sequence[Trigger]) -> tuple[StateCondition, ...]:
    return tuple(t.condition for t in triggers if t.condition is not None)


def _assignee(event: Event) -> str | None:
    return event.assignee


def owner(counts: Sequence[str]) -> Callable[[Event], str | None]:
    """Who an event assigns the ticket to under ``assignment_counts``: the assignee, the
    group, or a custom field's value (``field:NAME``), first found in that order."""
    if tuple(counts) == ("assignee",):
        return _assignee
    fields = tuple(c.split(":", 1)[1] for c in counts if c.startswith("field:"))
    assignee, group = "assignee" in counts, "group" in counts

    def taker(event: Event) -> str | None:
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

    return taker


@dataclass(frozen=True, slots=True)
class Spec:
    """One metric's definition as the walk applies it (see :class:`MetricDefinition` for
    the settings). The masks hold trigger bits; ``solved`` is kept out of ``fulfil``, since
    the walk meets a metric a solve fulfils itself, at the metric's own solve (entering
    solved or closed, or only closed under ``stops_at: closed``)."""

    metric: MetricPolicy
    start: int
    fulfil: int
    cancel: int
    start_when: tuple[StateCondition, ...]
    fulfil_when: tuple[StateCondition, ...]
    cancel_when: tuple[StateCondition, ...]
    repeat: bool
    solve_fulfils: bool
    stop_on_solve: bool  # when_solved: stop
    closed_only: bool  # stops_at: closed
    resume: bool  # on_reopen: resume
    note_reopen: bool  # on_reopen: stays_met of a metric a solve meets: the record notes it
    delay: int | None  # deferred start: business seconds after creation (0: next opening)
    staff_created: bool
    owner: Callable[[Event], str | None] | None  # who an assignment goes to, when it matters
    after_fulfil: bool
    latest: bool  # counts_from: latest_customer_message
    misses: bool  # misses: per_customer_message
    at_reopen: bool  # a start that came while solved starts an instance at the reopen
    hands_over: bool  # a cancel trigger supersedes the instance
    takes_over: bool  # takes over the instances a customer message superseded
    per_group: bool
    groups: frozenset[str] | None
    watches: bool  # has condition triggers
    tracks: bool  # remembers fulfilment (after_fulfil, at_reopen)
    at_creation: bool  # the created event starts an instance (staff_created aside)
    plain_begin: bool  # ... at creation, with nothing else to decide then
    creation_stops: bool  # the created event can fulfil or cancel (created, assigned)
    # A solve only stops a running instance (met or by when_solved): the walk applies it
    # inline, without a call per metric.
    plain_solve: bool
    # What measuring an instance reads of the metric, copied here where compiled code reads
    # it natively (``metric`` is a Python object there, its targets a read-only mapping).
    kind: str
    targets: dict[str, int]
    calendar: BusinessCalendar
    pause_when: frozenset[str]
    alerts: tuple[AlertRule, ...]


def _delay(definition: MetricDefinition) -> int | None:
    if definition.start_delay:
        return definition.start_delay
    return 0 if definition.starts == FIRST_BUSINESS_MINUTE else None


def spec(metric: MetricPolicy) -> Spec:
    """``metric``'s definition compiled for the walk."""
    d = metric.definition
    fulfil = _mask(d.fulfil) & ~SOLVED
    start_when, fulfil_when, cancel_when = (
        _conditions(d.start),
        _conditions(d.fulfil),
        _conditions(d.cancel),
    )
    assigned = (_mask(d.start) | fulfil | _mask(d.cancel)) & ASSIGNED
    at_creation = bool(_mask(d.start) & CREATED) and not d.after_fulfil and d.per != PER_GROUP
    return Spec(
        metric,
        _mask(d.start),
        fulfil,
        _mask(d.cancel),
        start_when,
        fulfil_when,
        cancel_when,
        d.repeat,
        d.solve_fulfils,
        d.when_solved == STOP,
        d.stops_at == AT_CLOSED,
        d.on_reopen == RESUME,
        d.solve_fulfils and d.on_reopen != RESUME,
        _delay(d),
        d.staff_created,
        owner(d.assignment_counts) if assigned else None,
        d.after_fulfil,
        d.counts_from == LATEST_CUSTOMER_MESSAGE,
        d.misses == PER_CUSTOMER_MESSAGE,
        d.starts_on_reopen,
        d.hands_over,
        d.takes_over,
        d.per == PER_GROUP,
        d.groups,
        bool(start_when or fulfil_when or cancel_when),
        d.after_fulfil or d.starts_on_reopen or d.takes_over,
        at_creation,
        at_creation
        and d.staff_created
        and _delay(d) is None
        and not (fulfil | _mask(d.cancel)) & (CREATED | ASSIGNED),
        bool((fulfil | _mask(d.cancel)) & (CREATED | ASSIGNED)),
        not (
            start_when
            or fulfil_when
            or cancel_when
            or d.per == PER_GROUP
            or d.stops_at == AT_CLOSED
            or _mask(d.cancel) & SOLVED
            or _mask(d.start) & SOLVED
        ),
        metric.kind,
        dict(metric.targets),
        metric.calendar,
        metric.pause_when,
        metric.alerts,
    )


@dataclass(frozen=True, slots=True)
class Program:
    """A policy's metrics compiled for the walk, in the order the walk runs them: those
    whose instance a customer message supersedes before the one that takes over."""

    specs: tuple[Spec, ...]
    measured: tuple[Spec, ...]  # the same, in the policy's metric order (results' order)
    has_rules: bool  # Policy.has_rules
    bots: bool
    # The trigger bits of a public and of an internal message by an author (filled as
    # authors are met), and by message bits the indexes of the specs they can act on.
    public_bits: dict[str | None, int]
    private_bits: dict[str | None, int]
    on_message: tuple[tuple[int, ...], ...]
    plain_solve: bool  # every spec's solve is plain (Spec.plain_solve)
    on_update: tuple[int, ...]  # ... an update can act on (assignments, conditions, groups)
    watched: tuple[StateCondition, ...]  # conditions of triggers, watched along the walk
    attributes: bool  # the walk keeps the ticket's attributes (conditions, groups)
    # The metrics' distinct pause conditions, whose intervals the walk gathers.
    pause_sets: tuple[tuple[StateCondition, ...], ...]


_PROGRAMS: Final[dict[int, tuple[Policy, Program]]] = {}


def program(policy: Policy) -> Program:
    """``policy``'s :class:`Program`, compiled once per policy."""
    cached = _PROGRAMS.get(id(policy))
    if cached is not None and cached[0] is policy:
        return cached[1]
    measured = tuple(spec(m) for m in policy.metrics)
    specs = tuple(sorted(measured, key=lambda s: not s.hands_over))
    watched = tuple(
        dict.fromkeys(c for s in specs for c in (*s.start_when, *s.fulfil_when, *s.cancel_when))
    )
    pause_sets = tuple(
        dict.fromkeys(m.pause_conditions for m in policy.metrics if m.pause_conditions)
    )
    bots = policy.bot_replies_count
    authors = ("customer", "agent", "bot", "system", None)
    public = {author: message_bits(author, True, bots) for author in authors}
    private = {author: message_bits(author, False, bots) for author in authors}
    compiled = Program(
        specs,
        measured,
        policy.has_rules,
        bots,
        public,
        private,
        # Every combination of message bits (a few dozen): an index, not a look-up.
        tuple(_acting(specs, bits) for bits in range(MESSAGES + 1)),
        all(s.plain_solve for s in specs),
        tuple(i for i, s in enumerate(specs) if s.owner is not None or s.watches or s.per_group),
        watched,
        bool(watched or pause_sets) or any(s.per_group for s in specs),
        pause_sets,
    )
    if len(_PROGRAMS) > 1024:  # policies are few; a long-lived process may load new sets
        _PROGRAMS.clear()
    _PROGRAMS[id(policy)] = (policy, compiled)
    return compiled


def _acting(specs: Sequence[Spec], bits: int) -> tuple[int, ...]:
    """The indexes of ``specs`` whose triggers include one of ``bits``."""
    return tuple(i for i, s in enumerate(specs) if (s.start | s.fulfil | s.cancel) & bits)


def message_targets(compiled: Program, author: str | None, public: bool) -> int:
    """The trigger bits of a message by an author not met before, noted in ``compiled``."""
    bits = message_bits(author, public, compiled.bots)
    (compiled.public_bits if public else compiled.private_bits)[author] = bits
    return bits


class Ticket:
    """A ticket's status and attributes as the events so far left them."""

    __slots__ = ("attributes", "status")

    def __init__(self, created: Event) -> None:
        self.status = created.status or "new"
        self.attributes: dict[str, Any] = initial_attributes(created)

    def apply(self, event: Event) -> bool:
        """Apply ``event``; True when it changed the status or an attribute."""
        if event.type == "status":
            new = event.status or self.status
            changed = new != self.status
            self.status = new
            return changed
        if event.type != "update":
            return False
        changes = update_changes(event, self.attributes)
        # Not ``new``: that name holds a status (str) above, which compiled code enforces.
        for name, _old, value in changes:
            self.attributes[name] = value
        return bool(changes)

    def holds(self, condition: StateCondition) -> bool:
        return condition.holds(self.status, self.attributes)


# An interval in which a pause condition held: start, end (-1: still holds), the
# condition's text, and the events that made it hold and stop holding.
Held = tuple[int, int, str, Event, Event | None]


class Pauses:
    """The real-time intervals in which any of one metric's pause ``conditions`` holds,
    gathered as the walk applies each event to the ticket: one per stretch in which the
    first of them that holds is the same (its text names the interval); open end = -1.
    Like status pauses, a condition that holds for no time makes no interval."""

    __slots__ = ("began", "conditions", "out", "since", "text")

    def __init__(self, conditions: tuple[StateCondition, ...], ticket: Ticket, created: Event):
        self.conditions = conditions
        self.out: list[Held] = []
        self.since = -1
        self.text = ""
        self.began = created
        first = self._holding(ticket)
        if first is not None:
            self.since, self.text = created.at, first

    def _holding(self, ticket: Ticket) -> str | None:
        return next((c.text for c in self.conditions if ticket.holds(c)), None)

    def changed(self, ticket: Ticket, event: Event) -> None:
        """``event`` changed the ticket's status or an attribute."""
        now = self._holding(ticket)
        since = self.since
        if now == (self.text if since != -1 else None):
            return
        if since != -1 and event.at > since:
            self.out.append((since, event.at, self.text, self.began, event))
        self.since = -1
        if now is not None:  # held from here, or another condition holds from here on
            self.since, self.text, self.began = event.at, now, event

    def intervals(self) -> list[Held]:
        """The intervals, the last one open when a condition still holds."""
        if self.since != -1:
            self.out.append((self.since, -1, self.text, self.began, None))
            self.since = -1
        return self.out


__all__ = [
    "BITS",
    "Held",
    "Pauses",
    "Program",
    "Spec",
    "Ticket",
    "fired",
    "message_bits",
    "message_ons",
    "message_targets",
    "owner",
    "program",
    "spec",
]
