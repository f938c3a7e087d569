"""Internal agreements on a ticket: when each attaches (and detaches), and its clocks.

An agreement (:class:`~slaengine.policy.model.Agreement`) attaches at the first event
after which its match holds, the ticket's creation included. With ``on_unmatch: keep``
it stays attached; with ``detach`` it detaches at the first event after which its match
no longer holds, its running clocks stop there (stop reason ``detached``), and the next
event after which the match holds attaches it again, with new clock instances. Under
``starts: attached`` its clocks see the ticket as if it were created at that event, in
the state the event left it; under ``starts: created`` the first attachment's clocks see
the whole timeline (a re-attachment counts from its own event).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from slaengine.attributes import initial_attributes, update_changes
from slaengine.clock_walk import opening_event
from slaengine.clocks import BREACHED, CANCELLED, Alert, ClockResult, run_clocks
from slaengine.policy.model import ATTACHED, DETACH, ESCALATION, Agreement
from slaengine.timeline import Event, TicketState
from slaengine.vocabulary import StopReason

DETACHED = StopReason.DETACHED


@dataclass(frozen=True, slots=True)
class Attachment:
    """One stretch in which an agreement was attached to a ticket.

    ``index`` is the event (in the ticket's events up to the evaluation instant) at which
    its match held, ``state`` the ticket's state then; ``detached`` the event at which it
    stopped holding and ``detached_state`` the state then (``on_unmatch: detach`` only;
    ``None``: still attached). ``number`` counts the agreement's attachments from 1.
    """

    agreement: Agreement
    index: int
    state: TicketState
    detached: int | None = None
    detached_state: TicketState | None = None
    number: int = 1


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


def attachments(agreements: Sequence[Agreement], events: Sequence[Event]) -> list[Attachment]:
    """Each attachment of an agreement along ``events``, in agreement order, then in time
    order: under ``on_unmatch: keep`` only the first (it never ends); under ``detach``
    each stretch in which the match held."""
    found: list[list[Attachment]] = [[] for _ in agreements]
    detaching = any(a.on_unmatch == DETACH for a in agreements)
    for index, state in _states(events):
        for number, agreement in enumerate(agreements):
            mine = found[number]
            attached = bool(mine) and mine[-1].detached is None
            holds = agreement.policy.applies_to(state)
            if holds and not attached:
                mine.append(Attachment(agreement, index, state, number=len(mine) + 1))
            elif attached and not holds and agreement.on_unmatch == DETACH:
                mine[-1] = replace(mine[-1], detached=index, detached_state=state)
        if not detaching and all(found):
            break  # every agreement attached for good
    return [attachment for mine in found for attachment in mine]


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


def _detach(result: ClockResult, event: Event) -> None:
    """Stop ``result``, measured at ``event``'s instant, there: its agreement detached.

    Its time so far stays as measured; it keeps a breach, else it is cancelled; the
    warnings and escalations it had not reached it never reaches."""
    if result.stop is not None:
        return  # stopped before the detach, by its own rules
    at = event.at
    result.stop = max(at, result.start)
    result.stop_reason = DETACHED
    breached = result.state == BREACHED
    if not breached:
        result.state = CANCELLED
    result.pauses = tuple((a, at if b is None else b) for a, b in result.pauses)
    result.alerts = tuple(
        alert
        if alert.at is not None and alert.at <= at and (breached or alert.kind != ESCALATION)
        else Alert(alert.kind, alert.level, None, alert.notify)
        for alert in result.alerts
    )
    if result.record is not None:
        result.record = replace(result.record, stop_event=event)


def _clocks(
    attachment: Attachment, events: Sequence[Event], now: int, record: bool
) -> list[ClockResult]:
    """The clocks of one attachment: over the events until its detach, measured at the
    detach (then stopped there) or at ``now``."""
    agreement, index, detached = attachment.agreement, attachment.index, attachment.detached
    seen = events if detached is None else events[:detached]
    if index and (agreement.starts == ATTACHED or attachment.number > 1):
        seen = _as_created(seen, index, attachment.state)
    until = now if detached is None else events[detached].at
    results = run_clocks(seen, agreement.policy, until, record)
    if detached is not None:
        for result in results:
            _detach(result, events[detached])
    return results


def _for_ticket(agreement: Agreement, events: Sequence[Event], state: TicketState) -> Agreement:
    """``agreement`` with the calendars its calendar maps choose for the ticket, as the
    customer SLA's policy gets them (:meth:`Policy.for_ticket`)."""
    if not agreement.policy.maps:
        return agreement
    return replace(agreement, policy=agreement.policy.for_ticket(events, state))


def agreement_clocks(
    agreements: Sequence[Agreement],
    events: Sequence[Event],
    now: int,
    state: TicketState,
    record: bool = False,
) -> tuple[tuple[Attachment, ...], list[ClockResult]]:
    """Each attachment of an agreement to a ticket by ``now`` and their clocks, each result
    naming its agreement. ``events`` are the ticket's events up to ``now``, created first;
    ``state`` the ticket's state at ``now``, from which an agreement's calendar maps
    choose. The attachments' agreements carry the calendars chosen.

    A re-attached agreement's instances are numbered on from its earlier attachments'.
    """
    found: list[Attachment] = []
    results: list[ClockResult] = []
    counted: dict[str, int] = {}  # instances of each metric in earlier attachments
    for attachment in attachments(agreements, events):
        if attachment.agreement.policy.maps:
            resolved = _for_ticket(attachment.agreement, events, state)
            attachment = replace(attachment, agreement=resolved)  # noqa: PLW2901 - resolved
        found.append(attachment)
        if attachment.number == 1:
            counted = {}
        clocks = _clocks(attachment, events, now, record)
        for result in clocks:
            result.agreement = attachment.agreement.name
            result.instance += counted.get(result.metric, 0)
            results.append(result)
        for result in clocks:
            counted[result.metric] = max(counted.get(result.metric, 0), result.instance)
    return tuple(found), results


__all__ = ["DETACHED", "Attachment", "agreement_clocks", "attachments"]
