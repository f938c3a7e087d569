"""For the record: which of a metric's triggers started and stopped an instance, and the
messages the instance ran through without stopping.

Built only when an evaluation records (``segments=True``), after the walk decided
everything. It answers with the trigger machine's own tests (which triggers a message
fires, whether a trigger fired, how an event changes the ticket: imported from
:mod:`slaengine.clock_triggers`, not copied) at the events the walk already chose as the
instance's start and stop, so readers such as explain can say "started by the move to
group tier2 (start: group tier2)" or "the internal note does not count (stop:
agent_reply)" without deciding a clock rule themselves.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from slaengine.clock_triggers import Ticket, fired, message_ons
from slaengine.policy.definition import On, StateCondition, Trigger
from slaengine.timeline import STOPPED_STATUSES, Event
from slaengine.vocabulary import StopReason

if TYPE_CHECKING:
    from slaengine.clock_walk import RawClock


@dataclass(frozen=True, slots=True)
class PassedMessage:
    """A message written while an instance ran that did not stop it, and the message
    triggers it fires (``agent_reply``, ``customer_message``...; none for a private
    customer message)."""

    event: Event
    fires: frozenset[On]


@dataclass(frozen=True, slots=True)
class TriggerFacts:
    """The start trigger that fired at the instance's start event, the stop or cancel
    trigger that fired at its stop event (``None`` where a rule, not a trigger, acted:
    a reopen, a hand-over between groups, a solve under ``when_solved: stop``), the
    messages it ran through, and the start trigger that fired at the event a
    ``counts_from: latest_customer_message`` instance first counted from (``moved_from``)."""

    start: Trigger | None = None
    stop: Trigger | None = None
    passed: tuple[PassedMessage, ...] = ()
    moved: Trigger | None = None


def _first(
    triggers: Sequence[Trigger], ons: frozenset[On], became: set[StateCondition]
) -> Trigger | None:
    """The first of ``triggers`` that ``ons`` or a condition in ``became`` fires, in the
    order the trigger machine tries them, by the machine's own test."""
    return next((t for t in triggers if fired((t,), ons, became)), None)


def _conditions(triggers: Sequence[Trigger]) -> tuple[StateCondition, ...]:
    return tuple({t.condition for t in triggers if t.condition is not None})


# Triggers that fire on a change of status: finding them needs the status before.
_STATUS_ONS: Final = frozenset({On.SOLVED, On.REOPENED})


def _looks_at_state(triggers: Sequence[Trigger]) -> bool:
    """True when one of ``triggers`` needs the ticket's state before an event: a condition
    becoming true, a solve or a reopen."""
    return any(t.condition is not None or t.on in _STATUS_ONS for t in triggers)


def _event_ons(event: Event, created: Event, bots: bool, stop: bool) -> frozenset[On]:
    """The triggers ``event`` fires by itself (no change of state): ``created`` at creation
    (and, for a stop, an assignment given then), a message's, an assignment."""
    if event is created:
        # The machine starts an instance at creation on 'created' alone; its stops see an
        # assignment given at creation as well.
        if stop and created.assignee:
            return frozenset({On.CREATED, On.ASSIGNED})
        return frozenset({On.CREATED})
    if event.type == "message":
        return message_ons(event, bots)
    if event.type == "update" and event.assignee:
        return frozenset({On.ASSIGNED})
    return frozenset()


def _replayed(
    starts: Sequence[Trigger],
    stops: Sequence[Trigger],
    start_event: Event,
    stop_event: Event | None,
    events: Sequence[Event],
    bots: bool,
) -> tuple[Trigger | None, Trigger | None]:
    """The start and stop triggers that fired at ``start_event`` and ``stop_event``,
    following the ticket's status and attributes along ``events`` as the machine does."""
    watched = _conditions((*starts, *stops))
    created = events[0]
    ticket = Ticket(created)
    holding = {c: ticket.holds(c) for c in watched}
    start: Trigger | None = None
    stop: Trigger | None = None
    for event in events:
        if event is created:
            became = {c for c, held in holding.items() if held}
            start_ons = _event_ons(event, created, bots, stop=False)
            stop_ons = _event_ons(event, created, bots, stop=True)
        else:
            was_stopped = ticket.status in STOPPED_STATUSES
            ticket.apply(event)
            became = set()
            for condition in watched:
                now_holds = ticket.holds(condition)
                if now_holds and not holding[condition]:
                    became.add(condition)
                holding[condition] = now_holds
            ons = set(_event_ons(event, created, bots, stop=True))
            stopped = ticket.status in STOPPED_STATUSES
            if stopped and not was_stopped:
                ons.add(On.SOLVED)
            elif was_stopped and not stopped:
                ons.add(On.REOPENED)
            start_ons = stop_ons = frozenset(ons)
        if event is start_event:
            start = _first(starts, start_ons, became)
            if stop_event is None:
                break
        if event is stop_event:
            stop = _first(stops, stop_ons, became)
            break
    return start, stop


def _start_trigger(
    starts: Sequence[Trigger], event: Event, events: Sequence[Event], bots: bool
) -> Trigger | None:
    """The start trigger that fired at ``event``."""
    if _looks_at_state(starts):
        return _replayed(starts, (), event, None, events, bots)[0]
    return _first(starts, _event_ons(event, events[0], bots, stop=False), set())


def _passed(
    raw: RawClock, events: Sequence[Event], stop_event: Event | None, bots: bool, now: int
) -> tuple[PassedMessage, ...]:
    """The messages written while ``raw`` ran, other than the ones that started and
    stopped it, with the triggers each fires."""
    out: list[PassedMessage] = []
    for a, b in raw.windows():
        end = now if b == -1 else b
        lo = bisect.bisect_left(events, a, key=lambda e: e.at)
        hi = bisect.bisect_left(events, end, key=lambda e: e.at)
        for event in events[lo:hi]:
            if event.type == "message" and event is not raw.start_event and event is not stop_event:
                out.append(PassedMessage(event, message_ons(event, bots)))
    return tuple(out)


def trigger_facts(raw: RawClock, events: Sequence[Event], bots: bool, now: int) -> TriggerFacts:
    """The :class:`TriggerFacts` of ``raw`` at ``now``, among the ticket's ``events``
    (created first, none after ``now``); ``bots`` whether bot replies count."""
    facts = _trigger_facts(raw, events, bots, now)
    moved = None if raw.facts is None else raw.facts.moved_from
    if moved is None or not raw.metric.definition.start:
        return facts
    trigger = _start_trigger(raw.metric.definition.start, moved, events, bots)
    return TriggerFacts(facts.start, facts.stop, facts.passed, trigger)


def _trigger_facts(raw: RawClock, events: Sequence[Event], bots: bool, now: int) -> TriggerFacts:
    definition = raw.metric.definition
    start_event = raw.start_event
    stop_event = None if raw.running else raw.stop_event
    stops: tuple[Trigger, ...] = ()
    if raw.stop_reason == StopReason.FULFILLED:
        stops = definition.fulfil
    elif raw.stop_reason == StopReason.CANCELLED:
        stops = definition.cancel
    elif raw.stop_reason == StopReason.SOLVED:
        # 'stop: solved' meets the metric at the solve; when_solved: stop is a rule.
        stops = tuple(t for t in definition.fulfil if t.on == On.SOLVED)
    starts = definition.start
    passed = _passed(raw, events, stop_event, bots, now)
    if not starts and not stops:
        return TriggerFacts(passed=passed)
    if raw.stop_reason == StopReason.SOLVED and stop_event is not None:
        # Only a solve stops an instance as solved: its 'stop: solved', if any, fired.
        start = _start_trigger(starts, start_event, events, bots)
        return TriggerFacts(start, stops[0] if stops else None, passed)
    if _looks_at_state(stops):
        start, stop = _replayed(starts, stops, start_event, stop_event, events, bots)
        return TriggerFacts(start, stop, passed)
    # No stop trigger looks at the ticket's state: the stop event fires what it is alone.
    start = _start_trigger(starts, start_event, events, bots)
    stop = None
    if stop_event is not None:
        stop = _first(stops, _event_ons(stop_event, events[0], bots, stop=True), set())
    return TriggerFacts(start, stop, passed)


__all__ = ["PassedMessage", "TriggerFacts", "trigger_facts"]
