"""What happened to one clock instance, as the engine decided it: segments and adjustments.

Built only when asked for (``record=True``), from the same windows, pauses and status
changes the clock was measured with, so the counted segments add up to its elapsed time
and nothing downstream has to decide a clock rule again.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from operator import attrgetter

from slaengine.calendar import BusinessCalendar
from slaengine.clock_triggers import Held
from slaengine.clock_walk import RawClock, RuleFacts, StatusChange, status_of
from slaengine.policy.definition import Trigger
from slaengine.record_triggers import PassedMessage, TriggerFacts, trigger_facts
from slaengine.timeline import PRIORITIES, Event
from slaengine.vocabulary import SegmentReason

_AT = attrgetter("at")  # an event's (or a status change's) instant


class Rule(StrEnum):
    """A rule (not an event) that began a segment or adjusted a result."""

    CALENDAR = "calendar"  # open hours began or ended
    STARTS = "starts"  # a deferred start (starts: first_business_minute)
    PRECISION = "precision"  # precision: minutes
    HIDE_WHEN = "hide_when"  # the deadline is hidden in this status
    DUE_AT_CLOSING = "due_at_closing"  # a deadline at closing time shown at the next opening


@dataclass(frozen=True, slots=True)
class Segment:
    """A real-time stretch ``[start, end)`` of a clock's span with one reason.

    ``status`` is the ticket status that paused, stopped or hid the clock; ``condition``
    the pause condition (a tag, group or field) that paused it when no status did. ``event`` is
    the event at ``start`` that began the segment (its ``line`` is the file line when
    known); ``rule`` is set instead when a rule began it (open hours, a deferred start,
    whole minutes), and with ``event`` when a rule moved the event's instant.
    """

    start: int
    end: int
    reason: SegmentReason
    status: str | None = None
    event: Event | None = None
    rule: Rule | None = None
    condition: str | None = None  # the pause condition that held (pause: {tag: x})

    @property
    def counted(self) -> bool:
        """True when the segment's time adds to the clock's elapsed time."""
        return self.reason.counted

    @property
    def seconds(self) -> int:
        """Seconds the segment adds to the elapsed time (its whole length when counted)."""
        return self.end - self.start if self.reason.counted else 0


@dataclass(frozen=True, slots=True)
class Adjustment:
    """A rule that changed a measured value after measuring: ``what`` from ``before`` to
    ``after`` (instants for ``due``, seconds for ``elapsed`` and ``paused``)."""

    rule: Rule
    what: str
    before: int | None
    after: int | None
    status: str | None = None  # the status that hides the deadline (hide_when)


@dataclass(frozen=True, slots=True)
class PriorityChange:
    """A priority change after a clock started, by the update event on ``line``."""

    at: int
    line: int
    old: str
    new: str

    @property
    def raised(self) -> bool:
        """True when the new priority is more urgent than the old one."""
        return PRIORITIES.index(self.new) < PRIORITIES.index(self.old)


@dataclass(frozen=True, slots=True)
class ClockRecord:
    """The engine's record of one clock instance.

    ``segments`` tile the span from the clock's start to ``end`` (its stop, or the
    evaluation instant) without gap or overlap; for a clock whose deferred start is
    still ahead they cover the evaluation instant to the start, not counted. The
    counted segments add up to the clock's elapsed seconds. ``start_event`` and
    ``stop_event`` switched the clock on and (last) off.

    ``start_priority`` was in force at the start; ``priority_changes`` came while the
    clock ran (the last one gives its target) and ``later_priority_changes`` after it
    stopped (they do not). ``taken_over_by`` is the next_response instance that took over
    a periodic_update a customer message superseded; ``ignored_reopen`` the reopen that
    ``on_reopen: stays_met`` did not resume; ``moved_from`` the customer message a
    ``counts_from: latest_customer_message`` instance counted from before a later one.

    ``start_trigger`` is the trigger of the metric's definition that fired at
    ``start_event`` and ``stop_trigger`` the stop or cancel trigger that fired at
    ``stop_event`` (``None`` where a rule acted instead: a reopen, a hand-over between
    groups, a solve under ``when_solved: stop``); ``passed`` are the messages written while
    the instance ran that did not stop it, each with the message triggers it fires;
    ``moved_trigger`` the start trigger that fired at ``moved_from``.
    These four are recorded when the evaluation gives the ticket's events.
    """

    segments: tuple[Segment, ...]
    adjustments: tuple[Adjustment, ...]
    end: int
    start_event: Event | None
    stop_event: Event | None
    start_priority: str = "normal"
    priority_changes: tuple[PriorityChange, ...] = ()
    later_priority_changes: tuple[PriorityChange, ...] = ()
    taken_over_by: int | None = None
    ignored_reopen: Event | None = None
    moved_from: Event | None = None
    start_trigger: Trigger | None = None
    stop_trigger: Trigger | None = None
    passed: tuple[PassedMessage, ...] = ()
    moved_trigger: Trigger | None = None

    @property
    def counted(self) -> int:
        """Seconds of the counted segments (the clock's elapsed time)."""
        return sum(s.seconds for s in self.segments)

    @property
    def uncounted(self) -> int:
        """Running seconds that ``precision: minutes`` did not count."""
        return sum(s.end - s.start for s in self.segments if s.reason == SegmentReason.ROUNDED)

    @property
    def paused_now(self) -> bool:
        """True when the clock's span ends in a pause."""
        return bool(self.segments) and self.segments[-1].reason == SegmentReason.PAUSED

    def exact_due(self, due: int | None) -> int | None:
        """The due before ``hide_when`` hid it or ``due_at_closing`` moved it (``due`` is
        the reported one)."""
        for adjustment in self.adjustments:
            if adjustment.what == "due" and adjustment.rule in (
                Rule.HIDE_WHEN,
                Rule.DUE_AT_CLOSING,
            ):
                return adjustment.before
        return due

    def condition_pauses(self) -> list[tuple[Segment, int, bool]]:
        """Each stretch one pause condition (a tag, group or field, no status) paused the
        clock: its first segment, its end, and whether it ends the span (the clock is still
        paused by it when running). Adjoining segments of one condition are one stretch."""
        runs: list[tuple[Segment, int, bool]] = []
        last_index = len(self.segments) - 1
        for index, segment in enumerate(self.segments):
            if segment.reason != SegmentReason.PAUSED or segment.condition is None:
                continue
            last = runs[-1] if runs else None
            if (
                last is not None
                and last[0].condition == segment.condition
                and last[1] == segment.start
            ):
                runs[-1] = (last[0], segment.end, index == last_index)
            else:
                runs.append((segment, segment.end, index == last_index))
        return runs

    def adjustment(self, rule: Rule, what: str) -> Adjustment | None:
        """The adjustment ``rule`` made to ``what``, if any."""
        return next((a for a in self.adjustments if a.rule == rule and a.what == what), None)


def _status_at(statuses: Sequence[StatusChange], t: int) -> tuple[str, Event]:
    """The status in force at ``t`` (the last change at or before it) and its event."""
    i = bisect.bisect_right(statuses, t, key=_AT) - 1
    event = statuses[max(i, 0)]
    return status_of(event), event


@dataclass(slots=True)
class _Builder:
    calendar: BusinessCalendar
    statuses: Sequence[StatusChange]
    pausing: frozenset[str]
    hide_when: frozenset[str]
    out: list[Segment]
    conditions: Sequence[Held] = ()

    def add(self, segment: Segment) -> None:
        if segment.end <= segment.start:
            return  # a zero-length pause of a clock stopped at its start
        last = self.out[-1] if self.out else None
        if (
            last is not None
            and last.end == segment.start
            and last.reason == segment.reason
            and last.status == segment.status
            and last.condition == segment.condition
        ):
            self.out[-1] = Segment(
                last.start,
                segment.end,
                last.reason,
                last.status,
                last.event,
                last.rule,
                last.condition,
            )
        else:
            self.out.append(segment)

    def cuts(self, a: int, b: int) -> list[int]:
        """Status change instants strictly inside ``(a, b)``."""
        lo = bisect.bisect_right(self.statuses, a, key=_AT)
        hi = bisect.bisect_left(self.statuses, b, key=_AT)
        found = {change.at for change in self.statuses[lo:hi]}
        for start, end, *_rest in self.conditions:
            found.update(t for t in (start, end) if a < t < b)
        return sorted(found)

    def condition_at(self, t: int) -> str | None:
        """The pause condition holding at ``t``, if any."""
        for start, end, text, *_events in self.conditions:
            if start <= t and (end == -1 or t < end):
                return text
        return None

    def event_at(self, t: int) -> Event:
        """The event that changed what holds at ``t``: a status change at ``t``, else the
        update that set or cleared a pause condition at ``t``, else the status in force."""
        _status, event = _status_at(self.statuses, t)
        if event.at != t:
            for start, end, _text, began, ended in self.conditions:
                if start == t:
                    return began
                if end == t and ended is not None:
                    return ended
        return event

    def running(self, a: int, b: int, event: Event | None, rule: Rule | None) -> None:
        """Switched on and not paused: counted in open hours, split where hiding changes."""
        pieces = [a, *(self.cuts(a, b) if self.hide_when else ()), b]
        for i in range(len(pieces) - 1):
            p_a, p_b = pieces[i], pieces[i + 1]
            status, status_event = _status_at(self.statuses, p_a)
            reason = SegmentReason.HIDDEN if status in self.hide_when else SegmentReason.RUNNING
            if i > 0:
                event, rule = status_event, None
            cursor = p_a
            for open_a, open_b in self.calendar.open_intervals(p_a, p_b):
                if open_a > cursor:
                    self.add(Segment(cursor, open_a, SegmentReason.CLOSED, None, event, rule))
                    event, rule = None, Rule.CALENDAR
                self.add(
                    Segment(
                        open_a, open_b, reason, status if reason != "running" else None, event, rule
                    )
                )
                event, rule = None, Rule.CALENDAR
                cursor = open_b
            if cursor < p_b:
                self.add(Segment(cursor, p_b, SegmentReason.CLOSED, None, event, rule))

    def held(
        self, reason: SegmentReason, a: int, b: int, event: Event | None, rule: Rule | None
    ) -> None:
        """Paused or stopped ``[a, b)``: labelled with the status in force, split at changes."""
        pieces = [a, *self.cuts(a, b), b]
        for i in range(len(pieces) - 1):
            p_a, p_b = pieces[i], pieces[i + 1]
            in_force, status_event = _status_at(self.statuses, p_a)
            status: str | None = in_force
            condition = None
            if reason == SegmentReason.PAUSED and in_force not in self.pausing:
                condition = self.condition_at(p_a) if self.conditions else None
                if condition is not None:
                    status = None  # paused by the condition, not by the status
                else:
                    # Whole-minute pauses start before the status change: name the one
                    # that follows.
                    following, _ = _status_at(self.statuses, p_b)
                    status = following if following in self.pausing else in_force
            if i > 0:
                event, rule = self.event_at(p_a) if self.conditions else status_event, None
            self.add(Segment(p_a, p_b, reason, status, event, rule, condition))


def build_record(
    raw: RawClock,
    pauses: Sequence[tuple[int, int]],
    statuses: Sequence[StatusChange],
    priorities: Sequence[str],
    priority_events: Sequence[Event],
    now: int,
    pausing: frozenset[str],
    uncounted: int,
    adjustments: Sequence[Adjustment] = (),
    conditions: Sequence[Held] = (),
    events: Sequence[Event] = (),
    bots: bool = False,
) -> ClockRecord:
    """The record of ``raw`` measured with ``pauses`` (end -1: still paused) at ``now``.

    ``statuses`` are the ticket's status changes, ``priorities`` its priorities in event
    order (the created one first) and ``priority_events`` the updates that set the later
    ones. ``pausing`` are the statuses that paused the clock; ``uncounted`` are running
    seconds that ``precision: minutes`` dropped (taken from the end of the counted time).
    ``conditions`` are the intervals in which a pause condition held, with its text.
    ``events`` (the ticket's, none after ``now``) and ``bots`` (bot replies count) give
    the triggers that started and stopped the instance and the messages it ran through.
    """
    windows = raw.windows()
    calendar: BusinessCalendar = raw.metric.calendar
    hide_when = raw.metric.hide_when
    start = raw.start
    running = raw.off == -1
    end = now if running else raw.off
    first = raw.start_event
    stop_event = None if running else raw.stop_event
    priority_facts = _priorities(raw, priorities, priority_events, running)
    facts = raw.facts or RuleFacts()
    taken_over_by, ignored_reopen, moved_from = (
        facts.taken_over_by,
        facts.ignored_reopen,
        facts.moved_from,
    )
    triggers = trigger_facts(raw, events, bots, now) if events else _NO_TRIGGER_FACTS
    if end < start:
        segment = Segment(end, start, SegmentReason.NOT_STARTED, None, first, Rule.STARTS)
        return ClockRecord(
            (segment,),
            tuple(adjustments),
            end,
            first,
            stop_event,
            *priority_facts,
            taken_over_by,
            ignored_reopen,
            moved_from,
            triggers.start,
            triggers.stop,
            triggers.passed,
            triggers.moved,
        )
    builder = _Builder(calendar, statuses, pausing, hide_when, [], conditions)
    previous_end = start
    for index, (window_start, window_end) in enumerate(windows):
        b = now if window_end == -1 else window_end
        if index > 0 and window_start > previous_end:
            # The solve that stopped the previous window, and the reopen of this one.
            solve = _status_at(statuses, previous_end)[1]
            builder.held(SegmentReason.STOPPED, previous_end, window_start, solve, None)
        a = window_start
        event: Event | None = first if index == 0 else _status_at(statuses, window_start)[1]
        rule = Rule.STARTS if event is not None and event.at != a else None
        for pause_start, pause_end in pauses:
            p_end = now if pause_end == -1 else pause_end
            if p_end <= a or pause_start >= b:
                continue
            if pause_start > a:
                builder.running(a, pause_start, event, rule)
                event, rule = builder.event_at(pause_start), None
            builder.held(SegmentReason.PAUSED, max(a, pause_start), min(p_end, b), event, rule)
            a = max(a, p_end)
            event, rule = builder.event_at(p_end) if p_end < b else None, None
        if b > a:
            builder.running(a, b, event, rule)
        previous_end = b
    segments = builder.out
    if uncounted:
        segments = _drop_tail(segments, uncounted)
    return ClockRecord(
        tuple(segments),
        tuple(adjustments),
        end,
        first,
        stop_event,
        *priority_facts,
        taken_over_by,
        ignored_reopen,
        moved_from,
        triggers.start,
        triggers.stop,
        triggers.passed,
        triggers.moved,
    )


_NO_TRIGGER_FACTS = TriggerFacts()


def _priorities(
    raw: RawClock, priorities: Sequence[str], priority_events: Sequence[Event], running: bool
) -> tuple[str, tuple[PriorityChange, ...], tuple[PriorityChange, ...]]:
    """The priority at the clock's start, and its changes before and after the stop."""
    start = raw.start
    first = bisect.bisect_right(priority_events, start, key=lambda e: e.at)
    current = priorities[first]
    start_priority = current
    seen = len(priorities) if running else raw.priorities_seen
    before: list[PriorityChange] = []
    after: list[PriorityChange] = []
    for index in range(first, len(priority_events)):
        event = priority_events[index]
        new = priorities[index + 1]
        if new == current:
            continue
        change = PriorityChange(event.at, event.line, current, new)
        current = new
        (before if index + 1 < seen else after).append(change)
    return start_priority, tuple(before), tuple(after)


def _drop_tail(segments: list[Segment], seconds: int) -> list[Segment]:
    """Mark the last ``seconds`` of counted time as not counted (``precision: minutes``)."""
    out = list(segments)
    for i in range(len(out) - 1, -1, -1):
        if seconds <= 0:
            break
        segment = out[i]
        if not segment.counted:
            continue
        length = segment.end - segment.start
        if length <= seconds:
            out[i] = Segment(
                segment.start,
                segment.end,
                SegmentReason.ROUNDED,
                segment.status,
                segment.event,
                Rule.PRECISION,
            )
            seconds -= length
        else:
            cut = segment.end - seconds
            kept = Segment(
                segment.start, cut, segment.reason, segment.status, segment.event, segment.rule
            )
            dropped = Segment(
                cut, segment.end, SegmentReason.ROUNDED, segment.status, None, Rule.PRECISION
            )
            out[i : i + 1] = [kept, dropped]
            seconds = 0
    return out


__all__ = [
    "Adjustment",
    "ClockRecord",
    "PassedMessage",
    "PriorityChange",
    "Rule",
    "Segment",
    "build_record",
]
