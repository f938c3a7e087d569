"""Internal agreements on a ticket: when each attaches, and its clocks from that instant.

An agreement (:class:`~slaengine.policy.model.Agreement`) attaches at the first event
after which its match holds, the ticket's creation included, and stays attached. Under
``starts: attached`` its clocks see the ticket as if it were created at that event, in
the state the event left it; under ``starts: created`` they see the whole timeline.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from slaengine.attributes import initial_attributes, update_changes
from slaengine.clock_walk import opening_event
from slaengine.clocks import ClockResult, run_clocks
from slaengine.policy.model import ATTACHED, Agreement
from slaengine.timeline import Event, TicketState


def _states(events: Sequence[Event]) -> Iterator[tuple[int, TicketState]]:
    """The ticket's state after its creation and after each event that changed it."""
    created = events[0]
    status = created.status or "new"
    attributes = initial_attributes(created)

    def state() -> TicketState:
        return TicketState(
            ticket=created.ticket,
            created=created.at,
            channel=attributes["channel"],
            priority=attributes["priority"],
            status=status,
            customer=attributes["customer"],
            group=attributes["group"],
            assignee=attributes["assignee"],
            tags=frozenset(attributes["tags"]),
            fields=attributes["fields"],
        )

    yield 0, state()
    for index in range(1, len(events)):
        event = events[index]
        if event.type == "status":
            new = event.status or status
            if new == status:
                continue
            status = new
        elif event.type == "update":
            changes = update_changes(event, attributes)
            if not changes:
                continue
            for name, _old, value in changes:
                attributes[name] = value
        else:
            continue
        yield index, state()


def attachments(
    agreements: Sequence[Agreement], events: Sequence[Event]
) -> list[tuple[Agreement, int, TicketState]]:
    """Each agreement that attached along ``events``: the index of the event at which its
    match first held and the ticket's state then, in agreement order."""
    found: dict[int, tuple[Agreement, int, TicketState]] = {}
    for index, state in _states(events):
        for number, agreement in enumerate(agreements):
            if number not in found and agreement.policy.applies_to(state):
                found[number] = (agreement, index, state)
        if len(found) == len(agreements):
            break
    return [found[number] for number in sorted(found)]


def _as_created(events: Sequence[Event], index: int, state: TicketState) -> list[Event]:
    """``events`` from ``index`` on, the event there turned into a ``created`` event that
    carries the ticket's state (who opened the ticket stays the original opener)."""
    event = events[index]
    opener = opening_event(events)
    created = Event(
        event.ticket,
        event.at,
        "created",
        event.seq,
        event.line,
        event.id,
        state.channel,
        state.priority,
        state.status,
        state.customer,
        state.group,
        state.assignee,
        tuple(sorted(state.tags)),
        dict(state.fields),
        opener.author if opener is not None else None,
    )
    return [created, *events[index + 1 :]]


def agreement_clocks(
    agreements: Sequence[Agreement], events: Sequence[Event], now: int, record: bool = False
) -> tuple[tuple[Agreement, ...], list[ClockResult]]:
    """The agreements attached to a ticket by ``now`` and their clocks, each result naming
    its agreement. ``events`` are the ticket's events up to ``now``, created first."""
    attached: list[Agreement] = []
    results: list[ClockResult] = []
    for agreement, index, state in attachments(agreements, events):
        attached.append(agreement)
        seen = events
        if index and agreement.starts == ATTACHED:
            seen = _as_created(events, index, state)
        for result in run_clocks(seen, agreement.policy, now, record):
            result.agreement = agreement.name
            results.append(result)
    return tuple(attached), results


__all__ = ["agreement_clocks", "attachments"]
