"""One clock instance explained: its segments, start and stop, and what its rules did.

Everything comes from the engine's record of the clock (evaluate with
``segments=True``); this module puts it into words and adds up the segments.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from slaengine.clock_record import ClockRecord, PriorityChange
from slaengine.clocks import BREACHED, FULFILLED, SOLVED, SUPERSEDED, ClockResult
from slaengine.explain_calendar import CalendarInfo, calendar_info
from slaengine.explain_notes import (
    Note,
    due_notes,
    precision_notes,
    priority_notes,
    rule_notes,
    segment_notes,
)
from slaengine.explain_triggers import (
    counts_from_note,
    event_text,
    message_notes,
    pause_notes,
    start_note,
    stop_note,
)
from slaengine.policy.definition import MetricDefinition, Trigger
from slaengine.policy.model import NEXT_RESPONSE, MetricPolicy, Policy
from slaengine.timeline import Event
from slaengine.vocabulary import SegmentReason, StopReason

RUNNING: Final = SegmentReason.RUNNING
PAUSED: Final = SegmentReason.PAUSED
CLOSED: Final = SegmentReason.CLOSED
STOPPED: Final = SegmentReason.STOPPED
SEGMENT_KINDS: Final = (RUNNING, PAUSED, CLOSED, STOPPED)
# The stop reason of a user-defined metric's cancel trigger (``cancel:`` in its definition).
CANCELLED: Final = StopReason.CANCELLED
# The engine's reasons as explain shows them: counted time is running time (hidden or
# not), and the part-minute precision: minutes drops ran too (it is ``uncounted``).
_KINDS: Final = {
    SegmentReason.RUNNING: RUNNING,
    SegmentReason.HIDDEN: RUNNING,
    SegmentReason.ROUNDED: RUNNING,
    SegmentReason.CLOSED: CLOSED,
    SegmentReason.PAUSED: PAUSED,
    SegmentReason.STOPPED: STOPPED,
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A real-time stretch ``[start, end)`` of a clock with one label.

    ``business`` is what the segment added to elapsed (only ``running`` adds);
    ``paused_open`` is the open calendar time spent paused (it makes up
    ``paused_seconds``); ``elapsed_after`` is elapsed at the segment's end.
    ``status`` is the ticket status during a paused or stopped segment; ``condition``
    the pause condition (a tag, group or field, like ``group: tier2``) that paused the
    clock when no status did. ``breach_at`` is set on the segment in which the target
    ran out.
    """

    kind: str
    start: int
    end: int
    business: int
    paused_open: int
    elapsed_after: int
    status: str | None = None
    breach_at: int | None = None
    condition: str | None = None

    @property
    def real(self) -> int:
        """Real (wall-clock) seconds of the segment."""
        return self.end - self.start


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
    # The conditions (tag, group, field) that pause a user-defined metric, as written.
    pause_conditions: tuple[str, ...] = ()
    # A target of this many working days counted day by day (day_targets); 0: none.
    target_days: int = 0
    day_targets: str = "open_time"

    @property
    def breach_segment(self) -> Segment | None:
        """The segment in which the target ran out, for a breached clock."""
        return next((s for s in self.segments if s.breach_at is not None), None)


def segments_of(
    record: ClockRecord, metric: MetricPolicy, target: int, breached: bool
) -> list[Segment]:
    """The record's segments as explain shows them: running, paused, closed, stopped, with
    elapsed time added up and the segment where ``target`` ran out marked when ``breached``.
    """
    # kind, start, end, status, pause condition
    merged: list[tuple[str, int, int, str | None, str | None]] = []
    for segment in record.segments:
        kind: str | None = _KINDS.get(segment.reason)
        if kind is None:
            continue  # not started yet: explain shows no segment
        status = None if kind == RUNNING else segment.status
        # A pause condition (tag, group, field) of a user-defined metric, if one paused it.
        condition = segment.condition if kind == PAUSED else None
        last = merged[-1] if merged else None
        if (
            last is not None
            and last[0] == kind
            and last[3] == status
            and last[4] == condition
            and last[2] == segment.start
        ):
            merged[-1] = (kind, last[1], segment.end, status, condition)
        else:
            merged.append((kind, segment.start, segment.end, status, condition))
    calendar = metric.calendar
    out: list[Segment] = []
    elapsed = 0
    for shown, a, b, status, condition in merged:
        business = b - a if shown == RUNNING else 0
        paused_open = calendar.between(a, b) if shown == PAUSED else 0
        breach_at = None
        if breached and shown == RUNNING and elapsed < target <= elapsed + business:
            breach_at = a + (target - elapsed)
        elapsed += business
        out.append(
            Segment(shown, a, b, business, paused_open, elapsed, status, breach_at, condition)
        )
    return out


def _fulfilment_text(clock: ClockResult, stop: Event | None, triggers: Sequence[Trigger]) -> str:
    if stop is None:
        return f"fulfilled by {clock.agent}" if clock.agent else "fulfilled"
    return f"fulfilled by {event_text(stop, triggers)}"


def _stop_text(
    clock: ClockResult,
    stop: Event | None,
    paused_now: bool,
    takeover: str | None,
    definition: MetricDefinition | None = None,
    trigger: Trigger | None = None,
) -> str:
    """How the clock stopped; ``trigger`` is the stop or cancel trigger the engine
    recorded (what it looks at names the stopping event), else the definition's list."""
    recorded = (trigger,) if trigger is not None else None
    if clock.stop is None:
        if paused_now:
            return "still paused"
        return "still running"
    if clock.stop_reason == FULFILLED:
        fulfil = definition.fulfil if definition else ()
        return _fulfilment_text(clock, stop, recorded or fulfil)
    if clock.stop_reason == SOLVED:
        status = stop.status if stop is not None and stop.status else "solved"
        return f"ticket {status}"
    if clock.stop_reason == SUPERSEDED:
        if takeover is not None:
            return f"the customer wrote; {takeover} took over"
        return "the customer wrote (customer_message_stops: true)"
    if clock.stop_reason == CANCELLED:
        cancels = recorded or (definition.cancel if definition else ())
        return f"cancelled by {event_text(stop, cancels)}" if stop is not None else "cancelled"
    if clock.stop_reason == StopReason.DETACHED:
        return f"{clock.agreement} detached: its match stopped holding (on_unmatch: detach)"
    return clock.stop_reason or "stopped"


def explain_clock(
    clock: ClockResult,
    metric: MetricPolicy,
    events: Sequence[Event],
    now: int,
    policy: Policy | None = None,
) -> ClockExplanation:
    """Explain one clock instance evaluated with ``segments=True`` (it carries its record);
    ``events`` are the ticket's events at or before ``now`` (the notes read the messages
    the record lists; the argument stays for callers written before it did).

    ``policy`` (the policy that applies) names the calendar a deferred start waited for and
    says whether times are whole minutes.
    Raises ``ValueError`` for a clock without its record.
    """
    record = clock.record
    if record is None:
        raise ValueError("explain_clock needs a clock evaluated with segments=True")
    running = clock.stop is None
    end = record.end
    segments = segments_of(record, metric, clock.target, clock.state == BREACHED)
    breach = next((s.breach_at for s in segments if s.breach_at is not None), None)
    notes = priority_notes(clock, record, breach)
    calendar = policy.calendar.name if policy is not None else metric.calendar.name
    notes += rule_notes(
        clock, record, calendar, metric.definition.start_delay, counts_from_note(record)
    )
    definition = metric.definition
    notes += start_note(definition, record, clock.instance, clock.group)
    # Messages that did not stop it, and why, as the engine recorded them.
    notes += message_notes(definition, record)
    paused_now = running and bool(segments) and segments[-1].kind == PAUSED
    more, hidden_by = due_notes(clock, record, running, paused_now)
    notes += more
    counted = segments[-1].elapsed_after if segments else 0
    notes += precision_notes(clock, record, policy, counted)
    notes += segment_notes(
        [(s.kind, s.start, s.end, s.status) for s in segments], running, clock.metric
    )
    notes += pause_notes(definition, record, running)
    notes += stop_note(definition, record, clock.stop_reason == CANCELLED)
    takeover = None
    if clock.stop_reason == SUPERSEDED and record.taken_over_by is not None:
        takeover = f"{NEXT_RESPONSE} #{record.taken_over_by}"
    start, stop = record.start_event, record.stop_event
    stop_text = _stop_text(
        clock, stop, paused_now, takeover, definition, record.stop_trigger if stop else None
    )
    if running and clock.start > now:
        stop_text = "not started yet"
    return ClockExplanation(
        clock=clock,
        calendar=calendar_info(metric.calendar),
        pause_when=tuple(sorted(metric.pause_when)),
        start_line=start.line if start is not None else None,
        stop_line=stop.line if stop is not None else None,
        stop_text=stop_text,
        start_priority=record.start_priority,
        priority_changes=record.priority_changes,
        end=end,
        segments=tuple(segments),
        notes=tuple(notes),
        due_hidden_by=hidden_by,
        uncounted=counted - clock.elapsed,
        pause_conditions=tuple(condition.text for condition in metric.pause_conditions),
        target_days=max(0, -metric.targets.get(clock.priority, 0)),
        day_targets=metric.day_targets,
    )


__all__ = [
    "CLOSED",
    "PAUSED",
    "RUNNING",
    "SEGMENT_KINDS",
    "STOPPED",
    "ClockExplanation",
    "PriorityChange",
    "Segment",
    "explain_clock",
    "segments_of",
]
