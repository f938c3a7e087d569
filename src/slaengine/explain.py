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
from slaengine.clocks import BREACHED, FULFILLED, SOLVED, ClockResult
from slaengine.durations import format_duration
from slaengine.engine import evaluate_timeline
from slaengine.policy.model import RESOLUTION, Match, MetricPolicy, Policy, PolicySet
from slaengine.timeline import PRIORITIES, STOPPED_STATUSES, Event, TicketState, Timeline

RUNNING: Final = "running"
PAUSED: Final = "paused"
CLOSED: Final = "closed"
STOPPED: Final = "stopped"
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
        checks.append(
            PolicyCheck(
                policy.name,
                location,
                not failed,
                tuple(held_conditions(policy.match, ticket)),
                tuple(failed),
            )
        )
        if not failed:
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


def build_segments(
    metric: MetricPolicy,
    statuses: Sequence[tuple[int, str]],
    start: int,
    end: int,
    target: int,
    breached: bool,
) -> list[Segment]:
    """Label ``[start, end)`` of a clock: running, paused, closed or stopped.

    ``statuses`` are the ticket's status changes ``(at, status)`` in order. The
    segment where running time passes ``target`` is marked when ``breached``.
    """
    calendar = metric.calendar
    cuts = sorted({start, end, *(at for at, _ in statuses if start < at < end)})
    raw: list[tuple[str, int, int, str | None, int]] = []  # kind, a, b, status, paused_open
    for a, b in itertools.pairwise(cuts):
        status = _status_at(statuses, a)
        if metric.kind == RESOLUTION and status in STOPPED_STATUSES:
            raw.append((STOPPED, a, b, status, 0))
        elif status in metric.pause_when:
            raw.append((PAUSED, a, b, status, calendar.between(a, b)))
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


def _stop_event(events: Sequence[Event], clock: ClockResult) -> Event | None:
    if clock.stop is None:
        return None
    for event in events:
        if event.at != clock.stop:
            continue
        if clock.stop_reason == FULFILLED and event.type == "message" and event.public:
            return event
        if (
            clock.stop_reason == SOLVED
            and event.type == "status"
            and event.status in STOPPED_STATUSES
        ):
            return event
    return None


def _start_event(events: Sequence[Event], clock: ClockResult) -> Event | None:
    for event in events:
        if event.at == clock.start:
            if clock.metric == RESOLUTION and event.type in ("created", "status"):
                return event
            if clock.metric != RESOLUTION and event.type in ("created", "message"):
                return event
    return None


def _stop_text(clock: ClockResult, stop: Event | None, paused_now: bool) -> str:
    if clock.stop is None:
        return "still paused" if paused_now else "still running"
    if clock.stop_reason == FULFILLED:
        who = stop.agent if stop is not None and stop.agent else None
        author = stop.author if stop is not None and stop.author else "agent"
        return f"fulfilled by {who}'s reply" if who else f"fulfilled by a {author} reply"
    if clock.stop_reason == SOLVED:
        status = stop.status if stop is not None and stop.status else "solved"
        return f"ticket {status}"
    return clock.stop_reason or "stopped"


def explain_clock(
    clock: ClockResult,
    metric: MetricPolicy,
    events: Sequence[Event],
    now: int,
    bot_replies_count: bool = False,
) -> ClockExplanation:
    """Explain one clock instance; ``events`` are the ticket's events at or before ``now``."""
    statuses = _status_changes(events)
    stop = _stop_event(events, clock)
    start_event = _start_event(events, clock)
    end = clock.stop if clock.stop is not None else now
    segments = build_segments(
        metric, statuses, clock.start, end, clock.target, clock.state == BREACHED
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
    if metric.kind != RESOLUTION:
        for event in events:
            if event.type != "message" or not clock.start <= event.at < end:
                continue
            if event.author == "bot" and event.public and not bot_replies_count:
                notes.append(
                    Note(
                        "bot_ignored",
                        f"bot message at {{0}} (line {event.line}) does not count: the policy "
                        "has bot_replies_count: false",
                        (event.at,),
                    )
                )
            elif event.author in ("agent", "bot") and not event.public:
                notes.append(
                    Note(
                        "internal_note_ignored",
                        f"internal note at {{0}} (line {event.line}) does not count as a reply",
                        (event.at,),
                    )
                )
    if clock.stop is None and clock.due is None:
        notes.append(
            Note("due_unknown", "due is unknown while paused: it depends on when the pause ends")
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
    paused_now = clock.stop is None and bool(segments) and segments[-1].kind == PAUSED
    return ClockExplanation(
        clock=clock,
        calendar=calendar_info(metric.calendar),
        pause_when=tuple(sorted(metric.pause_when)),
        start_line=start_event.line if start_event is not None else None,
        stop_line=stop.line if stop is not None else None,
        stop_text=_stop_text(clock, stop, paused_now),
        start_priority=start_priority,
        priority_changes=tuple(changes),
        end=end,
        segments=tuple(segments),
        notes=tuple(notes),
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
    if result.policy is not None:
        for metric in result.policy.metrics:
            calendars.append((metric.kind, calendar_info(metric.calendar)))
        for clock in result.clocks:
            metric = _metric_policy(result.policy, clock.metric)
            clocks.append(explain_clock(clock, metric, used, now, result.policy.bot_replies_count))
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
    )


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
