"""The clock machine's general part: metrics defined by start, stop, cancel and pause triggers.

The walk (:mod:`slaengine.clock_walk`) feeds each event to a :class:`TriggerMachine`
when a policy measures a metric defined in YAML; the built-in metrics take the walk's
compiled handlers. :func:`condition_intervals` gives the real-time intervals in which a
pause condition (a tag, a group, a field...) holds, measured like status pauses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from slaengine.attributes import initial_attributes, update_changes
from slaengine.policy.definition import (
    RESUME,
    STOP,
    MetricDefinition,
    On,
    StateCondition,
    Trigger,
)
from slaengine.policy.model import MetricPolicy
from slaengine.timeline import STOPPED_STATUSES, Event
from slaengine.vocabulary import StopReason

if TYPE_CHECKING:  # the walk imports this module
    from slaengine.clock_walk import RawClock

FULFILLED = StopReason.FULFILLED
SOLVED = StopReason.SOLVED
CANCELLED = StopReason.CANCELLED


class _Ticket:
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
        for name, _old, new in changes:
            self.attributes[name] = new
        return bool(changes)

    def holds(self, condition: StateCondition) -> bool:
        return condition.holds(self.status, self.attributes)


def _message_ons(event: Event, bots: bool) -> frozenset[On]:
    """The message triggers a message event fires."""
    author = event.author
    if author == "customer":
        return frozenset({On.CUSTOMER_MESSAGE}) if event.public else frozenset()
    agent = author == "agent" or (author == "bot" and bots)
    found = {On.ANY_REPLY}
    if agent:
        found.add(On.AGENT_MESSAGE)
    if event.public:
        found.add(On.PUBLIC_REPLY)
        if agent:
            found.add(On.AGENT_REPLY)
    return frozenset(found)


class _Metric:
    """One defined metric's instances along the walk."""

    __slots__ = ("conditions", "definition", "last", "metric", "number", "solve_fulfils")

    def __init__(self, metric: MetricPolicy) -> None:
        self.metric = metric
        self.definition: MetricDefinition = metric.definition
        self.last: RawClock | None = None
        self.number = 0
        d = self.definition
        self.solve_fulfils = d.solve_fulfils
        self.conditions = tuple(
            {t.condition for t in (*d.start, *d.fulfil, *d.cancel) if t.condition is not None}
        )


def _fired(triggers: Sequence[Trigger], ons: frozenset[On], became: set[StateCondition]) -> bool:
    for trigger in triggers:
        if trigger.on is not None:
            if trigger.on in ons:
                return True
        elif trigger.condition in became:
            return True
    return False


class TriggerMachine:
    """Switches the instances of metrics defined by triggers on and off, event by event."""

    def __init__(
        self,
        metrics: Sequence[MetricPolicy],
        created: Event,
        bots: bool,
        new_clock: Callable[[MetricPolicy, int, int, Event], RawClock],
    ) -> None:
        self.metrics = [_Metric(m) for m in metrics]
        self.bots = bots
        self.new_clock = new_clock
        self.ticket = _Ticket(created)
        self.watched = tuple({c for m in self.metrics for c in m.conditions})
        self.holding = {c: self.ticket.holds(c) for c in self.watched}
        ons = {On.CREATED}
        if created.assignee:
            ons.add(On.ASSIGNED)
        became = {c for c, held in self.holding.items() if held}
        stopped = self.ticket.status in STOPPED_STATUSES
        for state in self.metrics:
            d = state.definition
            # At creation the new instance starts first: a creation that fulfils stops it
            # at once (time to own on a ticket created with an assignee).
            if not stopped and _fired(d.start, frozenset({On.CREATED}), became):
                self._start(state, created, 1)
            self._stop_triggers(state, frozenset(ons), became, created, 1)

    def _start(self, state: _Metric, event: Event, seen: int) -> None:
        state.number += 1
        state.last = self.new_clock(state.metric, state.number, event.at, event)
        state.last.priorities_seen = seen

    def _stop_triggers(
        self,
        state: _Metric,
        ons: frozenset[On],
        became: set[StateCondition],
        event: Event,
        seen: int,
    ) -> None:
        raw = state.last
        if raw is None or not raw.running:
            return
        d = state.definition
        if _fired(d.fulfil, ons, became):
            agent = event.assignee if On.ASSIGNED in ons else event.agent
            raw.switch_off(event.at, FULFILLED, seen, event, agent)
        elif _fired(d.cancel, ons, became):
            raw.switch_off(event.at, CANCELLED, seen, event)

    def feed(self, event: Event, priorities_seen: int) -> None:
        """Apply ``event``; ``priorities_seen`` counts the priorities before it."""
        kind = event.type
        ticket = self.ticket
        was_stopped = ticket.status in STOPPED_STATUSES
        if kind == "update" and event.priority is not None:
            priorities_seen += 1
        changed = ticket.apply(event)
        became: set[StateCondition] = set()
        if changed and self.watched:
            for condition in self.watched:
                now_holds = ticket.holds(condition)
                if now_holds and not self.holding[condition]:
                    became.add(condition)
                self.holding[condition] = now_holds
        ons: frozenset[On]
        if kind == "message":
            ons = _message_ons(event, self.bots)
        elif kind == "update":
            ons = frozenset({On.ASSIGNED}) if event.assignee else frozenset()
        else:
            ons = frozenset()
        stopped = ticket.status in STOPPED_STATUSES
        solved = stopped and not was_stopped
        reopened = was_stopped and not stopped
        if solved:
            ons = ons | {On.SOLVED}
        elif reopened:
            ons = ons | {On.REOPENED}
        if not ons and not became:
            return
        for state in self.metrics:
            d = state.definition
            raw = state.last
            if solved and raw is not None and raw.running:
                # 'stop: solved' meets the metric at the solve; another stop or cancel that
                # comes with it acts below; else when_solved decides.
                if state.solve_fulfils or (
                    d.when_solved == STOP
                    and not _fired(d.fulfil, ons, became)
                    and not _fired(d.cancel, ons, became)
                ):
                    raw.switch_off(event.at, SOLVED, priorities_seen, event)
            elif (
                reopened
                and raw is not None
                and not raw.running
                and raw.stop_reason == SOLVED
                and d.on_reopen == RESUME
            ):
                raw.switch_on(event.at, event)
            self._stop_triggers(state, ons, became, event, priorities_seen)
            if stopped or not _fired(d.start, ons, became):
                continue
            raw = state.last
            if (raw is None or not raw.running) and (d.repeat or raw is None):
                self._start(state, event, priorities_seen)


# An interval in which a pause condition held: start, end (-1: still holds), the
# condition's text, and the events that made it hold and stop holding.
Held = tuple[int, int, str, Event, Event | None]


def condition_intervals(
    events: Sequence[Event], conditions: Sequence[StateCondition]
) -> list[Held]:
    """Real-time intervals in which any of ``conditions`` holds, one per stretch in which
    the first of them that holds is the same (its text names the interval); open end = -1.
    Like status pauses, a condition that holds for no time makes no interval."""
    ticket = _Ticket(events[0])
    out: list[Held] = []
    since = -1
    text = ""
    began = events[0]

    def holding() -> str | None:
        return next((c.text for c in conditions if ticket.holds(c)), None)

    first = holding()
    if first is not None:
        since, text = events[0].at, first
    for event in events[1:]:
        if not ticket.apply(event):
            continue
        now = holding()
        if now == (text if since != -1 else None):
            continue
        if since != -1 and event.at > since:
            out.append((since, event.at, text, began, event))
        since = -1
        if now is not None:  # held from here, or another condition holds from here on
            since, text, began = event.at, now, event
    if since != -1:
        out.append((since, -1, text, began, None))
    return out


__all__ = ["Held", "TriggerMachine", "condition_intervals"]
