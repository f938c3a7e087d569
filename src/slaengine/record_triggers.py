"""For the record: which of a metric's triggers started and stopped an instance, and the
messages the instance ran through without stopping.

Built only when an evaluation records (``segments=True``), after the walk decided
everything. It answers with the trigger machine's own tests (which triggers a message
fires, which conditions an event made hold) at the events the walk already chose as the
instance's start and stop, so readers such as explain can say "started by the move to
group tier2 (start: group tier2)" or "the internal note does not count (stop:
agent_reply)" without deciding a clock rule themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slaengine.clock_triggers import _message_ons, _Ticket
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
    a reopen, a hand-over between groups, a solve under ``when_solved: stop``), and the
    messages it ran through."""

    start: Trigger | None = None
    stop: Trigger | None = None
    passed: tuple[PassedMessage, ...] = ()


def _first(
    triggers: Sequence[Trigger], ons: frozenset[On], became: set[StateCondition]
) -> Trigger | None:
    """The first of ``triggers`` that ``ons`` or a condition in ``became`` fires, in the
    order the trigger machine tries them."""
    for trigger in triggers:
        if trigger.on is not None:
            if trigger.on in ons:
                return trigger
        elif trigger.condition in became:
            return trigger
    return None


def _conditions(triggers: Sequence[Trigger]) -> tuple[StateCondition, ...]:
    return tuple({t.condition for t in triggers if t.condition is not None})


def trigger_facts(raw: RawClock, events: Sequence[Event], bots: bool, now: int) -> TriggerFacts:
    """The :class:`TriggerFacts` of ``raw`` at ``now``, among the ticket's ``events``
    (created first, none after ``now``); ``bots`` whether bot replies count."""
    definition = raw.metric.definition
    windows = raw.windows
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
    spans = [(a, now if b == -1 else b) for a, b, *_ in windows]
    passed = tuple(
        PassedMessage(event, _message_ons(event, bots))
        for event in events
        if event.type == "message"
        and event is not start_event
        and event is not stop_event
        and any(a <= event.at < b for a, b in spans)
    )
    if not starts and not stops:
        return TriggerFacts(passed=passed)
    watched = _conditions((*starts, *stops))
    created = events[0]
    ticket = _Ticket(created)
    holding = {c: ticket.holds(c) for c in watched}
    start: Trigger | None = None
    stop: Trigger | None = None
    for event in events:
        if event is created:
            became = {c for c, held in holding.items() if held}
            # The machine starts an instance at creation on 'created' alone; its stops
            # see an assignment given at creation as well.
            start_ons = frozenset({On.CREATED})
            stop_ons = start_ons | ({On.ASSIGNED} if created.assignee else set())
        else:
            was_stopped = ticket.status in STOPPED_STATUSES
            ticket.apply(event)
            became = set()
            for condition in watched:
                now_holds = ticket.holds(condition)
                if now_holds and not holding[condition]:
                    became.add(condition)
                holding[condition] = now_holds
            ons: set[On] = set()
            if event.type == "message":
                ons |= _message_ons(event, bots)
            elif event.type == "update" and event.assignee:
                ons.add(On.ASSIGNED)
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
    return TriggerFacts(start, stop, passed)


__all__ = ["PassedMessage", "TriggerFacts", "trigger_facts"]
