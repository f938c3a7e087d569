"""Why a ticket's SLA clocks are where they are: a pure explanation of one evaluation.

``explain_ticket(policies, timeline, now)`` re-uses the engine's result for the
ticket and adds what a person needs to follow it: which policy matched and why
(and why the earlier ones did not), the calendars, and for every clock instance
a real-time segment timeline (running, paused, closed, stopped) whose running
segments add up to the clock's elapsed business time. No I/O, no wall clock.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from slaengine.calendar import AlwaysOpen, BusinessCalendar, Shift, WeeklyCalendar
from slaengine.clocks import (
    BREACHED,
    FULFILLED,
    SOLVED,
    SUPERSEDED,
    ClockResult,
    message_fulfils,
)
from slaengine.durations import format_duration
from slaengine.engine import evaluate_timeline
from slaengine.policy.model import (
    AGENT,
    ASSIGNMENT,
    FIRST_BUSINESS_MINUTE,
    FIRST_RESPONSE,
    LATEST_CUSTOMER_MESSAGE,
    MINUTES,
    NEXT_OPENING,
    NEXT_RESPONSE,
    PAUSE,
    PERIODIC_UPDATE,
    PUBLIC_AGENT,
    RESOLUTION,
    STAYS_MET,
    Match,
    MetricPolicy,
    Policy,
    PolicySet,
)
from slaengine.timeline import PRIORITIES, STOPPED_STATUSES, Event, TicketState, Timeline
from slaengine.vocabulary import SegmentReason

RUNNING: Final = SegmentReason.RUNNING
PAUSED: Final = SegmentReason.PAUSED
CLOSED: Final = SegmentReason.CLOSED
STOPPED: Final = SegmentReason.STOPPED
SEGMENT_KINDS: Final = (RUNNING, PAUSED, CLOSED, STOPPED)

_DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SELECTION_ATTRIBUTES: Final = (
    "channel",
    "priority",
    "group",
    "assignee",
    "customer",
    "tags",
    "fields",
)


@dataclass(frozen=True, slots=True)
class PolicyCheck:
    """One policy tried during selection: whether its match held, and why (not)."""

    name: str
    location: str | None
    matched: bool
    held: tuple[str, ...]  # conditions that held (all of them when matched)
    failed: tuple[str, ...]  # conditions that did not hold (empty when matched)
    # The policy's ``effective_from``, and whether the ticket was created at or after it.
    effective_from: int | None = None
    in_force: bool = True

    def why_not(self, when: Callable[[int], str]) -> tuple[str, ...]:
        """Why the policy does not apply: not yet in force for the ticket, failed conditions."""
        if self.in_force or self.effective_from is None:
            return self.failed
        version = (
            f"ticket created before {when(self.effective_from)}; the policy applies to "
            "tickets created from then"
        )
        return (version, *self.failed)


@dataclass(frozen=True, slots=True)
class SelectionChange:
    """From ``at`` on, the ticket's attributes then would have selected ``policy``."""

    at: int
    line: int
    policy: str | None


@dataclass(frozen=True, slots=True)
class AttributeChange:
    """An ``update`` event (at or before the evaluation instant) that changed an attribute."""

    at: int
    line: int
    attribute: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class CalendarInfo:
    """A calendar as people read it: zone, weekly hours, holidays."""

    name: str
    timezone: str | None  # None for the always-open 24x7 calendar
    hours: tuple[str, ...]  # "mon-fri 09:00-17:00", ...; ("always open",) for 24x7
    holiday_countries: tuple[str, ...]  # "DE-BE", "US"
    holiday_dates: tuple[str, ...]  # "2025-12-24", ...


@dataclass(frozen=True, slots=True)
class Segment:
    """A real-time stretch ``[start, end)`` of a clock with one label.

    ``business`` is what the segment added to elapsed (only ``running`` adds);
    ``paused_open`` is the open calendar time spent paused (it makes up
    ``paused_seconds``); ``elapsed_after`` is elapsed at the segment's end.
    ``status`` is the ticket status during a paused or stopped segment.
    ``breach_at`` is set on the segment in which the target ran out.
    """

    kind: str
    start: int
    end: int
    business: int
    paused_open: int
    elapsed_after: int
    status: str | None = None
    breach_at: int | None = None

    @property
    def real(self) -> int:
        """Real (wall-clock) seconds of the segment."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class Note:
    """A remark on a clock; ``text`` has ``{0}``, ``{1}``... where ``instants`` go.

    Instants stay epoch seconds so each renderer shows them in its own time zone.
    ``code`` is a stable key for tools (``priority_changed``, ``reopened``...).
    """

    code: str
    text: str
    instants: tuple[int, ...] = ()

    def render(self, when: Callable[[int], str]) -> str:
        """The text with each instant formatted by ``when``."""
        return self.text.format(*(when(t) for t in self.instants))


@dataclass(frozen=True, slots=True)
class PriorityChange:
    """A priority change while a clock ran."""

    at: int
    line: int
    old: str
    new: str

    @property
    def raised(self) -> bool:
        """True when the new priority is more urgent than the old one."""
        return PRIORITIES.index(self.new) < PRIORITIES.index(self.old)


@dataclass(frozen=True, slots=True)
class ClockExplanation:
    """One clock instance with its story: how it started, stopped, counted and (maybe) ran out."""

    clock: ClockResult
    calendar: CalendarInfo
    pause_when: tuple[str, ...]
    start_line: int | None
    stop_line: int | None
    stop_text: str  # "fulfilled by jonas's reply", "ticket solved", "still running", ...
    start_priority: str
    priority_changes: tuple[PriorityChange, ...]
    end: int  # the stop, or the evaluation instant for a running clock
    segments: tuple[Segment, ...]
    notes: tuple[Note, ...]
    # The status that hides the due (``hide_when``) of a running clock, if any.
    due_hidden_by: str | None = None
    # Running seconds that ``precision: minutes`` does not count (the running
    # segments add up to ``clock.elapsed + uncounted``).
    uncounted: int = 0

    @property
    def breach_segment(self) -> Segment | None:
        """The segment in which the target ran out, for a breached clock."""
        return next((s for s in self.segments if s.breach_at is not None), None)


@dataclass(frozen=True, slots=True)
class EventUse:
    """One of the ticket's events, and whether the evaluation used it."""

    event: Event
    used: bool  # False: after the evaluation instant, ignored
    summary: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Everything ``slaengine explain`` shows about one ticket at one instant."""

    ticket: str
    now: int
    created: int
    exists: bool  # False when the ticket was created after ``now``
    state: TicketState
    policy: Policy | None
    checks: tuple[PolicyCheck, ...]
    attribute_changes: tuple[AttributeChange, ...]
    selection_history: tuple[SelectionChange, ...]
    calendars: tuple[tuple[str, CalendarInfo], ...]  # (metric, calendar) in policy metric order
    clocks: tuple[ClockExplanation, ...]
    events: tuple[EventUse, ...]
    notes: tuple[Note, ...] = ()  # about the ticket: a metric without a clock, and why

    @property
    def matched(self) -> bool:
        """True when a policy applies."""
        return self.policy is not None


# -- policy selection ---------------------------------------------------------


def held_conditions(match: Match, ticket: TicketState) -> list[str]:
    """Human-readable conditions of ``match`` that ``ticket`` meets (the counterpart of
    :meth:`Match.failed_conditions`); a catch-all says so."""
    if match.is_catch_all:
        return ["no conditions: matches every ticket (catch-all)"]
    return [text for met, text in match.conditions(ticket) if met]


def check_policies(policies: PolicySet, ticket: TicketState) -> list[PolicyCheck]:
    """Every policy tried, in order, up to and including the one that matched."""
    checks: list[PolicyCheck] = []
    for policy in policies.policies:
        failed = policy.match.failed_conditions(ticket)
        location = str(policy.location) if policy.location is not None else None
        in_force = policy.effective_from is None or ticket.created >= policy.effective_from
        matched = policy.applies_to(ticket)
        checks.append(
            PolicyCheck(
                policy.name,
                location,
                matched,
                tuple(held_conditions(policy.match, ticket)),
                tuple(failed),
                policy.effective_from,
                in_force,
            )
        )
        if matched:
            break
    return checks


def _attribute_changes(events: Sequence[Event]) -> list[AttributeChange]:
    created = events[0]
    current: dict[str, Any] = {
        "channel": created.channel,
        "priority": created.priority,
        "group": created.group,
        "assignee": created.assignee,
        "customer": created.customer,
        "tags": tuple(sorted(created.tags or ())),
        "fields": dict(created.fields or {}),
    }
    changes: list[AttributeChange] = []
    for event in events[1:]:
        if event.type != "update":
            continue
        for name in _SELECTION_ATTRIBUTES:
            value: Any = getattr(event, name)
            if value is None:
                continue
            if name == "tags":
                value = tuple(sorted(value))
            elif name == "fields":
                value = {**current["fields"], **value}
            if value != current[name]:
                changes.append(AttributeChange(event.at, event.line, name, current[name], value))
                current[name] = value
    return changes


def _selection_history(
    policies: PolicySet, timeline: Timeline, changes: Sequence[AttributeChange]
) -> list[SelectionChange]:
    """The policy the ticket's attributes selected from creation and after each change."""
    created = timeline.events[0]
    first = policies.select(timeline.state_at(created.at))
    history = [SelectionChange(created.at, created.line, first.name if first else None)]
    for change in changes:
        if change.at == history[-1].at and len(history) > 1:
            history.pop()
        selected = policies.select(timeline.state_at(change.at))
        name = selected.name if selected else None
        if name != history[-1].policy:
            history.append(SelectionChange(change.at, change.line, name))
    return history


# -- calendars ----------------------------------------------------------------


def _clock_time(minutes: int) -> str:
    hours, mins = divmod(minutes, 60)
    return f"{hours:02d}:{mins:02d}"


def _shift_text(shift: Shift) -> str:
    if shift.end > 1440:
        return f"{_clock_time(shift.start)}-{_clock_time(shift.end - 1440)} (next day)"
    return f"{_clock_time(shift.start)}-{_clock_time(shift.end)}"


def calendar_info(calendar: BusinessCalendar) -> CalendarInfo:
    """Name, time zone, weekly hours and holidays of ``calendar``."""
    if isinstance(calendar, AlwaysOpen):
        return CalendarInfo(calendar.name, None, ("always open (24x7)",), (), ())
    if not isinstance(calendar, WeeklyCalendar):
        return CalendarInfo(calendar.name, None, ("(hours not known)",), (), ())
    runs: list[tuple[int, int, tuple[Shift, ...]]] = []  # first day, last day, shifts
    for day in range(7):
        shifts = calendar.shifts.get(day, ())
        if runs and runs[-1][2] == shifts and runs[-1][1] == day - 1:
            runs[-1] = (runs[-1][0], day, shifts)
        else:
            runs.append((day, day, shifts))
    hours: list[str] = []
    for first, last, shifts in runs:
        days = _DAYS[first] if first == last else f"{_DAYS[first]}-{_DAYS[last]}"
        text = ", ".join(_shift_text(s) for s in shifts) if shifts else "closed"
        hours.append(f"{days} {text}")
    countries: list[str] = []
    for provider in calendar.holiday_providers:
        country = getattr(provider, "country", None)
        subdivision = getattr(provider, "subdivision", None)
        if country is None:
            countries.append(repr(provider))
        else:
            countries.append(f"{country}-{subdivision}" if subdivision else str(country))
    dates = tuple(d.isoformat() for d in sorted(calendar.holidays))
    return CalendarInfo(calendar.name, calendar.timezone, tuple(hours), tuple(countries), dates)


# -- clocks -------------------------------------------------------------------


def _status_at(changes: Sequence[tuple[int, str]], t: int) -> str:
    """The status in force at instant ``t`` (the last change at or before it)."""
    i = bisect.bisect_right(changes, t, key=lambda c: c[0]) - 1
    return changes[max(i, 0)][1]


def _status_changes(events: Sequence[Event]) -> list[tuple[int, str]]:
    created = events[0]
    changes: list[tuple[int, str]] = [(created.at, created.status or "new")]
    for event in events[1:]:
        if event.type == "status" and event.status is not None:
            if event.at == changes[-1][0]:
                changes[-1] = (event.at, event.status)  # the last one at an instant wins
            else:
                changes.append((event.at, event.status))
    return changes


def _pause_label(
    statuses: Sequence[tuple[int, str]], a: int, b: int, pausing: frozenset[str]
) -> str:
    """The status that pauses ``[a, b)``: the one in force, or (when whole-minute pauses
    start before the status change) the one that follows."""
    status = _status_at(statuses, a)
    if status in pausing:
        return status
    following = _status_at(statuses, b)
    return following if following in pausing else status


def build_segments(
    metric: MetricPolicy,
    statuses: Sequence[tuple[int, str]],
    start: int,
    end: int,
    target: int,
    breached: bool,
    pauses: Sequence[tuple[int, int | None]] | None = None,
) -> list[Segment]:
    """Label ``[start, end)`` of a clock: running, paused, closed or stopped.

    ``statuses`` are the ticket's status changes ``(at, status)`` in order.
    ``pauses`` are the engine's pause intervals of the clock
    (:attr:`ClockResult.pauses`, end ``None`` while still paused); without them
    a status in the metric's ``pause_when`` pauses. The segment where running
    time passes ``target`` is marked when ``breached``.
    """
    if end <= start:
        return []  # stopped at its start, or not started yet
    calendar = metric.calendar
    pausing = metric.pause_when
    if metric.when_solved == PAUSE:
        pausing = pausing | STOPPED_STATUSES
    spans = [(a, end if b is None else b) for a, b in pauses] if pauses is not None else None
    instants = {at for at, _ in statuses}
    if spans is not None:
        instants.update(t for span in spans for t in span)
    cuts = sorted({start, end, *(t for t in instants if start < t < end)})
    raw: list[tuple[str, int, int, str | None, int]] = []  # kind, a, b, status, paused_open
    for a, b in itertools.pairwise(cuts):
        status = _status_at(statuses, a)
        if spans is None:
            paused = status in pausing
        else:
            paused = any(p_a <= a and b <= p_b for p_a, p_b in spans)
        if metric.kind == RESOLUTION and status in STOPPED_STATUSES:
            raw.append((STOPPED, a, b, status, 0))
        elif paused:
            pausing_status = _pause_label(statuses, a, b, pausing)
            raw.append((PAUSED, a, b, pausing_status, calendar.between(a, b)))
        else:
            cursor = a
            for open_a, open_b in calendar.open_intervals(a, b):
                if open_a > cursor:
                    raw.append((CLOSED, cursor, open_a, None, 0))
                raw.append((RUNNING, open_a, open_b, None, 0))
                cursor = open_b
            if cursor < b:
                raw.append((CLOSED, cursor, b, None, 0))
    merged: list[tuple[str, int, int, str | None, int]] = []
    for item in raw:
        if merged and merged[-1][0] == item[0] and merged[-1][3] == item[3]:
            last = merged[-1]
            merged[-1] = (last[0], last[1], item[2], last[3], last[4] + item[4])
        else:
            merged.append(item)
    segments: list[Segment] = []
    elapsed = 0
    for kind, a, b, label, paused_open in merged:
        business = b - a if kind == RUNNING else 0
        breach_at = None
        if breached and kind == RUNNING and elapsed < target <= elapsed + business:
            breach_at = a + (target - elapsed)
        elapsed += business
        segments.append(Segment(kind, a, b, business, paused_open, elapsed, label, breach_at))
    return segments


def _priority_at(events: Sequence[Event], t: int) -> str:
    priority = events[0].priority or "normal"
    for event in events[1:]:
        if event.at > t:
            break
        if event.type == "update" and event.priority is not None:
            priority = event.priority
    return priority


def fulfils(metric: MetricPolicy, event: Event, bots_count: bool) -> bool:
    """True when ``event`` fulfils response ``metric`` under its ``fulfilled_by``, as the
    clocks count it: a message not from the customer, or for ``assignment`` an assignee."""
    if metric.fulfilled_by == ASSIGNMENT:
        return event.type in ("created", "update") and bool(event.assignee)
    return (
        event.type == "message"
        and event.author != "customer"
        and message_fulfils(metric.fulfilled_by, event, bots_count)
    )


def _is_customer_message(event: Event) -> bool:
    return event.type == "message" and event.author == "customer" and event.public


def _stop_event(
    events: Sequence[Event], clock: ClockResult, metric: MetricPolicy, bots_count: bool
) -> Event | None:
    """The event that stopped ``clock``: at its stop, or (for a clock that starts at the
    first business minute and was stopped before it) the first such event before it."""
    if clock.stop is None:
        return None
    reason = clock.stop_reason

    def stops(event: Event) -> bool:
        if reason == FULFILLED:
            return fulfils(metric, event, bots_count)
        if reason == SOLVED:
            return event.type == "status" and event.status in STOPPED_STATUSES
        if reason == SUPERSEDED:
            return _is_customer_message(event)
        return False

    at_stop = next((e for e in events if e.at == clock.stop and stops(e)), None)
    if at_stop is not None or clock.stop != clock.start:
        return at_stop
    return next((e for e in events if e.at < clock.stop and stops(e)), None)


def _start_event(events: Sequence[Event], clock: ClockResult) -> Event | None:
    for event in events:
        if event.at != clock.start:
            continue
        if event.type == "created":
            return event
        if clock.metric == RESOLUTION and event.type == "status":
            return event
        if clock.metric == NEXT_RESPONSE and (
            _is_customer_message(event) or event.type == "status"
        ):
            return event  # a customer message, or the reopen after one to a solved ticket
        if clock.metric == PERIODIC_UPDATE and event.type == "message":
            return event
    return None


def _article(word: str) -> str:
    return "an" if word[:1] in "aeiou" else "a"


def _fulfilment_text(clock: ClockResult, stop: Event | None) -> str:
    if stop is None:
        return f"fulfilled by {clock.agent}" if clock.agent else "fulfilled"
    if stop.type != "message":
        at_creation = " at creation" if stop.type == "created" else ""
        return f"fulfilled by the assignment to {stop.assignee}{at_creation}"
    author = stop.author or "agent"
    noun = "message" if author == "system" else "reply"
    if not stop.public:
        noun = "internal note"
    if stop.agent:
        return f"fulfilled by {stop.agent}'s {noun}"
    return f"fulfilled by {_article(author)} {author} {noun}"


def _stop_text(
    clock: ClockResult, stop: Event | None, paused_now: bool, takeover: str | None
) -> str:
    if clock.stop is None:
        if paused_now:
            return "still paused"
        return "still running"
    if clock.stop_reason == FULFILLED:
        return _fulfilment_text(clock, stop)
    if clock.stop_reason == SOLVED:
        status = stop.status if stop is not None and stop.status else "solved"
        return f"ticket {status}"
    if clock.stop_reason == SUPERSEDED:
        if takeover is not None:
            return f"the customer wrote; {takeover} took over"
        return "the customer wrote (customer_message_stops: true)"
    return clock.stop_reason or "stopped"


def _takeover(
    clock: ClockResult,
    others: Sequence[ClockResult],
    next_response: MetricPolicy | None,
    events: Sequence[Event],
    bots_count: bool,
) -> str | None:
    """The next_response instance that took over from a superseded periodic_update."""
    stop = clock.stop
    if stop is None or next_response is None:
        return None
    waiting = [c for c in others if c.metric == NEXT_RESPONSE]
    for other in waiting:
        if other.start <= stop and (other.stop is None or other.stop >= stop):
            return f"{NEXT_RESPONSE} #{other.instance}"
    if next_response.counts_from == LATEST_CUSTOMER_MESSAGE:
        # The instance started then, and a later customer message moved its start.
        for other in waiting:
            if other.start > stop and not any(
                stop <= e.at < other.start and fulfils(next_response, e, bots_count) for e in events
            ):
                return f"{NEXT_RESPONSE} #{other.instance}"
    return None


def _counted_due(
    metric: MetricPolicy, clock: ClockResult, segments: Sequence[Segment], end: int, paused: bool
) -> int | None:
    """When running time reaches the target: inside the segments, or projected from the end
    (``None`` while paused); the exact instant, before ``due_at_closing`` moves it."""
    for segment in segments:
        before = segment.elapsed_after - segment.business
        if segment.kind == RUNNING and before < clock.target <= segment.elapsed_after:
            return segment.start + clock.target - before
    if paused:
        return None
    counted = segments[-1].elapsed_after if segments else 0
    return metric.calendar.add(max(end, clock.start), clock.target - counted)


def _message_notes(
    metric: MetricPolicy, events: Sequence[Event], start: int, end: int, bots_count: bool
) -> list[Note]:
    """Messages during the clock that did not stop it, and why."""
    rule = metric.fulfilled_by
    notes: list[Note] = []
    for event in events:
        if event.type != "message" or event.author == "customer":
            continue
        if not start <= event.at < end or fulfils(metric, event, bots_count):
            continue
        if rule == ASSIGNMENT:
            kind = "internal note" if not event.public else "message"
            notes.append(
                Note(
                    "message_ignored",
                    f"{event.author} {kind} at {{0}} (line {event.line}) does not count: the "
                    "metric has fulfilled_by: assignment",
                    (event.at,),
                )
            )
        elif event.author == "bot" and (event.public or rule == AGENT):
            notes.append(
                Note(
                    "bot_ignored",
                    f"bot message at {{0}} (line {event.line}) does not count: the policy "
                    "has bot_replies_count: false",
                    (event.at,),
                )
            )
        elif not event.public:
            why = "" if rule == PUBLIC_AGENT else f" (fulfilled_by: {rule})"
            notes.append(
                Note(
                    "internal_note_ignored",
                    f"internal note at {{0}} (line {event.line}) does not count as a reply{why}",
                    (event.at,),
                )
            )
        else:  # a public system message
            notes.append(
                Note(
                    "system_ignored",
                    f"system message at {{0}} (line {event.line}) does not count: the metric "
                    f"has fulfilled_by: {rule}",
                    (event.at,),
                )
            )
    return notes


def _rule_notes(
    clock: ClockResult,
    metric: MetricPolicy,
    policy: Policy | None,
    events: Sequence[Event],
    stop: Event | None,
    now: int,
    bots_count: bool,
) -> list[Note]:
    """What the metric's clock rules did to this clock."""
    notes: list[Note] = []
    created = events[0]
    if (
        metric.starts == FIRST_BUSINESS_MINUTE
        and policy is not None
        and clock.start != created.at
        and clock.start == policy.calendar.next_open(created.at)
    ):
        notes.append(
            Note(
                "starts_first_business_minute",
                f"created at {{0}} (line {created.line}), outside the open hours of calendar "
                f"'{policy.calendar.name}'; with starts: first_business_minute the clock starts "
                "at its next opening {1}",
                (created.at, clock.start),
            )
        )
        if stop is not None and stop.at < clock.start:
            notes.append(
                Note(
                    "stopped_before_start",
                    f"the event at {{0}} (line {stop.line}) came before the clock started: it "
                    "stops the clock at its start, with 0s elapsed",
                    (stop.at,),
                )
            )
    if metric.kind == NEXT_RESPONSE and metric.counts_from == LATEST_CUSTOMER_MESSAGE:
        answered = max(
            (e.at for e in events if e.at < clock.start and fulfils(metric, e, bots_count)),
            default=created.at,
        )
        earlier = [e for e in events if _is_customer_message(e) and answered <= e.at < clock.start]
        if earlier:
            first = earlier[0]
            notes.append(
                Note(
                    "counts_from_latest",
                    f"the customer also wrote at {{0}} (line {first.line}); with counts_from: "
                    "latest_customer_message the clock counts from the latest message",
                    (first.at,),
                )
            )
    if metric.kind == RESOLUTION and metric.on_reopen == STAYS_MET and clock.stop is not None:
        reopen = _reopen_after(events, clock.stop)
        if reopen is not None:
            notes.append(
                Note(
                    "stays_met",
                    f"reopened at {{0}} (line {reopen.line}); with on_reopen: stays_met "
                    "resolution stays stopped at the first solve {1}",
                    (reopen.at, clock.stop),
                )
            )
    return notes


def _reopen_after(events: Sequence[Event], t: int) -> Event | None:
    """The first status event after ``t`` (a solve) that takes the ticket out of solved or
    closed."""
    return next(
        (e for e in events if e.type == "status" and e.at > t and e.status not in STOPPED_STATUSES),
        None,
    )


def explain_clock(
    clock: ClockResult,
    metric: MetricPolicy,
    events: Sequence[Event],
    now: int,
    bot_replies_count: bool = False,
    policy: Policy | None = None,
    others: Sequence[ClockResult] = (),
) -> ClockExplanation:
    """Explain one clock instance; ``events`` are the ticket's events at or before ``now``.

    ``policy`` (the policy that applies) gives the clock rules that are the policy's:
    ``precision``, ``due_at_closing`` and the calendar of ``starts``. ``others`` are the
    ticket's other clocks, to name the next_response that took over from a superseded
    periodic_update.
    """
    if policy is not None:
        bot_replies_count = policy.bot_replies_count
    statuses = _status_changes(events)
    stop = _stop_event(events, clock, metric, bot_replies_count)
    start_event = _start_event(events, clock)
    end = clock.stop if clock.stop is not None else now
    segments = build_segments(
        metric, statuses, clock.start, end, clock.target, clock.state == BREACHED, clock.pauses
    )
    start_priority = _priority_at(events, clock.start)
    stop_index = events.index(stop) if stop is not None else len(events)
    changes: list[PriorityChange] = []
    current = start_priority
    later: list[PriorityChange] = []
    for index, event in enumerate(events):
        if event.type != "update" or event.priority is None or event.at <= clock.start:
            continue
        if event.priority == current:
            continue
        change = PriorityChange(event.at, event.line, current, event.priority)
        current = event.priority
        (changes if index < stop_index else later).append(change)
    notes: list[Note] = []
    for change in changes:
        verb = "raised" if change.raised else "lowered"
        notes.append(
            Note(
                "priority_changed",
                f"priority {verb} from {change.old} to {change.new} at {{0}} (line {change.line})",
                (change.at,),
            )
        )
    if changes:
        notes.append(
            Note(
                "target_from_start",
                f"target {format_duration(clock.target)} ({clock.priority}) counts from the "
                "original start {0}",
                (clock.start,),
            )
        )
        breach = next((s.breach_at for s in segments if s.breach_at is not None), None)
        if breach is not None and breach < changes[-1].at:
            notes.append(
                Note(
                    "breached_before_change",
                    f"with the {clock.priority} target the time ran out at {{0}}, before the "
                    "priority changed at {1}: the new target applies retroactively",
                    (breach, changes[-1].at),
                )
            )
    if later:
        notes.append(
            Note(
                "priority_changed_after_stop",
                f"priority changed to {later[-1].new} at {{0}} (line {later[-1].line}) after "
                f"this clock stopped; it keeps the {clock.priority} target",
                (later[-1].at,),
            )
        )
    notes += _rule_notes(clock, metric, policy, events, stop, now, bot_replies_count)
    if metric.kind != RESOLUTION:
        notes += _message_notes(metric, events, clock.start, end, bot_replies_count)
    running = clock.stop is None
    paused_now = running and bool(segments) and segments[-1].kind == PAUSED
    status_now = statuses[-1][1]
    hidden_by = status_now if running and status_now in metric.hide_when else None
    exact_due = _counted_due(metric, clock, segments, end, paused_now)
    if hidden_by is not None:
        hidden = f"the deadline is hidden while the ticket is {hidden_by} (hide_when); " + (
            "the clock is paused too" if paused_now else "its time still counts"
        )
        if exact_due is not None and clock.state == BREACHED:
            notes.append(Note("due_hidden", hidden + ": the target ran out at {0}", (exact_due,)))
        elif exact_due is not None:
            notes.append(Note("due_hidden", hidden + ", due at {0} if shown", (exact_due,)))
        else:
            notes.append(Note("due_hidden", hidden))
    elif running and clock.due is None:
        notes.append(
            Note("due_unknown", "due is unknown while paused: it depends on when the pause ends")
        )
    if (
        policy is not None
        and policy.due_at_closing == NEXT_OPENING
        and exact_due is not None
        and clock.due is not None
        and clock.due != exact_due
    ):
        notes.append(
            Note(
                "due_at_next_opening",
                "the deadline falls at closing time {0}; with due_at_closing: next_opening it "
                "is shown as the next opening {1}",
                (exact_due, clock.due),
            )
        )
    counted = segments[-1].elapsed_after if segments else 0
    uncounted = counted - clock.elapsed
    if policy is not None and policy.precision == MINUTES:
        if uncounted:
            notes.append(
                Note(
                    "precision_minutes",
                    f"precision: minutes: running time {format_duration(counted)} counts as "
                    f"{format_duration(clock.elapsed)} (whole minutes)",
                )
            )
        if counted > clock.target >= clock.elapsed:
            notes.append(
                Note(
                    "within_whole_minutes",
                    f"the running time passes the {format_duration(clock.target)} target by "
                    f"{format_duration(counted - clock.target)}, less than a minute: in whole "
                    "minutes it is within it",
                )
            )
        paused_open = sum(s.paused_open for s in segments)
        if paused_open != clock.paused:
            notes.append(
                Note(
                    "precision_minutes_paused",
                    f"precision: minutes: paused time {format_duration(paused_open)} counts as "
                    f"{format_duration(clock.paused)}; pauses start and end at whole minutes",
                )
            )
    for segment in segments:
        if segment.kind == STOPPED:
            notes.append(
                Note(
                    "reopened",
                    f"ticket {segment.status} at {{0}} and reopened at {{1}}: the same "
                    "resolution clock resumed, keeping its elapsed time",
                    (segment.start, segment.end),
                )
            )
        elif segment.kind == PAUSED and segment.status in STOPPED_STATUSES:
            if running and segment is segments[-1]:
                notes.append(
                    Note(
                        "when_solved_pause",
                        f"ticket {segment.status} at {{0}}: with when_solved: pause the clock "
                        "is paused until the ticket is reopened",
                        (segment.start,),
                    )
                )
            else:
                notes.append(
                    Note(
                        "when_solved_pause",
                        f"ticket {segment.status} at {{0}} and reopened at {{1}}: with "
                        "when_solved: pause the clock was paused, not stopped",
                        (segment.start, segment.end),
                    )
                )
    takeover = None
    if clock.stop_reason == SUPERSEDED and policy is not None:
        next_response = next((m for m in policy.metrics if m.kind == NEXT_RESPONSE), None)
        takeover = _takeover(clock, others, next_response, events, bot_replies_count)
    start_line = start_event.line if start_event is not None else None
    if start_line is None and metric.starts == FIRST_BUSINESS_MINUTE:
        start_line = events[0].line  # the creation, deferred to the first business minute
    stop_text = _stop_text(clock, stop, paused_now, takeover)
    if running and clock.start > now:
        stop_text = "not started yet"
    return ClockExplanation(
        clock=clock,
        calendar=calendar_info(metric.calendar),
        pause_when=tuple(sorted(metric.pause_when)),
        start_line=start_line,
        stop_line=stop.line if stop is not None else None,
        stop_text=stop_text,
        start_priority=start_priority,
        priority_changes=tuple(changes),
        end=end,
        segments=tuple(segments),
        notes=tuple(notes),
        due_hidden_by=hidden_by,
        uncounted=uncounted,
    )


# -- events -------------------------------------------------------------------


def event_summary(event: Event) -> str:
    """One line saying what an event is, for people."""
    kind = event.type
    if kind == "created":
        parts = [f"channel {event.channel}", f"priority {event.priority}"]
        if event.status and event.status != "new":
            parts.append(f"status {event.status}")
        parts += _update_parts(event)
        return "created: " + ", ".join(parts)
    if kind == "message":
        who = event.author or "?"
        if event.agent:
            who += f" {event.agent}"
        visibility = "public" if event.public else "internal note"
        return f"message from {who} ({visibility})"
    if kind == "status":
        return f"status -> {event.status}"
    if kind == "update":
        return "update: " + ", ".join(
            ([f"priority -> {event.priority}"] if event.priority else [])
            + ([f"channel -> {event.channel}"] if event.channel else [])
            + [p.replace(" ", " -> ", 1) for p in _update_parts(event)]
        )
    if kind == "csat":
        return f"csat score {event.score:g}" if event.score is not None else "csat"
    return kind


def _update_parts(event: Event) -> list[str]:
    parts: list[str] = []
    for name in ("group", "assignee", "customer"):
        value = getattr(event, name)
        if value is not None:
            parts.append(f"{name} {value}")
    if event.tags is not None:
        parts.append(f"tags {','.join(event.tags) or '(none)'}")
    if event.fields is not None:
        parts.append("fields " + ",".join(f"{k}={v!r}" for k, v in event.fields.items()))
    return parts


# -- the explanation ----------------------------------------------------------


def _metric_policy(policy: Policy, kind: str) -> MetricPolicy:
    return next(m for m in policy.metrics if m.kind == kind)


def explain_ticket(policies: PolicySet, timeline: Timeline, now: int) -> Explanation:
    """Explain ``timeline``'s ticket at ``now`` (epoch seconds) under ``policies``."""
    all_events = timeline.events
    used = tuple(e for e in all_events if e.at <= now)
    uses = tuple(EventUse(e, e.at <= now, event_summary(e)) for e in all_events)
    created = all_events[0]
    result = evaluate_timeline(policies, timeline, now)
    if result is None:
        return Explanation(
            ticket=timeline.ticket,
            now=now,
            created=created.at,
            exists=False,
            state=timeline.state_at(created.at),
            policy=None,
            checks=(),
            attribute_changes=(),
            selection_history=(),
            calendars=(),
            clocks=(),
            events=uses,
        )
    attribute_changes = _attribute_changes(used)
    clocks: list[ClockExplanation] = []
    calendars: list[tuple[str, CalendarInfo]] = []
    notes: list[Note] = []
    if result.policy is not None:
        policy = result.policy
        for metric in policy.metrics:
            calendars.append((metric.kind, calendar_info(metric.calendar)))
        for clock in result.clocks:
            metric = _metric_policy(policy, clock.metric)
            clocks.append(
                explain_clock(
                    clock, metric, used, now, policy.bot_replies_count, policy, result.clocks
                )
            )
        notes += _missing_clock_notes(policy, result.clocks, used)
    return Explanation(
        ticket=timeline.ticket,
        now=now,
        created=created.at,
        exists=True,
        state=result.state,
        policy=result.policy,
        checks=tuple(check_policies(policies, result.state)),
        attribute_changes=tuple(attribute_changes),
        selection_history=tuple(_selection_history(policies, timeline, attribute_changes)),
        calendars=tuple(calendars),
        clocks=tuple(clocks),
        events=uses,
        notes=tuple(notes),
    )


def _missing_clock_notes(
    policy: Policy, clocks: Sequence[ClockResult], events: Sequence[Event]
) -> list[Note]:
    """Why a metric of the policy has no clock when a clock rule is the reason."""
    notes: list[Note] = []
    first_response = next((m for m in policy.metrics if m.kind == FIRST_RESPONSE), None)
    created = events[0]
    if (
        first_response is not None
        and not first_response.staff_created
        and (created.status or "new") not in STOPPED_STATUSES
        and not any(c.metric == FIRST_RESPONSE for c in clocks)
    ):
        # The created event's author decides when it has one; else the first public message.
        if created.author is not None:
            line, at = created.line, created.at
            why = f"its created event names the author {created.author}"
        else:
            first = next(e for e in events if e.type == "message" and e.public)
            who = (
                f"{first.author} {first.agent}"
                if first.agent
                else f"{_article(first.author or 'a')} {first.author}"
            )
            line, at = first.line, first.at
            why = f"its first public message is from {who} at {{0}}"
        notes.append(
            Note(
                "staff_created",
                "no first_response clock: the ticket was opened by staff and the metric has "
                f"staff_created: exempt; {why} (line {line})",
                (at,),
            )
        )
    return notes


def attributes(state: TicketState) -> Mapping[str, Any]:
    """The ticket attributes that policy selection looks at, in a stable order."""
    return {
        "channel": state.channel,
        "priority": state.priority,
        "status": state.status,
        "customer": state.customer,
        "group": state.group,
        "assignee": state.assignee,
        "tags": sorted(state.tags),
        "fields": dict(state.fields),
    }


__all__ = [
    "CLOSED",
    "PAUSED",
    "RUNNING",
    "SEGMENT_KINDS",
    "STOPPED",
    "AttributeChange",
    "CalendarInfo",
    "ClockExplanation",
    "EventUse",
    "Explanation",
    "Note",
    "PolicyCheck",
    "PriorityChange",
    "Segment",
    "SelectionChange",
    "attributes",
    "build_segments",
    "calendar_info",
    "check_policies",
    "event_summary",
    "explain_clock",
    "explain_ticket",
    "held_conditions",
]
