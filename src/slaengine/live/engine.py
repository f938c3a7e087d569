"""The live engine: ticket events in, SLA status out, due notifications into the outbox.

It keeps state (in a :class:`~slaengine.live.store.Store`) around the pure core:
every evaluation is :func:`slaengine.evaluate_timeline` on the ticket's stored
events at the instant given, so a restarted engine reaches exactly the state it
had. ``now`` is always an argument; the worker passes the wall clock.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final

from slaengine.clocks import ACTIVE, BREACHED, PAUSED
from slaengine.engine import TicketResult, as_epoch, evaluate_timeline
from slaengine.errors import EventError
from slaengine.event_parsing import parse_event
from slaengine.live.atrisk import OpenClock
from slaengine.live.spikes import SpikeWatch
from slaengine.live.store import Decision, Duplicate, NewEvent, Reject, Store, event_problem
from slaengine.live.text import BODY_LIMIT, raw_text, storable
from slaengine.notifications import (
    Notification,
    TicketStatus,
    next_point,
    reached,
    ticket_status,
)
from slaengine.policy.model import PolicySet
from slaengine.safetext import printable
from slaengine.timeline import Event, Timeline, build_timelines

Recipients = Callable[[Notification], Sequence[str]]
#: An item as a source read it: ``(origin, payload, problem)``, optionally with the
#: input's own text (``bytes`` or ``str``) last, kept when the item is rejected.
Record = (
    tuple[str, Mapping[str, Any] | None, str | None]
    | tuple[str, Mapping[str, Any] | None, str | None, bytes | str | None]
)


def _only_targets(notification: Notification) -> Sequence[str]:
    return notification.notify


ACCEPTED: Final = "accepted"
DUPLICATE: Final = "duplicate"
REJECTED: Final = "rejected"
NOT_STORED: Final = "not_stored"  # valid, but its replay was refused as a whole
_HELD: Final = "valid, but another event of the replay was refused; nothing was stored"


@dataclass(frozen=True, slots=True)
class Outcome:
    """What became of one ingested event: accepted, duplicate or rejected, and why."""

    origin: str
    status: str
    ticket: str | None = None
    id: str | None = None
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping (keys without a value left out)."""
        found = {"status": self.status, "ticket": self.ticket, "id": self.id}
        found["reason"] = self.reason
        return {key: value for key, value in found.items() if value is not None}


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one ingest call stored and what it refused (kept in the rejects table).

    ``accepted`` counts the events newly stored; ``duplicates`` those whose
    (ticket, id) was already stored; ``outcomes`` has one entry per item, in order.
    """

    accepted: int = 0
    rejected: tuple[Reject, ...] = ()
    duplicates: int = 0
    outcomes: tuple[Outcome, ...] = ()


@dataclass(frozen=True, slots=True)
class AdvanceReport:
    """What one advance did: tickets evaluated and notifications newly due."""

    evaluated: int = 0
    notifications: tuple[Notification, ...] = ()
    outbox_rows: int = 0
    problems: tuple[str, ...] = field(default_factory=tuple)


class LiveEngine:
    """Ingest events, answer "what is due on this ticket?", and queue notifications.

    ``recipients(notification)`` names who receives each notification (outbox
    rows); by default the policy's ``notify`` targets. The worker passes one
    that adds every plugin implementing the matching ``slaengine_on_*`` hook.
    A ticket whose evaluation raises is tried again ``broken_retry`` seconds
    later (or at its next event), so a passing fault does not hide its breaches.
    ``quiet_before`` (a go-live instant) is every :meth:`ingest`'s quiet cut-off
    unless the call gives its own.
    """

    def __init__(
        self,
        policies: PolicySet,
        store: Store,
        recipients: Recipients = _only_targets,
        batch: int = 500,
        broken_retry: int = 300,
        quiet_before: int | Any | None = None,
    ) -> None:
        self.policies = policies
        self.store = store
        self.recipients = recipients
        self.batch = batch
        self.broken_retry = broken_retry
        self.quiet_before = None if quiet_before is None else as_epoch(quiet_before)
        self.spikes = SpikeWatch(policies.spikes, store, recipients)

    # -- events in ------------------------------------------------------------

    def ingest(
        self,
        events: Iterable[Mapping[str, Any] | Record],
        now: int | Any,
        cursor: tuple[str, str | None] | None = None,
        quiet_before: int | Any | None = None,
        body: tuple[bytes | str, str | None] | None = None,
    ) -> IngestReport:
        """Validate and store events; their tickets are re-evaluated at the next advance.

        Each item is a canonical event mapping, or ``(origin, payload, problem)``
        as a source reads it, optionally with the input's own text as a fourth
        element. A bad event is not lost: it is stored in the rejects table
        with its origin, its reason and its payload (or, when it could not be
        read, its text, up to :data:`~slaengine.live.text.RAW_LIMIT`
        characters), and the others go on.
        ``cursor`` (source name, position) is saved in the same transaction.

        ``quiet_before`` loads history quietly: every notification the stored
        events' tickets reach before that instant is recorded in the outbox as
        ``skipped`` and never sent (nor its actions performed); those from it
        on are sent as usual.

        ``body`` (the request body the events were translated from, such as an inbox
        webhook's, and its content type) is kept with each reject, up to
        :data:`~slaengine.live.text.BODY_LIMIT` bytes, so a refused delivery can be
        read as it was received.
        """
        instant = as_epoch(now)
        accepted, positions, rejected, outcomes = self._sort(events)
        if body is not None and rejected:
            text, size = raw_text(body[0], BODY_LIMIT)
            kind = None if body[1] is None else printable(body[1])[:200]
            rejected = [replace(r, body=text, body_type=kind, body_size=size) for r in rejected]
        quiet = self.quiet_before if quiet_before is None else as_epoch(quiet_before)
        duplicates = self.store.add_events(accepted, instant, rejected, cursor, quiet)
        return _report(accepted, rejected, outcomes, positions, duplicates)

    def replay(
        self,
        reject_id: int,
        events: Iterable[Mapping[str, Any] | Record],
        now: int | Any,
        quiet_before: int | Any | None = None,
    ) -> IngestReport:
        """Store corrected events in place of reject ``reject_id`` (a dead letter redriven).

        All or nothing: when every event is valid they are stored as by
        :meth:`ingest` and the reject is marked replayed, in one transaction;
        otherwise nothing is stored (no new rejects either) and the report's
        outcomes say why (a valid event's is ``not_stored``). Raises
        :class:`~slaengine.live.eventstore.UnknownReject` or
        :class:`~slaengine.live.eventstore.AlreadyReplayed`.
        """
        instant = as_epoch(now)
        accepted, positions, rejected, outcomes = self._sort(events)
        if not outcomes:
            raise ValueError("no events to replay")
        if rejected:
            held = [
                replace(o, status=NOT_STORED, reason=_HELD) if o.status == ACCEPTED else o
                for o in outcomes
            ]
            return IngestReport(0, tuple(rejected), 0, tuple(held))
        quiet = self.quiet_before if quiet_before is None else as_epoch(quiet_before)
        duplicates = self.store.add_events(accepted, instant, (), None, quiet, replay_of=reject_id)
        return _report(accepted, rejected, outcomes, positions, duplicates)

    def _sort(
        self, events: Iterable[Mapping[str, Any] | Record]
    ) -> tuple[list[NewEvent], list[int], list[Reject], list[Outcome]]:
        """Validate items: the events to store, their places, the rejects, every outcome."""
        accepted: list[NewEvent] = []
        positions: list[int] = []  # each accepted event's place in ``outcomes``
        rejected: list[Reject] = []
        outcomes: list[Outcome] = []
        for number, item in enumerate(events, start=1):
            raw: bytes | str | None = None
            if isinstance(item, tuple):
                origin, payload, problem, *rest = item
                raw = rest[0] if rest else None
            else:
                origin, payload, problem = f"<ingest>:{number}", item, None
            origin = storable(origin)
            text = None if payload is None else _as_json(payload)
            if problem is None and payload is not None:
                try:
                    event = parse_event(dict(payload), status_map=self.policies.status_map)
                    problem = (
                        "cannot be written as JSON" if text is None else _unstorable(event, text)
                    )
                except EventError as exc:
                    problem = exc.reason
                except Exception as exc:  # a poison payload must not sink the batch
                    problem = f"cannot be read: {exc!r}"[:500]
            else:
                problem = problem or "no event"
            if problem is not None:
                # A source plugin may hand anything as the text: only text is kept.
                kept, size = raw_text(raw) if isinstance(raw, bytes | str) else (None, None)
                reject = Reject(origin, storable(problem), _shown(payload), kept, size)
                rejected.append(reject)
                ticket, event_id = (_named(payload, key) for key in ("ticket", "id"))
                outcomes.append(Outcome(origin, REJECTED, ticket, event_id, reject.problem))
                continue
            positions.append(len(outcomes))
            accepted.append(NewEvent(event.ticket, event.at, text or "{}", origin, event.id))
            outcomes.append(Outcome(origin, ACCEPTED, event.ticket, event.id))
        return accepted, positions, rejected, outcomes

    # -- status out -------------------------------------------------------------

    def timeline(self, ticket: str) -> tuple[Timeline | None, list[str]]:
        """The ticket's timeline from its stored events, and why any were left out."""
        events: list[Event] = []
        problems: list[str] = []
        status_map = self.policies.status_map
        for seq, payload, origin in self.store.events_of(ticket):
            try:
                events.append(parse_event(json.loads(payload), seq=seq, status_map=status_map))
            except (EventError, ValueError) as exc:  # stored before a policy change
                problems.append(f"{origin}: {exc}")
        built = build_timelines(events, ticket)
        problems.extend(problem.message for problem in built.problems)
        return built.timelines.get(ticket), problems

    def evaluate(self, ticket: str, now: int | Any) -> TicketResult | None:
        """The ticket evaluated at ``now``; ``None`` if unknown or not yet created."""
        timeline, _ = self.timeline(ticket)
        if timeline is None:
            return None
        return evaluate_timeline(self.policies, timeline, as_epoch(now))

    def status(self, ticket: str, now: int | Any) -> TicketStatus | None:
        """Per metric: state, due, business time remaining, the next warning or escalation."""
        instant = as_epoch(now)
        result = self.evaluate(ticket, instant)
        return None if result is None else ticket_status(result, instant)

    # -- advancing the clock ------------------------------------------------------

    def advance(self, now: int | Any) -> AdvanceReport:
        """Re-evaluate every ticket with new events or a point due by ``now``.

        Notifications reached by ``now`` go into the outbox, once per
        recipient; ones a late event has made wrong are cancelled while still
        undelivered. The policies' spike rules are checked too (at most once a
        minute). Returns what was newly queued.
        """
        instant = as_epoch(now)
        evaluated = 0
        new: list[Notification] = []
        rows = 0
        problems: list[str] = []
        while True:
            tickets = self.store.tickets_due(instant, self.batch)
            if not tickets:
                break
            results: list[tuple[str, int | None, str | None, list[Decision] | None]] = []
            clocks: dict[str, list[OpenClock]] = {}
            for ticket in tickets:
                try:
                    wake, policy, decisions, ticket_problems, open_clocks = self._decide(
                        ticket, instant
                    )
                except Exception as exc:  # one broken ticket must not stop the others
                    # Its earlier rows stay; it is looked at again later or with its next event.
                    problems.append(f"ticket {ticket!r} could not be evaluated: {exc!r}")
                    results.append((ticket, instant + self.broken_retry, None, None))
                    continue
                results.append((ticket, wake, policy, decisions))
                clocks[ticket] = open_clocks
                problems.extend(ticket_problems)
            added = self.store.save_evaluations(results, instant, clocks)
            evaluated += len(tickets)
            rows += len(added)
            seen: set[str] = set()
            for decision, _ in added:
                if decision.key not in seen:
                    seen.add(decision.key)
                    new.append(Notification.from_dict(json.loads(decision.payload)))
        spikes, spike_problems = self.spikes.check(instant)
        new.extend(spikes)
        problems.extend(spike_problems)
        return AdvanceReport(evaluated, tuple(new), rows, tuple(problems))

    def _decide(
        self, ticket: str, now: int
    ) -> tuple[int | None, str | None, list[Decision], list[str], list[OpenClock]]:
        """When to look at ``ticket`` again, its policy, what it has reached by ``now``.

        Also its clocks still open at ``now``, for the at-risk queue.
        """
        timeline, problems = self.timeline(ticket)
        if timeline is None:
            return None, None, [], problems, []  # no 'created' yet: wait for it
        events = timeline.events
        # An event stamped later than now changes the ticket then.
        later = bisect_right(events, now, key=lambda e: e.at)
        upcoming = events[later].at if later < len(events) else None
        result = evaluate_timeline(self.policies, timeline, now)
        if result is None:
            return upcoming, None, [], problems, []
        wake = next_point(result, now)
        if upcoming is not None and (wake is None or upcoming < wake):
            wake = upcoming
        decisions = []
        for notification in reached(result, now):
            recipients = tuple(dict.fromkeys(self.recipients(notification)))
            if recipients:
                decisions.append(
                    Decision(
                        notification.key,
                        ticket,
                        notification.kind,
                        notification.at,
                        json.dumps(notification.to_dict(), sort_keys=True),
                        recipients,
                    )
                )
        policy = result.policy.name if result.policy is not None else None
        return wake, policy, decisions, problems, _open_clocks(result, policy)


_OTHER_CONTENT: Final = (
    "an event with this id is already stored with other content; the stored one stands"
)


def _report(
    accepted: Sequence[NewEvent],
    rejected: Sequence[Reject],
    outcomes: list[Outcome],
    positions: Sequence[int],
    duplicates: Sequence[Duplicate],
) -> IngestReport:
    """The report of a store: each duplicate's outcome says so, with why."""
    for duplicate in duplicates:
        place = positions[duplicate.index]
        reason = "already stored" if duplicate.same else _OTHER_CONTENT
        outcomes[place] = replace(outcomes[place], status=DUPLICATE, reason=reason)
    return IngestReport(
        len(accepted) - len(duplicates), tuple(rejected), len(duplicates), tuple(outcomes)
    )


def _open_clocks(result: TicketResult, policy: str | None) -> list[OpenClock]:
    state = result.state
    return [
        OpenClock(
            result.ticket,
            clock.metric,
            clock.instance,
            clock.state,
            clock.due,
            policy,
            clock.priority,
            state.channel,
            state.group,
            state.assignee,
            clock.agreement,
        )
        for clock in result.clocks
        if clock.stop is None and clock.state in (ACTIVE, PAUSED, BREACHED)
    ]


def _as_json(
    payload: Mapping[str, Any], ascii_only: bool = False, sort_keys: bool = True
) -> str | None:
    """The payload as JSON text (canonical: keys sorted), or ``None`` when it has no JSON form."""
    try:
        return json.dumps(payload, sort_keys=sort_keys, ensure_ascii=ascii_only, default=str)
    except (TypeError, ValueError, RecursionError):  # NaN is fine; huge ints, cycles not
        return None


def _named(payload: Mapping[str, Any] | None, key: str) -> str | None:
    # A refused event's ticket and id, when it names them plainly, so the sender can tell.
    value = payload.get(key) if isinstance(payload, Mapping) else None
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) < 10**30:
        value = str(value)
    return storable(value)[:200] if isinstance(value, str) else None


def _shown(payload: Mapping[str, Any] | None) -> str | None:
    """As much of a refused payload as can be kept for people to read."""
    if payload is None:
        return None
    text = _as_json(payload, ascii_only=True, sort_keys=False)  # as sent, keys in its order
    if text is not None:
        return text
    try:
        return storable(repr(payload)[:10_000])
    except Exception:  # a huge integer or deep nesting has no repr either
        return f"<{type(payload).__name__} that cannot be shown>"


def _unstorable(event: Event, text: str) -> str | None:
    """Why an otherwise valid event cannot be stored as it is, or ``None``."""
    if event.id is not None and "\x00" in event.id:
        return "event id contains a NUL character"
    return event_problem(event.ticket, text)


__all__ = [
    "ACCEPTED",
    "DUPLICATE",
    "REJECTED",
    "AdvanceReport",
    "IngestReport",
    "LiveEngine",
    "Outcome",
    "Recipients",
    "Record",
]
